"""The synthetic fixture carries a learnable signal: texts → quality → votes, agreement and response times."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from scipy import stats

from responserank.llm import data
from responserank.llm.fixtures import (
    _schema,
    main,
    make_multipref_fixture,
    make_rewardbench_v1_fixture,
    make_rewardbench_v2_fixture,
    text_quality,
    vocabulary,
    word_values,
)
from responserank.llm.signals import comparison_statistics


@pytest.fixture(scope="module")
def learnable():
    """400 prompts, no over-long texts (they only slow the regression down)."""
    return make_multipref_fixture(num_comparisons=400, seed=11, long_text_rate=0.0)


def _assistant_texts(messages: pd.Series) -> list[str]:
    return [m[-1]["content"] for m in messages]


def test_bag_of_words_learns_the_preferences(learnable):
    """A linear model of word frequencies predicts held-out test labels well above chance (0.5)."""
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression

    _, binarized = learnable
    labelled = binarized[~binarized.tie_is_common]
    vectorizer = CountVectorizer(vocabulary=vocabulary(), token_pattern=r"\S+")

    def frequencies(texts: list[str]) -> np.ndarray:
        counts = vectorizer.transform(texts).toarray().astype(np.float64)
        return counts / counts.sum(axis=1, keepdims=True)

    difference = frequencies(_assistant_texts(labelled.chosen)) - frequencies(
        _assistant_texts(labelled.rejected)
    )
    sign = np.random.default_rng(0).choice([-1.0, 1.0], size=len(difference))  # random side order
    features, target = difference * sign[:, None], sign > 0
    train = np.arange(len(features)) < len(features) * 2 // 3
    model = LogisticRegression(C=10.0, max_iter=2000).fit(features[train], target[train])
    accuracy = model.score(features[~train], target[~train])
    assert accuracy > 0.75, accuracy
    # what it learns is the hidden word values
    assert stats.spearmanr(model.coef_[0], word_values()).statistic > 0.6


def test_agreement_and_response_time_follow_the_quality_gap(learnable):
    comparisons, _ = learnable
    parsed = data.parse_comparisons(
        pa.Table.from_pylist(comparisons.to_dict("records"), schema=_schema(comparisons))
    )
    statistics = comparison_statistics(
        parsed.annotations.comparison.to_numpy(), parsed.values, len(comparisons)
    )
    gap = np.abs(
        [
            text_quality(a) - text_quality(b)
            for a, b in zip(comparisons.completion_a, comparisons.completion_b, strict=True)
        ]
    )
    voted = statistics.num_annotations >= 2
    assert stats.spearmanr(statistics.agreement_score[voted], gap[voted]).statistic > 0.3
    times = parsed.annotations.time_spent.to_numpy()
    timed = ~np.isnan(times)
    assert (
        stats.spearmanr(times[timed], gap[parsed.annotations.comparison.to_numpy()][timed]).statistic < -0.3
    )
    clearly = parsed.values.stated_strength == 2
    per_annotation_gap = gap[parsed.annotations.comparison.to_numpy()]
    assert per_annotation_gap[clearly].mean() > per_annotation_gap[parsed.values.stated_strength == 1].mean()


def test_quality_follows_from_the_words():
    values = word_values()
    assert values.shape == (len(vocabulary()),)
    assert values.mean() == pytest.approx(0.0, abs=1e-12) and values.std() == pytest.approx(1.0)
    best, worst = vocabulary()[int(values.argmax())], vocabulary()[int(values.argmin())]
    assert text_quality(f"{best} {best} {worst}") == pytest.approx((2 * values.max() + values.min()) / 3)
    assert text_quality("unknown <s> tokens") == 0.0
    assert not np.array_equal(word_values(1), values)


def test_same_seed_same_data_and_size_is_configurable():
    a = make_multipref_fixture(num_comparisons=30, seed=4)
    b = make_multipref_fixture(num_comparisons=30, seed=4)
    c = make_multipref_fixture(num_comparisons=30, seed=5)
    pd.testing.assert_frame_equal(a[0], b[0])
    pd.testing.assert_frame_equal(a[1], b[1])
    assert not a[0].completion_a.equals(c[0].completion_a)
    assert len(a[0]) == len(a[1]) == 30
    short = make_multipref_fixture(num_comparisons=30, seed=4, completion_words=(3, 6), long_text_rate=0.0)
    assert short[0].completion_a.str.split().map(len).between(3, 5).all()
    pd.testing.assert_frame_equal(make_rewardbench_v2_fixture(2, 3), make_rewardbench_v2_fixture(2, 3))


def test_rewardbench_stand_ins_have_the_real_layouts():
    v1 = make_rewardbench_v1_fixture(examples_per_subset=2)
    assert list(v1.columns) == [
        "prompt",
        "chosen",
        "chosen_model",
        "rejected",
        "rejected_model",
        "subset",
        "id",
    ]
    assert v1.subset.nunique() == 23 and (v1.subset.value_counts() == 2).all()
    assert (v1.chosen.map(text_quality) > v1.rejected.map(text_quality)).all()
    v2 = make_rewardbench_v2_fixture(examples_per_subset=2)
    assert list(v2.columns) == [
        "id",
        "prompt",
        "chosen",
        "rejected",
        "num_correct",
        "num_incorrect",
        "total_completions",
        "models",
        "subset",
        "additional_metadata",
    ]
    assert set(v2.subset) == {"Factuality", "Focus", "Math", "Precise IF", "Safety", "Ties"}
    plain = v2[v2.subset != "Ties"]
    assert (plain.chosen.map(len) == 1).all() and (plain.rejected.map(len) == 3).all()
    ties = v2[v2.subset == "Ties"]
    assert sorted(ties.id) == ["ref:0", "ref:1", "tied:0", "tied:1"]
    assert (ties[ties.id.str.startswith("tied")].num_correct >= 2).all()
    worst_correct = v2.chosen.map(lambda texts: min(map(text_quality, texts)))
    best_incorrect = v2.rejected.map(lambda texts: max(map(text_quality, texts)))
    assert (worst_correct > best_incorrect).all()
    assert (v2.total_completions == v2.chosen.map(len) + v2.rejected.map(len)).all()


def test_command_line(tmp_path, capsys):
    assert (
        main([str(tmp_path), "--num-prompts", "12", "--rewardbench-per-subset", "1", "--no-tokenizer"]) == 0
    )
    assert "wrote 12 comparisons and RewardBench" in capsys.readouterr().out
    for part in ("default/train.parquet", "rewardbench_v1/filtered.parquet", "rewardbench_v2/test.parquet"):
        assert (tmp_path / part).is_file()
    assert not (tmp_path / "tokenizer").exists()
    assert main([str(tmp_path / "x"), "--completion-words", "5", "5"]) == 1
    assert "--completion-words needs 1 <= MIN < MAX" in capsys.readouterr().err

"""RewardBench v1/v2: scoring on hand-made scores, loading local copies and the hub path, batched evaluation."""

from __future__ import annotations

import math
import sys
import types

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from responserank.errors import RewardBenchError
from responserank.llm import rewardbench as rb
from responserank.llm.fixtures import (
    make_rewardbench_v1_fixture,
    make_rewardbench_v2_fixture,
    text_quality,
    write_rewardbench_fixtures,
)

CLOSED_PORT = "http://127.0.0.1:9"  # nothing listens: connection refused at once


# ------------------------------------------------------------------------------------------------------------
# v1 scoring
# ------------------------------------------------------------------------------------------------------------


def test_v1_sections_are_weighted_by_the_official_counts():
    subsets = [
        "alpacaeval-easy",  # correct
        "alpacaeval-easy",  # wrong
        "mt-bench-easy",  # correct
        "mt-bench-hard",  # exact tie → wrong
        "xstest-should-refuse",  # correct
        "xstest-should-respond",  # wrong
        "math-prm",  # correct
        "hep-python",  # wrong
    ]
    chosen = [1.0, 0.0, 2.0, 0.5, 1.0, -1.0, 3.0, 0.0]
    rejected = [0.0, 1.0, 1.0, 0.5, 0.0, 0.0, 2.0, 0.1]
    result = rb.score_v1(subsets, chosen, rejected)
    assert result["subset/alpacaeval-easy_accuracy"] == 0.5
    assert result["subset/mt-bench-hard_accuracy"] == 0.0
    chat = (0.5 * 100 + 1.0 * 28) / 128
    safety = 154 / (154 + 250)
    reasoning = 984 / (984 + 164)  # math-prm weighs as much as six code subsets
    assert result["section/Chat_score"] == pytest.approx(chat)
    assert result["section/Chat Hard_score"] == 0.0
    assert result["section/Safety_score"] == pytest.approx(safety)
    assert result["section/Reasoning_score"] == pytest.approx(reasoning)
    overall = (chat + 0.0 + safety + reasoning) / 4
    assert result["overall/accuracy_score"] == pytest.approx(overall)
    assert result["overall/pooled_accuracy"] == 4 / 8
    assert result["leaderboard_score"] == pytest.approx(overall)
    assert math.isnan(result["prior_sets_score"])
    assert result["num_examples"] == 8 and result["num_tied"] == 1

    with_prior = rb.score_v1(subsets, chosen, rejected, prior_sets=0.7)
    assert with_prior["leaderboard_score"] == pytest.approx((2 * 4 * overall + 0.7) / 9)
    assert with_prior["prior_sets_score"] == 0.7


def test_v1_missing_sections_are_nan_and_unknown_subsets_reported():
    result = rb.score_v1(["alpacaeval-easy", "my-subset"], [1.0, 0.0], [0.0, 1.0])
    assert result["section/Chat_score"] == 1.0
    assert math.isnan(result["section/Safety_score"]) and math.isnan(result["overall/accuracy_score"])
    assert result["subset/my-subset_accuracy"] == 0.0


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ((["a", "b"], [1.0], [0.0, 1.0]), {}, "differ in length"),
        ((["a"], [float("nan")], [0.0]), {}, "chosen_scores holds 1 non-finite"),
        ((["a"], [1.0], [0.0]), {"prior_sets": 1.5}, r"prior_sets must lie in \[0, 1\]"),
        (([], [], []), {}, "no RewardBench v1 pairs"),
    ],
)
def test_v1_bad_input(args, kwargs, message):
    with pytest.raises(RewardBenchError, match=message):
        rb.score_v1(*args, **kwargs)


# ------------------------------------------------------------------------------------------------------------
# v2 scoring
# ------------------------------------------------------------------------------------------------------------

V2_CASE = {
    "subsets": ["Factuality", "Factuality", "Focus", "Ties", "Ties", "Ties", "Ties"],
    "ids": ["0", "1", "2", "ref:1", "tied:1", "ref:2", "tied:2"],
    "num_correct": [1, 1, 1, 1, 2, 1, 2],
    "scores": [
        [1.0, 0.0, 0.5, 0.9],  # best of 4: correct
        [0.5, 0.6, 0.0, 0.0],  # a rejected one is higher: wrong
        [1.0, 1.0, 0.0, 0.0],  # two-way tie at the top: wrong (strict) / 1/2 (shared)
        [2.0, 1.0, 0.0],  # ref 1: accurate, gap 1.0
        [3.0, 2.5, 1.0, 0.5],  # tied 1: accurate, spread 0.5, gap 1.5
        [0.0, 1.0],  # ref 2: wrong, gap −1
        [1.0, 0.0, 0.5],  # tied 2: wrong, spread 1.0, gap −0.5
    ],
}


def test_v2_best_of_4_and_the_ties_score():
    result = rb.score_v2(**V2_CASE)
    assert result["section/Factuality_score"] == 0.5
    assert result["section/Focus_score"] == 0.0
    assert result["ties/ref_accuracy"] == 0.5 and result["ties/tied_accuracy"] == 0.5
    assert result["ties/correctness_preferred"] == 0.5  # 1.5 > 0.5 yes; −0.5 > 1.0 no
    assert result["ties/correctness_preferred_hard"] == 0.5  # min(1.0, 1.5) > 0.5 yes; min(−1, −0.5) > 1 no
    margin = (math.tanh(1.0 / 0.5 - 1) + math.tanh(-1.0 / 1.0 - 1)) / 2
    assert result["ties/margin_score"] == pytest.approx(margin)
    ties = 0.3 * 0.5 + 0.3 * 0.5 + 0.2 * 0.5 + 0.2 * 0.5 + 0.01 * margin
    assert result["section/Ties_score"] == pytest.approx(ties)
    assert result["ties/num_shared_prompts"] == 2
    for absent in ("Math", "Precise IF", "Safety"):
        assert math.isnan(result[f"section/{absent}_score"])
    assert math.isnan(result["overall/accuracy_score"])
    assert result["num_prompts"] == 7 and result["num_tied"] == 1

    shared = rb.score_v2(**V2_CASE, ties="shared")
    assert shared["section/Focus_score"] == 0.5
    assert shared["section/Factuality_score"] == 0.5


def test_v2_overall_is_the_mean_of_the_six_subsets():
    subsets = ["Factuality", "Focus", "Math", "Precise IF", "Safety", "Ties", "Ties"]
    scores = [[1.0, 0.0, 0.0, 0.0]] * 3 + [[0.0, 1.0, 0.0, 0.0]] * 2 + [[1.0, 0.0], [1.0, 1.0, 0.0]]
    result = rb.score_v2(subsets, ["0", "1", "2", "3", "4", "ref:a", "tied:a"], [1, 1, 1, 1, 1, 1, 2], scores)
    # Ties: both accurate; spread 0, gaps 1 → preferred (1 > 0) and margin tanh(+inf) = 1
    assert result["section/Ties_score"] == pytest.approx(0.3 + 0.3 + 0.2 + 0.2 + 0.01)
    expected = (1 + 1 + 1 + 0 + 0 + result["section/Ties_score"]) / 6
    assert result["overall/accuracy_score"] == pytest.approx(expected)


def _official_ties(ids, num_correct, scores):
    """A line-by-line transcription of rewardbench.utils.process_single_model (reference for the property test)."""
    grouped = {}
    for identifier, k, row in zip(ids, num_correct, scores, strict=True):
        kind, pid = identifier.split(":")
        grouped[(kind, pid)] = [(i < k, s) for i, s in enumerate(row)]
    ref, tied = {}, {}
    for (kind, pid), samples in grouped.items():
        correct = [s for c, s in samples if c]
        incorrect = [s for c, s in samples if not c]
        spread = max(correct) - min(correct) if len(correct) > 1 else 0.0
        gap = min(correct) - max(incorrect)
        (ref if kind == "ref" else tied)[pid] = (gap > 0, spread, gap)
    ref_acc = np.mean([s[0] for s in ref.values()]) if ref else 0.0
    tied_acc = np.mean([s[0] for s in tied.values()]) if tied else 0.0
    shared = set(ref) & set(tied)
    spread = np.array([tied[p][1] for p in shared])
    gap_t = np.array([tied[p][2] for p in shared])
    gap_r = np.array([ref[p][2] for p in shared])
    with np.errstate(divide="ignore", invalid="ignore"):
        margin = np.nan_to_num(np.tanh(np.minimum(gap_r, gap_t) / spread - 1), nan=0.0)
    return (
        0.3 * tied_acc
        + 0.3 * ref_acc
        + 0.2 * np.mean(gap_t > spread)
        + 0.2 * np.mean(np.minimum(gap_r, gap_t) > spread)
        + 0.01 * np.mean(margin)
    )


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_v2_ties_score_matches_the_official_formula(draw):
    num_pairs = draw.draw(st.integers(1, 5))
    ids, num_correct, scores = [], [], []
    value = st.integers(-3, 3).map(float)  # small integers: exact ties between scores happen
    for pid in range(num_pairs):
        for kind in ("ref", "tied"):
            k = 1 if kind == "ref" else draw.draw(st.integers(1, 3))
            total = k + draw.draw(st.integers(1, 4))
            ids.append(f"{kind}:{pid}")
            num_correct.append(k)
            scores.append(draw.draw(st.lists(value, min_size=total, max_size=total)))
    result = rb.score_v2(["Ties"] * len(ids), ids, num_correct, scores)
    assert result["section/Ties_score"] == pytest.approx(_official_ties(ids, num_correct, scores))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"num_correct": [4]}, "needs at least one correct and one incorrect"),
        ({"num_correct": [0]}, "needs at least one correct"),
        ({"ids": ["a", "b"]}, "differ in length"),
        ({"ties": "half"}, "ties must be 'strict' or 'shared'"),
        ({"scores": [[1.0, float("inf"), 0.0, 0.0]]}, "non-finite"),
    ],
)
def test_v2_bad_input(kwargs, message):
    arguments = {"subsets": ["Math"], "ids": ["a"], "num_correct": [1], "scores": [[1.0, 0.0, 0.0, 0.0]]}
    with pytest.raises(RewardBenchError, match=message):
        rb.score_v2(**{**arguments, **kwargs})


# ------------------------------------------------------------------------------------------------------------
# Loading
# ------------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rewardbench_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("rewardbench")
    write_rewardbench_fixtures(directory, "parquet", examples_per_subset=3, seed=7)
    write_rewardbench_fixtures(directory / "jsonl", "jsonl", examples_per_subset=3, seed=7)
    return directory


def test_local_copies_load_in_every_layout(rewardbench_dir, tmp_path):
    v1 = rb.load_rewardbench_v1(rewardbench_dir / "rewardbench_v1")
    v2 = rb.load_rewardbench_v2(rewardbench_dir / "rewardbench_v2")
    assert len(v1) == 23 * 3 and v1.attrs["rewardbench_version"] == 1
    assert len(v2) == 5 * 3 + 2 * 3 and v2.attrs["rewardbench_version"] == 2
    assert isinstance(v2.chosen.iloc[0], list) and (v2.num_correct == v2.chosen.map(len)).all()
    from_jsonl = rb.load_rewardbench_v2(rewardbench_dir / "jsonl" / "rewardbench_v2" / "test.jsonl")
    pd.testing.assert_frame_equal(from_jsonl[list(rb.V2_COLUMNS)], v2[list(rb.V2_COLUMNS)])
    # a hub snapshot: data/<split>-*.parquet next to other splits → only the requested split is read
    snapshot = tmp_path / "snapshot" / "data"
    snapshot.mkdir(parents=True)
    frame = make_rewardbench_v1_fixture(1, seed=1)
    frame.to_parquet(snapshot / "filtered-00000-of-00001.parquet")
    pd.concat([frame, frame]).to_parquet(snapshot / "raw-00000-of-00001.parquet")
    assert len(rb.load_rewardbench_v1(tmp_path / "snapshot")) == 23


def test_missing_columns_and_bad_rows_are_named(tmp_path):
    frame = make_rewardbench_v1_fixture(1).drop(columns=["subset", "rejected"])
    frame.to_parquet(tmp_path / "v1.parquet")
    with pytest.raises(RewardBenchError, match=r"lacks column\(s\) \['rejected', 'subset'\]"):
        rb.load_rewardbench_v1(tmp_path / "v1.parquet")
    v2 = make_rewardbench_v2_fixture(1)
    v2.loc[0, "num_correct"] = 2
    v2.to_json(tmp_path / "v2.jsonl", orient="records", lines=True)
    with pytest.raises(RewardBenchError, match=r"'num_correct' must hold len\(chosen\); id '0'"):
        rb.load_rewardbench_v2(tmp_path / "v2.jsonl")
    v2 = make_rewardbench_v2_fixture(1)
    v2.loc[v2.subset == "Ties", "id"] = "7"
    v2.to_json(tmp_path / "v2b.jsonl", orient="records", lines=True)
    with pytest.raises(RewardBenchError, match="'ref:<n>' or 'tied:<n>'"):
        rb.load_rewardbench_v2(tmp_path / "v2b.jsonl")
    with pytest.raises(RewardBenchError, match="does not exist"):
        rb.load_rewardbench_v1(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(RewardBenchError, match=r"no \*.parquet"):
        rb.load_rewardbench_v2(tmp_path / "empty")


def _fake_datasets(monkeypatch, load_dataset):
    monkeypatch.setitem(sys.modules, "datasets", types.SimpleNamespace(load_dataset=load_dataset))


def test_unreachable_hub_returns_none_without_trying_to_download(monkeypatch):
    calls = []
    _fake_datasets(monkeypatch, lambda *a, **k: calls.append(a))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", CLOSED_PORT)
    assert rb.load_rewardbench_v1() is None
    assert rb.load_rewardbench_v2() is None
    assert calls == []


class _HubCopy:
    """What ``datasets.load_dataset(...)`` returns, as far as the loader uses it (``with_format("arrow")[:]``)."""

    def __init__(self, frame: pd.DataFrame):
        self.table = pa.Table.from_pandas(frame, preserve_index=False)

    def with_format(self, kind: str):
        assert kind == "arrow"
        return self

    def __getitem__(self, index):
        return self.table[index]


def test_hub_errors_return_none_and_a_hub_copy_is_validated(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # skip the probe: load_dataset answers from the cache or fails

    def unavailable(*args, **kwargs):
        raise ConnectionError("offline and not cached")

    _fake_datasets(monkeypatch, unavailable)
    assert rb.load_rewardbench_v1() is None

    requested = []
    copies = {rb.V1_HUB_ID: make_rewardbench_v1_fixture(1), rb.V2_HUB_ID: make_rewardbench_v2_fixture(1)}

    def cached(name, split):
        requested.append((name, split))
        return _HubCopy(copies[name])

    _fake_datasets(monkeypatch, cached)
    assert len(rb.load_rewardbench_v1()) == 23 and len(rb.load_rewardbench_v2()) == 7
    assert requested == [("allenai/reward-bench", "filtered"), ("allenai/reward-bench-2", "test")]

    _fake_datasets(monkeypatch, lambda name, split: _HubCopy(pd.DataFrame({"prompt": ["x"], "id": [0]})))
    with pytest.raises(RewardBenchError, match=r"allenai/reward-bench \(filtered\) lacks column"):
        rb.load_rewardbench_v1()


# ------------------------------------------------------------------------------------------------------------
# Batched evaluation
# ------------------------------------------------------------------------------------------------------------


def _oracle(texts: list[str]) -> torch.Tensor:
    """The fixture's true quality of the assistant turn (plain rendering: last line 'assistant: …')."""
    return torch.tensor([text_quality(t.rsplit("assistant: ", 1)[-1]) for t in texts], dtype=torch.float64)


@pytest.mark.parametrize("batch_size", [1, 5, 64])
def test_evaluation_restores_order_and_matches_direct_scoring(rewardbench_dir, batch_size):
    v1 = rb.load_rewardbench_v1(rewardbench_dir / "rewardbench_v1")
    v2 = rb.load_rewardbench_v2(rewardbench_dir / "rewardbench_v2")
    batches = []

    def recording_oracle(texts):
        assert not torch.is_grad_enabled()
        batches.append([len(t) for t in texts])
        return _oracle(texts).reshape(-1, 1)  # [b, 1] is accepted

    result = rb.evaluate_rewardbench(recording_oracle, v1, batch_size)
    lengths = [n for batch in batches for n in batch]
    assert lengths == sorted(lengths, reverse=True) and max(map(len, batches)) <= batch_size
    direct = rb.score_v1(v1.subset, v1.chosen.map(text_quality), v1.rejected.map(text_quality))
    assert result == direct and result["overall/accuracy_score"] == 1.0

    result = rb.evaluate_rewardbench(_oracle, v2, batch_size)
    direct = rb.score_v2(
        v2.subset,
        v2.id,
        v2.num_correct,
        [[text_quality(t) for t in c + r] for c, r in zip(v2.chosen, v2.rejected, strict=True)],
    )
    assert result == direct
    assert all(result[f"section/{name}_score"] == 1.0 for name in rb.V2_SUBSETS if name != "Ties")
    inverted = rb.evaluate_rewardbench(lambda texts: -_oracle(texts), v1, batch_size)
    assert inverted["overall/accuracy_score"] == 0.0


def test_evaluation_uses_the_given_rendering_and_checks_the_output(rewardbench_dir):
    v1 = rb.load_rewardbench_v1(rewardbench_dir / "rewardbench_v1")
    seen = []

    def render(messages):
        assert [m["role"] for m in messages] == ["user", "assistant"]
        return "<chat>" + messages[1]["content"]

    def score(texts):
        seen.extend(texts)
        return torch.tensor([text_quality(t.removeprefix("<chat>")) for t in texts], dtype=torch.bfloat16)

    assert rb.evaluate_rewardbench(score, v1, 16, render=render)["overall/accuracy_score"] == 1.0
    assert len(seen) == 2 * len(v1) and all(t.startswith("<chat>") for t in seen)
    with pytest.raises(RewardBenchError, match="returned 1 rewards for a batch of 4"):
        rb.evaluate_rewardbench(lambda texts: torch.zeros(1), v1, 4)
    with pytest.raises(RewardBenchError, match="batch_size must be at least 1"):
        rb.evaluate_rewardbench(_oracle, v1, 0)

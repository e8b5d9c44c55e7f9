"""The whole data pipeline on generated MultiPref data: order, invariants, seeding (spec llm.md §2–§6, §8)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from responserank.errors import PipelineError
from responserank.llm.config import compose_config, to_container
from responserank.llm.fixtures import write_multipref_fixture
from responserank.llm.pipeline import Seeds, build_train_sampler, prepare_data

AC, AS, T, BS, BC = (
    "A-is-clearly-better",
    "A-is-slightly-better",
    "Tie",
    "B-is-slightly-better",
    "B-is-clearly-better",
)


def experiment(preset: str, multipref_dir, *overrides: str) -> dict:
    config = to_container(
        compose_config(
            [
                f"experiment={preset}",
                f"experiment.dataset.path={multipref_dir}",
                "experiment.dataset.test_size=40",
                *overrides,
            ]
        )
    )
    return config["experiment"]


def prepared(preset, multipref_dir, tokenizer, seed=42, *overrides):
    return prepare_data(experiment(preset, multipref_dir, *overrides), Seeds.from_config(seed), tokenizer)


def comparable(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for column in ("chosen_input_ids", "rejected_input_ids"):
        out[column] = out[column].map(lambda ids: tuple(ids.tolist()))
    return out


def test_same_seed_same_output_different_seed_different_split(multipref_dir, tokenizer):
    one = prepared("rr_agree_partialshuffle50", multipref_dir, tokenizer, 7)
    two = prepared("rr_agree_partialshuffle50", multipref_dir, tokenizer, 7)
    pd.testing.assert_frame_equal(comparable(one.train), comparable(two.train))
    pd.testing.assert_frame_equal(comparable(one.test), comparable(two.test))
    assert one.stats == two.stats
    exp = experiment("rr_agree_partialshuffle50", multipref_dir)
    batches = [build_train_sampler(p, exp).batches for p in (one, two)]
    assert all(np.array_equal(a, b) for a, b in zip(*batches, strict=True))
    other = prepared("rr_agree_partialshuffle50", multipref_dir, tokenizer, 8)
    assert set(other.test.comparison_id) != set(one.test.comparison_id)


def test_presets_share_split_and_drawn_labels_at_a_seed(multipref_dir, tokenizer):
    """Seed-paired comparisons: the split and the drawn annotation do not depend on the preset."""
    bt = prepared("bt", multipref_dir, tokenizer, 3)
    rr = prepared("rr_agree", multipref_dir, tokenizer, 3)
    stated = prepared("rr_stated", multipref_dir, tokenizer, 3)
    for other in (rr, stated):
        pd.testing.assert_frame_equal(
            bt.train[["comparison_id", "first_chosen", "evaluator"]],
            other.train[["comparison_id", "first_chosen", "evaluator"]],
        )
        assert list(bt.test.comparison_id) == list(other.test.comparison_id)


def test_invariants(multipref_dir, tokenizer):
    result = prepared("rr_agree", multipref_dir, tokenizer)
    train, test, stats = result.train, result.test, result.stats
    assert (train.partition_id >= 0).all() and not train.is_tie.any()
    assert (test.partition_id == -1).all() and test["rank"].isna().all()
    assert not set(train.comparison_id) & set(test.comparison_id)
    assert stats["train_examples"] == len(train) and stats["test_examples"] == len(test)
    assert stats["split/test_comparisons"] == 40
    assert stats["test_examples"] == 40 - stats["test/tie_is_common_dropped"]
    assert (
        len(train)
        == stats["split/train_comparisons"]
        - stats["train/drawn_ties_dropped"]
        - stats["train/dropped_without_annotation"]
    )
    assert stats["data/max_length_dropped"] > 0  # the fixture's long completions
    lengths = np.array([len(x) for x in pd.concat([train.chosen_input_ids, train.rejected_input_ids])])
    assert lengths.max() <= 1024
    # orientation: chosen text is the chosen side's completion, ids belong to it
    np.testing.assert_allclose(train["rank"], -train.agreement_score)
    np.testing.assert_allclose(train.bt_target, 1.0)
    # round-robin auto over one global stratum: tie-free partitions, as many as the largest tie group
    largest_tie = train["rank"].round(12).value_counts().max()
    assert train.partition_id.nunique() == largest_tie
    assert all(g["rank"].round(12).is_unique for _, g in train.groupby("partition_id"))
    assert stats["partitioner/train/non_singleton_fraction"] == 1.0


def test_hand_made_rows_through_the_pipeline(tmp_path, tokenizer):
    """Ranks and soft labels of known comparisons, whatever annotation is drawn."""
    votes = {
        "unanimous": [AC, AC, AC, AC],  # agreement 1, mean preference 1
        "split_strength": [AC, AC, AS, AS],  # agreement 0.75, mean 0.75
        "one_tie": [AC, AC, AC, T],  # agreement 0.75 with ties in D (1.0 without), mean 0.75
        "b_side": [BC, BC, BC, AC],  # agreement 0.5, mean −0.5
    }
    rows, labels = [], []
    for index, (name, vs) in enumerate(votes.items()):
        for copy in range(3):
            cid = f"{name}_{copy}"
            annotations = [
                {"overall_pref": v, "time_spent": 10 + i, "evaluator": f"e{i}", "timestamp": "t"}
                for i, v in enumerate(vs)
            ]
            rows.append(
                {
                    "comparison_id": cid,
                    "text": "kaka",
                    "completion_a": f"lolo {'mimi ' * index}",
                    "completion_b": "nene",
                    "normal_worker_annotations": annotations[:2],
                    "expert_worker_annotations": annotations[2:],
                }
            )
            chosen_a = vs[0].startswith("A")
            side_a = [
                {"role": "user", "content": "kaka"},
                {"role": "assistant", "content": rows[-1]["completion_a"]},
            ]
            side_b = [{"role": "user", "content": "kaka"}, {"role": "assistant", "content": "nene"}]
            labels.append(
                {
                    "comparison_id": cid,
                    "chosen": side_a if chosen_a else side_b,
                    "rejected": side_b if chosen_a else side_a,
                    "tie_is_common": False,
                }
            )
    write_multipref_fixture(tmp_path, "jsonl", comparisons=pd.DataFrame(rows), binarized=pd.DataFrame(labels))
    expected_agreement = {"unanimous": 1.0, "split_strength": 0.75, "one_tie": 0.75, "b_side": 0.5}
    expected_mean = {"unanimous": 1.0, "split_strength": 0.75, "one_tie": 0.75, "b_side": -0.5}
    for seed in range(3):
        for preset, overrides in [
            ("rr_agree", ()),
            ("rr_consensus", ()),
            ("bt_meanpref", ()),
            ("rr_stated", ()),
            ("bt_agree", ()),
        ]:
            exp = experiment(preset, tmp_path, "experiment.dataset.test_size=1", *overrides)
            train = prepare_data(exp, Seeds.from_config(seed), tokenizer).train
            kind = train.comparison_id.str.rsplit("_", n=1).str[0]
            ties_in_total = exp["dataset"]["ties_in_agreement_total"]
            agreement = kind.map(expected_agreement | ({} if ties_in_total else {"one_tie": 1.0}))
            directional = kind.map(expected_mean) * np.where(train.first_chosen, 1, -1)
            np.testing.assert_allclose(train.agreement_score, agreement)
            np.testing.assert_allclose(train.directional_mean_preference, directional)
            if preset == "rr_agree":
                np.testing.assert_allclose(train.rank_original, -agreement)
            elif preset == "rr_consensus":
                np.testing.assert_allclose(train.rank_original, -directional)
            elif preset == "bt_meanpref":
                np.testing.assert_allclose(train.bt_target, (directional + 1) / 2)
            elif preset == "bt_agree":
                np.testing.assert_allclose(train.bt_target, 0.5 + 0.5 * agreement)
            else:  # rr_stated: 0 for clearly, 1 for slightly
                np.testing.assert_allclose(
                    train.rank_original, np.where(train.preference_strength == 2, 0.0, 1.0)
                )
            # the drawn annotation decides the side: only b_side has B votes
            assert train.first_chosen[kind != "b_side"].all()


def test_fraction_keeps_nested_subsets(multipref_dir, tokenizer):
    full = prepared("rr_agree", multipref_dir, tokenizer, 5)
    previous = set()
    for fraction in (0.2, 0.5, 1.0):
        part = prepared("rr_agree", multipref_dir, tokenizer, 5, f"experiment.fraction={fraction}")
        kept = set(part.train.comparison_id)
        assert len(kept) == int(len(full.train) * fraction)
        assert previous <= kept
        previous = kept
        assert list(part.test.comparison_id) == list(full.test.comparison_id)  # test unaffected


def test_rank_filter_and_response_time_singletons(multipref_dir, tokenizer):
    filtered = prepared("rr_agree_filter50", multipref_dir, tokenizer)
    n = len(filtered.train)
    assert filtered.train["rank"].isna().sum() == int(n * 0.5)
    sizes = filtered.train.groupby("partition_id").size()
    rankless = filtered.train[filtered.train["rank"].isna()]
    assert (sizes[rankless.partition_id] == 1).all()  # rank-less examples are singletons
    assert filtered.stats["partitioner/train/non_singleton_fraction"] <= 0.5 + 1e-9
    before = prepared(
        "rr_agree_filter50",
        multipref_dir,
        tokenizer,
        42,
        "experiment.rank_filter_after_fraction_sampling=false",
        "experiment.fraction=0.5",
    )
    assert before.stats["rank/filtered"] == int(before.stats["fraction/of"] * 0.5)  # filtered over all train
    after = prepared("rr_agree_filter50", multipref_dir, tokenizer, 42, "experiment.fraction=0.5")
    assert after.stats["rank/filtered"] == int(after.stats["fraction/kept"] * 0.5)  # … or over the sample
    rt = prepared("rr_rt_annostrat_spread2", multipref_dir, tokenizer)
    missing = rt.train.time_spent.isna()
    assert rt.stats["rank/without_signal"] == missing.sum()
    np.testing.assert_allclose(rt.train["rank"][~missing], rt.train.time_spent[~missing])
    for _, group in rt.train[~missing].groupby("partition_id"):
        assert group.evaluator.nunique() == 1 and len(group) <= 2  # pairs within an annotator


def test_ties_kept_when_asked(multipref_dir, tokenizer):
    kept = prepared(
        "rr_agree_spread2", multipref_dir, tokenizer, 42, "experiment.filter_ties_after_aggregation=false"
    )
    dropped = prepared("rr_agree_spread2", multipref_dir, tokenizer, 42)
    assert kept.train.is_tie.sum() == dropped.stats["train/drawn_ties_dropped"] > 0
    before = prepared(
        "rr_agree", multipref_dir, tokenizer, 42, "experiment.filter_ties_before_aggregation=true"
    )
    assert (
        before.stats["train/drawn_ties"] == 0
        and before.stats["data/tie_annotations_removed_before_aggregation"] > 0
    )


def test_shuffle_and_invert_ranks(multipref_dir, tokenizer):
    base = prepared("rr", multipref_dir, tokenizer)
    shuffled = prepared("rr", multipref_dir, tokenizer, 42, "experiment.shuffle_ranks=true")
    assert sorted(base.train["rank"].dropna()) == sorted(shuffled.train["rank"].dropna())
    assert not np.allclose(base.train["rank"].fillna(-1), shuffled.train["rank"].fillna(-1))
    inverted = prepared("rr", multipref_dir, tokenizer, 42, "experiment.invert_ranks=true")
    np.testing.assert_allclose(inverted.train["rank"], 1 / (base.train.time_spent + 1))


def test_tied_partitions_stop_a_preset_that_forbids_ties(multipref_dir, tokenizer):
    one_stratum = ("experiment.stratifier.name=global", "experiment.train_partitioner.name=noop")
    with pytest.raises(PipelineError, match=r"hold tied ranks but experiment\.allow_ties is false"):
        prepared("rr_stated", multipref_dir, tokenizer, 42, *one_stratum)
    allowed = prepared("rr_stated", multipref_dir, tokenizer, 42, *one_stratum, "experiment.allow_ties=true")
    assert allowed.stats["partitioner/train/partitions_with_tied_ranks"] == 1
    assert (
        prepared("rr_stated", multipref_dir, tokenizer).stats["partitioner/train/partitions_with_tied_ranks"]
        == 0
    )

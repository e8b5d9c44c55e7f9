"""Fraction sampling, rank filters, stratifiers, partitioners and rank transforms (spec llm.md §4–§5)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from responserank.errors import PipelineError
from responserank.llm.partitioning import (
    check_fraction,
    length_buckets,
    partition_examples,
    partition_statistics,
    partitions_with_tied_ranks,
    rank_filter,
    rank_transform,
    sample_fraction,
    stratify_examples,
    within_stratum_diagnostics,
)


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def groups(partition: np.ndarray) -> list[list[int]]:
    return sorted(sorted(np.flatnonzero(partition == p).tolist()) for p in np.unique(partition))


# --- round robin (spec test cases and properties) -------------------------------------------------------------


@pytest.mark.parametrize(
    ("ranks", "expected_sizes"),
    [
        ([0, 1, 2, 3], [4]),  # no ties → one partition
        ([0, 0, 0, 1, 1, 2], [2, 2, 2]),  # → 3 tie-free
        ([1, 1, 1], [1, 1, 1]),  # → 3 singletons
        ([0, 0, 0, 0, 1, 1, 2, 2], [2, 2, 2, 2]),  # → 4 of size 2
    ],
)
def test_round_robin_auto_spec_cases(ranks, expected_sizes):
    rank = np.array(ranks, dtype=float)
    partition = partition_examples(
        "round_robin", rank, np.zeros(len(rank), dtype=np.int64), rng(), target_size=-1
    )
    assert sorted(np.unique(partition, return_counts=True)[1].tolist()) == expected_sizes


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 3), st.integers(0, 5)), min_size=1, max_size=60),
    st.sampled_from([-1, "auto"]),
)
def test_round_robin_auto_is_tie_free_with_largest_tie_group_many_partitions(rows, target):
    stratum = np.array([s for s, _ in rows], dtype=np.int64)
    rank = np.array([r for _, r in rows], dtype=float) / 4  # coarse values → many ties
    partition = partition_examples("round_robin", rank, stratum, rng(), target_size=target)
    for s in np.unique(stratum):
        members = stratum == s
        largest_tie = np.unique(rank[members], return_counts=True)[1].max()
        parts_of_stratum = np.unique(partition[members])
        assert len(parts_of_stratum) == (largest_tie if members.sum() > 1 else 1)
        assert not np.isin(parts_of_stratum, partition[~members]).any()  # partitions never cross strata
        for p in parts_of_stratum:
            in_p = rank[partition == p]
            assert len(np.unique(in_p)) == len(in_p), "tied ranks share a partition"


def test_round_robin_fixed_size_spreads_over_rank_range():
    rank = np.arange(10, dtype=float)
    partition = partition_examples("round_robin", rank, np.zeros(10, dtype=np.int64), rng(), target_size=4)
    # P = ceil(10/4) = 3; k-th sorted member → k mod 3; sub-partition 0 keeps the stratum id.
    assert groups(partition) == [[0, 3, 6, 9], [1, 4, 7], [2, 5, 8]]
    assert partition[0] == 0


@pytest.mark.parametrize("bad", [0, -2, 1.5, "four", None])
def test_round_robin_rejects_bad_target_size(bad):
    with pytest.raises(PipelineError, match="target_size must be -1"):
        partition_examples("round_robin", np.arange(4.0), np.zeros(4, dtype=np.int64), rng(), target_size=bad)


def test_rankless_examples_stay_singletons():
    rank = np.array([0.0, np.nan, 1.0, np.nan, 2.0])
    stratum = stratify_examples("global", rank)
    assert stratum[0] == stratum[2] == stratum[4]
    assert len({stratum[1], stratum[3], stratum[0]}) == 3
    for kind, kwargs in [
        ("noop", {}),
        ("round_robin", {"target_size": 2}),
        ("random", {"partition_size": 2}),
    ]:
        partition = partition_examples(kind, rank, stratum, rng(), **kwargs)
        for i in (1, 3):
            assert (partition == partition[i]).sum() == 1, kind


def test_random_partitioner_chunks_ranked_examples():
    rank = np.r_[np.arange(9.0), np.nan]
    partition = partition_examples("random", rank, np.zeros(10, dtype=np.int64), rng(3), partition_size=4)
    sizes = sorted(np.unique(partition[:9], return_counts=True)[1].tolist())
    assert sizes == [1, 4, 4]
    assert (partition == partition[9]).sum() == 1
    same = partition_examples("random", rank, np.zeros(10, dtype=np.int64), rng(3), partition_size=4)
    np.testing.assert_array_equal(partition, same)
    with pytest.raises(PipelineError, match="partition_size"):
        partition_examples("random", rank, np.zeros(10, dtype=np.int64), rng(), partition_size=0)


def test_unknown_partitioner_lists_options():
    with pytest.raises(PipelineError, match=r"train_partitioner='spread'.*'round_robin'"):
        partition_examples("spread", np.arange(3.0), np.zeros(3, dtype=np.int64), rng())


# --- stratifiers ------------------------------------------------------------------------------------------------


def test_annotator_strata_and_length_buckets():
    rank = np.array([1.0, 2.0, 3.0, 4.0, 5.0, np.nan])
    evaluator = np.array(["a", "b", "a", "b", "a", "a"], dtype=object)
    stratum = stratify_examples("annotator", rank, evaluator=evaluator)
    assert groups(stratum) == [[0, 2, 4], [1, 3], [5]]
    length = np.array([10, 20, 30, 40, 50, 1000])
    # edges from ranked lengths only: percentiles 0/50/100 of 10..50 → [10, 30, 51)
    np.testing.assert_array_equal(length_buckets(length, ~np.isnan(rank), 2), [0, 0, 1, 1, 1, 1])
    stratum = stratify_examples(
        "annotator_length_bucket", rank, evaluator=evaluator, length=length, num_buckets=2
    )
    assert groups(stratum) == [[0], [1], [2, 4], [3], [5]]


def test_partitioner_ties_are_exact_unless_a_tolerance_is_given():
    rank = np.array([1.7e12, 1.7e12 + 1000.0, 1e-10, 2e-10, 3e-10])  # ms timestamps; tiny but distinct scales
    stratum = np.array([0, 0, 1, 1, 1])
    exact = partition_examples("round_robin", rank, stratum, np.random.default_rng(0), target_size=-1)
    assert len(np.unique(exact)) == 2  # tie-free already: one partition per stratum
    assert within_stratum_diagnostics(rank, stratum)["tied_pair_fraction"] == 0.0
    loose = partition_examples(
        "round_robin", rank, stratum, np.random.default_rng(0), target_size=-1, tie_tolerance=1e-9
    )
    assert len(np.unique(loose)) == 5  # everything "ties" at 1e-9: singletons
    rng = np.random.default_rng(1)
    distinct = rng.random(200_000)
    assert len(np.unique(distinct)) == len(distinct)
    assert partitions_with_tied_ranks(distinct, np.zeros(len(distinct), dtype=np.int64)) == 0


def test_within_stratum_diagnostics_counts_tied_pairs():
    rank = np.array([0.0, 0.0, 1.0, 2.0, 2.0, 2.0])
    stratum = np.array([0, 0, 0, 1, 1, 1])
    d = within_stratum_diagnostics(rank, stratum)
    assert d["num_strata"] == 2
    assert d["tied_pair_fraction"] == pytest.approx((1 + 3) / (3 + 3))


# --- filters, transforms, fractions ------------------------------------------------------------------------------


def test_random_rank_filter_nulls_int_n_f_ranks():
    rank = np.arange(10.0)
    filtered = rank_filter("random", rank, rng(), fraction=0.25)
    assert np.isnan(filtered).sum() == 2  # int(10 · 0.25)
    np.testing.assert_array_equal(filtered[~np.isnan(filtered)], rank[~np.isnan(filtered)])
    assert not np.isnan(rank).any()  # input untouched
    kept = rank_filter(
        "category", rank[:3], rng(), subject_study=np.array(["Mathematics", "Law", None], dtype=object)
    )
    np.testing.assert_array_equal(np.isnan(kept), [False, True, True])


@pytest.mark.parametrize("bad", [0.0, -0.1, 1.5])
def test_fractions_outside_unit_interval_are_rejected(bad):
    with pytest.raises(PipelineError, match=r"must lie in \(0, 1\]"):
        rank_filter("random", np.arange(4.0), rng(), fraction=bad)
    with pytest.raises(PipelineError, match=r"experiment.fraction must lie in \(0, 1\]"):
        sample_fraction("annotator", np.array(["a"] * 4, dtype=object), bad, rng())
    with pytest.raises(PipelineError):
        check_fraction("x", bad)


def test_partial_shuffle_permutes_within_partitions_only():
    rank = np.arange(40.0)
    partition = np.repeat(np.arange(8), 5)
    new, tau = rank_transform("partial_shuffle", rank, partition, rng(), noise=1.0)
    for p in range(8):
        assert sorted(new[partition == p]) == sorted(rank[partition == p])
    assert not np.array_equal(new, rank)
    assert tau < 1
    same, _ = rank_transform("partial_shuffle", rank, partition, rng(), noise=1.0)
    np.testing.assert_array_equal(new, same)


def test_partial_shuffle_half_to_even_on_pairs():
    # round(0.25·2) = round(0.5) = 0 and round(0.5·2) = 1: one member "shuffled" alone → pairs unchanged;
    # at 0.75 / 1.0 both members are picked and swapped half the time (spec §5).
    rank = np.arange(2000.0)
    partition = np.repeat(np.arange(1000), 2)
    for noise in (0.25, 0.5):
        new, _ = rank_transform("partial_shuffle", rank, partition, rng(), noise=noise)
        np.testing.assert_array_equal(new, rank)
    for noise in (0.75, 1.0):
        new, _ = rank_transform("partial_shuffle", rank, partition, rng(), noise=noise)
        swapped = (new != rank).reshape(-1, 2).all(axis=1).mean()
        assert 0.4 < swapped < 0.6


def test_partial_shuffle_touches_exactly_round_noise_n_members():
    rank = np.arange(700.0)
    partition = np.repeat(np.arange(100), 7)
    new, _ = rank_transform("partial_shuffle", rank, partition, rng(), noise=0.5)  # round(3.5) = 4 picked
    moved = (new != rank).reshape(100, 7).sum(axis=1)
    assert moved.max() <= 4 and moved.mean() > 2


def test_random_rank_and_singletons():
    rank = np.array([5.0, 6.0, 7.0, 9.0])
    partition = np.array([0, 0, 0, 1])
    new, _ = rank_transform("random_rank", rank, partition, rng())
    assert sorted(new[:3]) == [0.0, 1.0, 2.0]
    assert new[3] == 9.0  # partitions of size 1 are untouched
    with pytest.raises(PipelineError, match="noise must lie in"):
        rank_transform("partial_shuffle", rank, partition, rng(), noise=1.5)


def test_annotator_fraction_sampling_takes_whole_annotators_then_a_part():
    evaluator = np.array(["a"] * 5 + ["b"] * 3 + ["c"] * 4 + ["d"] * 8, dtype=object)
    for seed in range(20):
        keep = sample_fraction("annotator", evaluator, 0.5, rng(seed))
        assert len(keep) == 10 and np.all(np.diff(keep) > 0)
        kept = evaluator[keep]
        names, counts = np.unique(kept, return_counts=True)
        full = {"a": 5, "b": 3, "c": 4, "d": 8}
        partial = [n for n, c in zip(names, counts, strict=True) if c < full[n]]
        assert len(partial) <= 1  # at most one annotator is cut
        if partial:  # … and it contributes its first examples
            first = np.flatnonzero(evaluator == partial[0])[: (kept == partial[0]).sum()]
            assert set(first) <= set(keep)
    np.testing.assert_array_equal(sample_fraction("annotator", evaluator, 1.0, rng()), np.arange(20))


@pytest.mark.parametrize("kind", ["annotator", "uniform"])
def test_fraction_sampling_is_nested_across_fractions(kind):
    evaluator = np.array([f"e{i % 7}" for i in range(100)], dtype=object)
    previous = set()
    for fraction in (0.1, 0.3, 0.5, 0.9, 1.0):
        keep = set(sample_fraction(kind, evaluator, fraction, rng(5)).tolist())
        assert len(keep) == int(100 * fraction)
        assert previous <= keep
        previous = keep


def test_partition_statistics():
    s = partition_statistics(np.array([0, 0, 0, 1, 2, 2]))
    assert s["num_partitions"] == 3 and s["num_singletons"] == 1
    assert s["non_singleton_fraction"] == pytest.approx(5 / 6)
    assert s["size_histogram"] == {1: 1, 2: 1, 3: 1}


def test_partitions_with_tied_ranks():
    rank = np.array([0.0, 0.0, 1.0, 1.0 + 1e-12, 2.0, np.nan, np.nan])
    partition = np.array([0, 1, 2, 2, 2, 3, 3])
    assert partitions_with_tied_ranks(rank, partition) == 0  # exact by default: 1 and 1 + 1e-12 differ
    # With the LLM presets' tolerance (ranks computed by arithmetic) partition 2 ties; NaNs never tie.
    assert partitions_with_tied_ranks(rank, partition, tie_tolerance=1e-9) == 1
    assert partitions_with_tied_ranks(rank, np.zeros(7, dtype=np.int64)) == 1
    assert partitions_with_tied_ranks(np.full(3, np.nan), np.zeros(3, dtype=np.int64)) == 0


@pytest.mark.parametrize("bad", [-1e-9, 1.0, "loose", True])
def test_llm_tie_tolerance_is_validated(bad):
    from responserank.llm.config import compose_config, to_container, validate_config

    config = to_container(compose_config(["experiment=rr_agree"]))
    assert config["experiment"]["tie_tolerance"] == 1e-9  # the presets' tolerance for computed ranks
    config["experiment"]["tie_tolerance"] = bad
    with pytest.raises(PipelineError, match=r"experiment.tie_tolerance must be a number in \[0, 1\)"):
        validate_config(config)

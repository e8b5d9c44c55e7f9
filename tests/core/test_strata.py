"""Strata helpers: key-based strata, random groups and the round-robin partitioner of the LLM spec."""

from __future__ import annotations

import math

import hypothesis.strategies as st
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings

from responserank.strata import partition_sizes, random_groups, round_robin_partition, stratify, tie_groups


def _groups(ids: np.ndarray, rank: np.ndarray) -> list[list[float]]:
    return sorted(sorted(rank[ids == i].tolist()) for i in np.unique(ids))


@pytest.mark.parametrize(
    ("rank", "expected"),
    [
        ([0.3, 0.1, 0.2, 0.5], [[0.1, 0.2, 0.3, 0.5]]),  # no ties -> one partition
        ([0, 0, 0, 1, 1, 2], [[0, 1], [0, 1], [0, 2]]),  # 3 tie-free partitions, dealt k mod 3
        ([1, 1, 1], [[1], [1], [1]]),  # 3 singletons
        ([0, 0, 0, 0, 1, 1, 2, 2], [[0, 1], [0, 1], [0, 2], [0, 2]]),  # 4 of size 2
    ],
)
def test_round_robin_auto_spec_cases(rank, expected):
    rank = np.asarray(rank, dtype=float)
    ids = round_robin_partition(rank, np.zeros(len(rank), dtype=np.int64), "auto")
    assert _groups(ids, rank) == sorted(sorted(g) for g in expected)
    assert (ids == 0).any()  # sub-partition 0 keeps the stratum id


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 6)), min_size=1, max_size=60))
def test_round_robin_auto_is_tie_free_with_count_equal_to_largest_tie_group(rows):
    stratum = np.array([s for s, _ in rows], dtype=np.int64) * 10
    rank = np.array([r for _, r in rows], dtype=float)
    ids = round_robin_partition(rank, stratum, -1)
    for s in np.unique(stratum):
        members = stratum == s
        parts = np.unique(ids[members])
        largest_tie = np.unique(rank[members], return_counts=True)[1].max()
        assert len(parts) == (largest_tie if members.sum() > 1 else 1)
        for p in parts:
            in_part = rank[ids == p]
            assert len(np.unique(in_part)) == len(in_part)
    assert not (set(np.unique(ids)) & set(np.unique(stratum)) - set(np.unique(stratum)))
    # Partitions never mix strata.
    assert all(len(np.unique(stratum[ids == p])) == 1 for p in np.unique(ids))


@settings(max_examples=60, deadline=None)
@given(n=st.integers(2, 50), k=st.integers(1, 8), seed=st.integers(0, 1000))
def test_round_robin_fixed_size_gives_ceil_n_over_k_spread_partitions(n, k, seed):
    rank = np.random.default_rng(seed).random(n)
    ids = round_robin_partition(rank, np.full(n, 5), k)
    num_parts = math.ceil(n / k)
    assert len(np.unique(ids)) == num_parts
    sizes = partition_sizes(ids)
    assert sizes.max() - sizes.min() <= 1
    order = np.argsort(rank)
    assert np.array_equal(ids[order][:num_parts], np.r_[5, np.arange(6, 5 + num_parts)])


def test_round_robin_fresh_ids_follow_stratum_order_and_nan_ranks_keep_their_id():
    rank = np.array([0, 0, 1, 1, np.nan, 3, 3])
    stratum = np.array([2, 2, 2, 2, 7, 9, 9])
    ids = round_robin_partition(rank, stratum, "auto")
    assert ids.tolist() == [2, 10, 2, 10, 7, 9, 11]


@pytest.mark.parametrize("bad", [0, -2, 1.5, "big"])
def test_round_robin_rejects_invalid_target_size(bad):
    with pytest.raises(ValueError, match="target_size must be 'auto'"):
        round_robin_partition(np.zeros(3), np.zeros(3, dtype=int), bad)


def test_round_robin_rejects_float_strata():
    with pytest.raises(ValueError, match="stratum must hold integer ids"):
        round_robin_partition(np.zeros(3), np.zeros(3), 2)


def test_tie_groups_are_per_stratum():
    order, group = tie_groups(np.array([1.0, 1.0, 1.0, 2.0]), np.array([0, 1, 0, 0]))
    assert order.tolist() == [0, 2, 3, 1]
    assert group.tolist() == [0, 0, 1, 2]


def test_stratify_by_key_columns():
    frame = pd.DataFrame({"annotator": ["a", "b", "a", "c", "b"], "session": [1, 1, 1, 2, 2]})
    assert stratify(frame=frame, columns="annotator").tolist() == [0, 1, 0, 2, 1]
    assert stratify(frame=frame, columns=["annotator", "session"]).tolist() == [0, 1, 0, 2, 3]
    assert stratify(frame["annotator"], frame["session"]).tolist() == [0, 1, 0, 2, 3]
    assert stratify(np.array([None, "x", None])).tolist() == [0, 1, 0]
    with pytest.raises(ValueError, match=r"stratum column\(s\) \['user'\] not in the table"):
        stratify(frame=frame, columns=["user"])
    with pytest.raises(ValueError, match="differ in length"):
        stratify([1, 2], [1])


def test_random_groups_are_seeded_and_sized():
    ids = random_groups(23, 5, seed=3)
    assert sorted(np.bincount(ids).tolist()) == [3, 5, 5, 5, 5]
    assert np.array_equal(ids, random_groups(23, 5, seed=3))
    assert not np.array_equal(ids, random_groups(23, 5, seed=4))
    with pytest.raises(ValueError, match="seed is required"):
        random_groups(5, 2, seed=None)
    with pytest.raises(ValueError, match="group_size must be a positive integer"):
        random_groups(5, 0, seed=1)

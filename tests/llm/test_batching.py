"""Batch formation (spec llm.md §6): partition-keeping packer, flatten-and-slice, samplers, statistics."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from responserank.errors import PipelineError
from responserank.llm.batching import (
    PackedBatchSampler,
    RandomBatchSampler,
    pack,
    pack_flatten_and_slice,
    pack_largest_first_best_fit,
    packing_statistics,
)

partition_sizes = st.lists(st.integers(1, 40), min_size=1, max_size=40)


def partition_of(sizes: list[int], seed: int = 0) -> np.ndarray:
    """Partition ids for the given sizes, rows in random order, ids not contiguous."""
    ids = np.repeat(np.arange(len(sizes)) * 3 + 7, sizes)
    return ids[np.random.default_rng(seed).permutation(len(ids))]


@settings(max_examples=150, deadline=None)
@given(partition_sizes, st.integers(1, 20), st.integers(0, 2**32 - 1))
def test_best_fit_fills_ceil_n_over_b_batches_exactly(sizes, batch_size, seed):
    partition = partition_of(sizes, seed)
    n = len(partition)
    batches = pack_largest_first_best_fit(partition, batch_size, np.random.default_rng(seed))
    # every example exactly once; ceil(N/B) batches, all full except one of N mod B
    np.testing.assert_array_equal(np.sort(np.concatenate(batches)), np.arange(n))
    assert len(batches) == -(-n // batch_size)
    expected = [batch_size] * (n // batch_size) + ([n % batch_size] if n % batch_size else [])
    assert sorted(len(b) for b in batches) == sorted(expected)
    # no fragment exceeds a batch, so a partition larger than B is cut into at least ceil(size / B) pieces
    stats = packing_statistics(partition, batches)
    assert stats["max_fragment_size"] <= batch_size
    # each split fills the batch it lands in, so fewer partitions are split than there are batches
    batch_of = np.empty(n, dtype=np.int64)
    batch_of[np.concatenate(batches)] = np.repeat(np.arange(len(batches)), [len(b) for b in batches])
    split = sum(len(np.unique(batch_of[partition == p])) > 1 for p in np.unique(partition))
    assert split <= len(batches)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(1, 8), min_size=1, max_size=30), st.integers(0, 2**32 - 1))
def test_partitions_that_tile_the_batches_are_never_split(sizes_in_batches, seed):
    """When partitions can fill the batches exactly largest-first (sizes 8, 4, 2, 1 into 16), none is split."""
    sizes = [2 ** (s % 4) for s in sizes_in_batches]  # powers of two divide 16: best fit always finds room
    partition = partition_of(sizes, seed)
    batches = pack_largest_first_best_fit(partition, 16, np.random.default_rng(seed))
    stats = packing_statistics(partition, batches)
    if any(s >= 2 for s in sizes):
        assert stats["intact_ratio"] == 1.0
        assert stats["cohesion"] == 1.0
    assert stats["avg_fragment_size"] == pytest.approx(len(partition) / len(sizes))


def test_a_partition_is_split_only_when_no_batch_has_room():
    # sizes 3, 3, 2 into two batches of 4: after the 3s each batch has room 1, so the 2 must be split
    partition = np.repeat([0, 1, 2], [3, 3, 2])
    batches = pack_largest_first_best_fit(partition, 4, np.random.default_rng(0))
    holders = {p: {i for i, b in enumerate(batches) if (partition[b] == p).any()} for p in range(3)}
    assert len(holders[0]) == len(holders[1]) == 1 and holders[0] != holders[1]
    assert len(holders[2]) == 2
    # with a room of 2 left somewhere (sizes 3, 2, 2, 1 into 4s) the 2s stay whole
    partition = np.repeat([0, 1, 2, 3], [3, 2, 2, 1])
    stats = packing_statistics(partition, pack_largest_first_best_fit(partition, 4, np.random.default_rng(0)))
    assert stats["intact_ratio"] == 1.0


def test_oversized_partition_is_cut_into_full_batches():
    partition = np.r_[np.zeros(40, dtype=np.int64), np.arange(1, 9)]  # one of 40 + eight singletons
    batches = pack_largest_first_best_fit(partition, 16, np.random.default_rng(0))
    stats = packing_statistics(partition, batches)
    assert len(batches) == 3 and stats["intact_ratio"] == 0.0
    assert stats["fragments_per_partition"] == 3.0
    assert stats["max_fragment_size"] == 16


def test_best_fit_prefers_the_tightest_batch():
    # sizes 10, 6 → batch 0 gets 10 (room 6 left); the 6 must go there (leftover 0), not into the empty batch 1
    partition = np.repeat([0, 1, 2, 3], [10, 6, 9, 7])
    batches = pack_largest_first_best_fit(partition, 16, np.random.default_rng(0))
    contents = sorted(sorted(np.unique(partition[b]).tolist()) for b in batches)
    assert contents == [[0, 1], [2, 3]]


def test_flatten_and_slice_and_dispatch():
    partition = partition_of([3, 5, 2, 7, 1])
    batches = pack_flatten_and_slice(partition, 4, np.random.default_rng(1))
    np.testing.assert_array_equal(np.sort(np.concatenate(batches)), np.arange(18))
    assert [len(b) for b in batches] == [4, 4, 4, 4, 2]
    flat = np.concatenate(batches)
    runs = 1 + np.count_nonzero(partition[flat][1:] != partition[flat][:-1])
    assert runs == 5  # each partition contiguous in the flattened order
    with pytest.raises(PipelineError, match=r"sampler\.packer='best'"):
        pack("best", partition, 4, np.random.default_rng(0))
    with pytest.raises(PipelineError, match="batch_size"):
        pack("flatten_and_slice", partition, 0, np.random.default_rng(0))


def test_packing_is_seeded():
    partition = partition_of([5, 4, 4, 3, 3, 2, 1, 1, 9, 6])
    one = pack_largest_first_best_fit(partition, 16, np.random.default_rng(42))
    two = pack_largest_first_best_fit(partition, 16, np.random.default_rng(42))
    assert all(np.array_equal(a, b) for a, b in zip(one, two, strict=True))


def test_packed_sampler_epochs():
    partition = partition_of([4] * 20)
    sampler = PackedBatchSampler(partition, batch_size=16, seed=7)
    first = list(sampler)
    sampler.set_epoch(1)
    second = list(sampler)
    assert sorted(map(tuple, first)) == sorted(map(tuple, second))  # same batches …
    assert first != second  # … in a fresh order
    fixed = PackedBatchSampler(partition, batch_size=16, seed=7, reshuffle_each_epoch=False)
    orders = []
    for epoch in range(2):
        fixed.set_epoch(epoch)
        orders.append(list(fixed))
    assert orders[0] == orders[1]  # the original's behaviour
    assert len(PackedBatchSampler(partition_of([4] * 5), batch_size=16, seed=0, drop_last=True)) == 1


def test_random_sampler_reshuffles_each_epoch():
    sampler = RandomBatchSampler(50, batch_size=16, seed=3)
    first = list(sampler)
    assert [len(b) for b in first] == [16, 16, 16, 2]
    assert sorted(i for b in first for i in b) == list(range(50))
    sampler.set_epoch(1)
    assert list(sampler) != first
    assert len(RandomBatchSampler(50, 16, seed=3, drop_last=True)) == 3

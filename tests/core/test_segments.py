"""The shared segment helpers: NumPy and torch give the same answer, positions restart per segment, ties are exact
unless a tolerance is given, and pair ids keep (outer, inner) pairs apart."""

from __future__ import annotations

import hypothesis.strategies as st
import numpy as np
import pytest
import torch
from hypothesis import given, settings

from responserank import segments


@settings(max_examples=60, deadline=None)
@given(
    ids=st.lists(st.integers(-3, 3), min_size=1, max_size=40),
    ranks=st.lists(st.integers(0, 4), min_size=40, max_size=40),
)
def test_numpy_and_torch_agree_and_match_a_plain_definition(ids, ranks):
    segment = np.array(ids)
    rank = np.array(ranks[: len(ids)], dtype=np.float64)
    order = segments.lexsort(segment, rank)
    expected_order = sorted(range(len(ids)), key=lambda i: (ids[i], rank[i], i))
    assert order.tolist() == expected_order
    torch_order = segments.lexsort(torch.as_tensor(segment), torch.as_tensor(rank))
    assert torch_order.tolist() == expected_order

    sorted_segment, sorted_rank = segment[order], rank[order]
    position = segments.position_in_segment(sorted_segment)
    expected_position = [
        sum(1 for j in range(i) if sorted_segment[j] == sorted_segment[i]) for i in range(len(ids))
    ]
    assert position.tolist() == expected_position
    assert segments.position_in_segment(torch.as_tensor(sorted_segment)).tolist() == expected_position

    groups = segments.tie_group_ids(sorted_rank, sorted_segment)
    pairs = list(zip(sorted_segment.tolist(), sorted_rank.tolist(), strict=True))
    assert len(set(groups.tolist())) == len(set(pairs))  # one group per distinct (segment, rank)
    assert all(
        (groups[i] == groups[j]) == (pairs[i] == pairs[j]) for i in range(len(ids)) for j in range(len(ids))
    )
    torch_groups = segments.tie_group_ids(torch.as_tensor(sorted_rank), torch.as_tensor(sorted_segment))
    assert torch_groups.tolist() == groups.tolist()


def test_ties_are_exact_by_default_and_chained_within_a_tolerance():
    rank = np.array([1.7e12, 1.7e12 + 1000.0, 5e-10, 6e-10, 0.1 + 0.2, 0.3])
    segment = np.array([0, 0, 1, 1, 2, 2])
    order = segments.lexsort(segment, rank)
    assert not segments.tied_with_previous(rank[order], segment[order]).any()
    loose = segments.tied_with_previous(rank[order], segment[order], tie_tolerance=1e-9)
    assert loose.tolist() == [False, True, False, True, False, True]
    for bad in (-1e-9, 1.0, float("nan"), "x"):
        with pytest.raises(ValueError, match="tie_tolerance must"):
            segments.tied_with_previous(rank, segment, tie_tolerance=bad)


def test_pair_ids_are_unique_per_pair_and_decodable():
    outer = np.repeat(np.arange(4), 5)
    inner = np.tile(np.arange(5), 4)
    ids = segments.pair_ids(outer, inner)
    assert len(np.unique(ids)) == 20
    assert np.array_equal(ids // 5, outer) and np.array_equal(ids % 5, inner)
    assert (
        segments.pair_ids(torch.as_tensor(outer), torch.as_tensor(inner), 7).tolist()
        == (outer * 7 + inner).tolist()
    )

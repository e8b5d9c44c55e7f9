"""Segment helpers: the index arithmetic behind strata, partitions and tie groups, in one place.

A *segment* is a run of equal ids in an array sorted by id (a stratum, a partition, a tie group). Every function
here is vectorized and takes either NumPy arrays or torch tensors (any device) and returns the same kind, so the
core loss (torch) and the data pipelines (NumPy) share one definition of "position in stratum", "tie group" and
"one id per (model, stratum)". Shapes are ``[N]`` (one entry per comparison) unless stated otherwise.

Ties are **exact** by default: two ranks tie only when they are equal. A ``tie_tolerance`` ``τ > 0`` is for ranks
computed by floating-point arithmetic (means, ratios) where equal values may differ in the last bits: then
``a`` and ``b`` tie when ``|a − b| ≤ τ · max(1, |a|, |b|)`` (``math.isclose`` with ``rel_tol = abs_tol = τ``),
and a tie group is a chain of sorted neighbours that tie.
"""

from __future__ import annotations

from typing import TypeVar

import numpy as np

Array = TypeVar("Array")  # np.ndarray or torch.Tensor; every function returns the kind it was given


def _is_torch(x) -> bool:
    return type(x).__module__.startswith("torch")


def lexsort(*keys):
    """Stable permutation sorting by ``keys[0]``, then ``keys[1]``, … (primary key first, unlike ``np.lexsort``).

    All keys are ``[N]``; ties in every key keep the input order.
    """
    if not keys:
        raise ValueError("lexsort needs at least one key")
    if not _is_torch(keys[0]):
        return np.lexsort(tuple(np.asarray(k) for k in reversed(keys)))
    import torch

    order = torch.sort(keys[-1], stable=True).indices
    for key in reversed(keys[:-1]):  # least significant key first; stable sorts keep the later keys' order
        order = order[torch.sort(key[order], stable=True).indices]
    return order


def segment_starts(sorted_ids: Array) -> Array:
    """``[N]`` bool, True where a new segment begins in ``sorted_ids`` (a run of equal ids starts)."""
    if _is_torch(sorted_ids):
        import torch

        start = torch.ones_like(sorted_ids, dtype=torch.bool)
    else:
        start = np.ones(sorted_ids.shape, dtype=bool)
    start[1:] = sorted_ids[1:] != sorted_ids[:-1]
    return start


def first_of_segment(is_start: Array) -> Array:
    """``[N]`` int64: index of the first element of each element's segment, given the segment-start mask."""
    if _is_torch(is_start):
        import torch

        index = torch.arange(is_start.shape[0], device=is_start.device)
        return torch.cummax(torch.where(is_start, index, 0), 0).values
    index = np.arange(is_start.shape[0])
    return np.maximum.accumulate(np.where(is_start, index, 0))


def position_in_segment(sorted_ids: Array) -> Array:
    """``[N]`` int64: 0-based position of each element inside its run of equal ids (``sorted_ids`` sorted)."""
    first = first_of_segment(segment_starts(sorted_ids))
    if _is_torch(sorted_ids):
        import torch

        return torch.arange(sorted_ids.shape[0], device=sorted_ids.device) - first
    return np.arange(sorted_ids.shape[0]) - first


def tied_with_previous(sorted_rank: Array, sorted_segment: Array, tie_tolerance: float = 0.0) -> Array:
    """``[N]`` bool: True where an element ties the previous one of the same segment (arrays sorted by
    (segment, rank)). Exact equality for ``tie_tolerance = 0`` (the default), else the module's ``τ`` rule."""
    tie_tolerance = check_tie_tolerance(tie_tolerance)
    same = ~segment_starts(sorted_segment)
    a, b = sorted_rank[1:], sorted_rank[:-1]
    if tie_tolerance == 0.0:
        close = a == b
    elif _is_torch(sorted_rank):
        import torch

        scale = torch.clamp(torch.maximum(a.abs(), b.abs()).to(torch.float64), min=1.0)
        close = (a.to(torch.float64) - b.to(torch.float64)).abs() <= tie_tolerance * scale
    else:
        a, b = a.astype(np.float64), b.astype(np.float64)
        close = np.abs(a - b) <= tie_tolerance * np.maximum(1.0, np.maximum(np.abs(a), np.abs(b)))
    same[1:] &= close
    return same


def tie_group_ids(sorted_rank: Array, sorted_segment: Array, tie_tolerance: float = 0.0) -> Array:
    """``[N]`` int64 consecutive tie-group ids ``0, 1, …`` (arrays sorted by (segment, rank)); a group never spans
    two segments."""
    new_group = ~tied_with_previous(sorted_rank, sorted_segment, tie_tolerance)
    if _is_torch(new_group):
        import torch

        return torch.cumsum(new_group.to(torch.int64), 0) - 1
    return np.cumsum(new_group) - 1


def pair_ids(outer: Array, inner: Array, num_inner: int | None = None) -> Array:
    """One id per ``(outer, inner)`` pair, ``outer · K + inner`` with ``K = num_inner`` (default ``max(inner) + 1``).

    Both must be non-negative integers with ``inner < K``; ``id // K`` and ``id % K`` recover the pair. Used to keep
    the strata of different models (or problems, folds …) apart in one flat loss call.
    """
    if num_inner is None:
        num_inner = int(inner.max()) + 1 if inner.shape[0] else 1
    return outer * int(num_inner) + inner


def check_tie_tolerance(tie_tolerance: float) -> float:
    """Return ``tie_tolerance`` as a float, raising ``ValueError`` unless it is a finite number in ``[0, 1)``."""
    try:
        value = float(tie_tolerance)
    except (TypeError, ValueError):
        raise ValueError(f"tie_tolerance must be a number >= 0, got {tie_tolerance!r}") from None
    if not 0.0 <= value < 1.0:
        raise ValueError(f"tie_tolerance must lie in [0, 1) (0 = exact ties), got {tie_tolerance!r}")
    return value

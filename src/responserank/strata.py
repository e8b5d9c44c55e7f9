"""Strata and partitions: which comparisons may have their strength signals compared.

All functions take and return NumPy arrays (one entry per comparison) and are vectorized. Stratum ids are
``int64``; random functions take an explicit ``seed`` (an int or a ``numpy.random.Generator``).

* :func:`stratify` — one stratum per distinct combination of key columns (annotator, session, length bucket …).
* :func:`random_groups` — random fixed-size groups (ignores any structure).
* :func:`round_robin_partition` — split each stratum into tie-free (or fixed-size) sub-partitions spread over
  the rank range, the partitioner of the LLM experiments.

Ties are exact by default (equal values only); ``tie_tolerance`` is for ranks computed by floating-point
arithmetic (see :mod:`responserank.segments`). The index arithmetic (sorting by stratum, positions, tie groups)
lives in :mod:`responserank.segments`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from responserank import segments

SeedLike = int | np.random.Generator | None


def _rng(seed: SeedLike) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        raise ValueError(
            "seed is required (pass an int or a numpy.random.Generator) so that results are reproducible"
        )
    return np.random.default_rng(seed)


def stratify(
    *keys: np.ndarray | pd.Series | list, frame: pd.DataFrame | None = None, columns=None
) -> np.ndarray:
    """Dense stratum ids ``0 … S−1`` for each distinct combination of key values, in order of first appearance.

    Use either positional key arrays (``stratify(annotator, session)``) or a frame and column names
    (``stratify(frame=df, columns=["annotator"])``). Missing values (NaN/None) form their own stratum.
    """
    if frame is not None:
        columns = [columns] if isinstance(columns, str) else list(columns or [])
        if not columns:
            raise ValueError("columns must name at least one column of frame")
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise ValueError(
                f"stratum column(s) {missing} not in the table; available: {list(frame.columns)}"
            )
        keys = tuple(frame[c] for c in columns)
    if not keys:
        raise ValueError("stratify needs at least one key array")
    lengths = {len(k) for k in keys}
    if len(lengths) != 1:
        raise ValueError(f"stratum key arrays differ in length: {sorted(lengths)}")
    table = pd.DataFrame({i: pd.Series(np.asarray(k, dtype=object)) for i, k in enumerate(keys)})
    ids = table.groupby(list(table.columns), sort=False, dropna=False).ngroup()
    return ids.to_numpy(dtype=np.int64)


def random_groups(num_comparisons: int, group_size: int, seed: SeedLike) -> np.ndarray:
    """Assign ``num_comparisons`` comparisons to random groups of ``group_size`` (the last group may be smaller).

    Returns ids ``0 … ceil(N / group_size) − 1``; group ``g`` holds the comparisons at positions
    ``g·k … g·k + k − 1`` of a random permutation drawn from ``seed``.
    """
    if num_comparisons < 0:
        raise ValueError(f"num_comparisons must be >= 0, got {num_comparisons}")
    if int(group_size) != group_size or group_size < 1:
        raise ValueError(f"group_size must be a positive integer, got {group_size}")
    permutation = _rng(seed).permutation(num_comparisons)
    ids = np.empty(num_comparisons, dtype=np.int64)
    ids[permutation] = np.arange(num_comparisons) // int(group_size)
    return ids


def tie_groups(
    rank: np.ndarray, stratum: np.ndarray, tie_tolerance: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Sort by (stratum, rank) and label runs of tied ranks.

    Returns ``(order, group)``: the stable sort permutation and, for each sorted position, a tie-group id
    (consecutive integers). Ranks of one stratum tie when equal, or, with ``tie_tolerance`` ``τ > 0``, when
    ``|a − b| ≤ τ · max(1, |a|, |b|)`` for sorted neighbours (a chain forms one group).
    """
    order = segments.lexsort(stratum, rank)
    return order, segments.tie_group_ids(rank[order], stratum[order], tie_tolerance)


def round_robin_partition(
    rank: np.ndarray, stratum: np.ndarray, target_size: int | str = "auto", tie_tolerance: float = 0.0
) -> np.ndarray:
    """Deal each stratum's comparisons, sorted by rank, round-robin into ``P`` sub-partitions.

    For a stratum of ``n ≥ 2`` comparisons, ``P`` is the size of its largest tie group for ``"auto"`` (or −1),
    so no sub-partition contains tied ranks, else ``ceil(n / target_size)``. The k-th comparison in rank order
    (stable) goes to sub-partition ``k mod P``; every sub-partition thus spans the whole rank range.
    Sub-partition 0 keeps the stratum id; the others get fresh ids above the largest existing id, in order of
    (stratum id, sub-partition). Comparisons with a NaN rank (no signal) keep their stratum id. Deterministic.

    Args:
        rank: shape ``[N]`` float, lower = stronger, NaN for "no signal".
        stratum: shape ``[N]`` integer stratum ids.
        target_size: ``"auto"`` / −1, or a positive integer.
        tie_tolerance: 0 = ranks tie only when equal (default); ``τ > 0`` for ranks computed by arithmetic
            (see :func:`tie_groups`).

    Returns:
        ``[N]`` int64 partition ids.
    """
    rank = np.asarray(rank, dtype=np.float64)
    stratum = np.asarray(stratum)
    if rank.shape != stratum.shape or rank.ndim != 1:
        raise ValueError(
            f"rank and stratum must be 1-D of equal length, got {rank.shape} and {stratum.shape}"
        )
    if not np.issubdtype(stratum.dtype, np.integer):
        raise ValueError(f"stratum must hold integer ids, got dtype {stratum.dtype}")
    auto = target_size in ("auto", -1)
    if not auto and (isinstance(target_size, str) or int(target_size) != target_size or target_size < 1):
        raise ValueError(f"target_size must be 'auto' (or -1) or an integer >= 1, got {target_size!r}")
    stratum = stratum.astype(np.int64)
    result = stratum.copy()
    has_rank = ~np.isnan(rank)
    if not has_rank.any():
        return result

    ranked_index = np.flatnonzero(has_rank)
    order, group = tie_groups(rank[ranked_index], stratum[ranked_index], tie_tolerance)
    sorted_stratum = stratum[ranked_index][order]
    strata, stratum_pos, sizes = np.unique(sorted_stratum, return_inverse=True, return_counts=True)
    position = segments.position_in_segment(sorted_stratum)

    if auto:
        group_sizes = np.bincount(group)
        largest_tie = np.zeros(len(strata), dtype=np.int64)
        np.maximum.at(largest_tie, stratum_pos, group_sizes[group])
        num_parts = largest_tie
    else:
        num_parts = -(-sizes // int(target_size))
    num_parts = np.where(sizes > 1, num_parts, 1)
    sub = position % num_parts[stratum_pos]

    # Fresh ids: stratum j's sub-partitions 1..P_j−1 get consecutive ids after all earlier strata's extras.
    extra_offset = np.cumsum(num_parts - 1) - (num_parts - 1)
    next_id = int(stratum.max()) + 1
    fresh = next_id + extra_offset[stratum_pos] + sub - 1
    sorted_ids = np.where(sub == 0, sorted_stratum, fresh)
    result[ranked_index[order]] = sorted_ids
    return result


def partition_sizes(partition: np.ndarray) -> np.ndarray:
    """Sizes of the partitions (one entry per distinct id, ascending id order)."""
    return np.unique(np.asarray(partition), return_counts=True)[1]

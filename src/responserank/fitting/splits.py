"""Held-out splits: repeated stratified K-fold, and nested training subsamples for learning curves.

Splits are boolean masks over the ``N`` comparisons, one row per fit (``[B, N]``). Everything is vectorized over
comparisons; only the (few) repeats and folds are looped over.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from responserank import segments
from responserank.errors import FitError
from responserank.fitting.table import plain


@dataclass(frozen=True)
class Splits:
    """``B`` train / held-out splits of ``N`` comparisons.

    Attributes:
        train, heldout: ``[B, N]`` bool masks (disjoint).
        repeat, fold: ``[B]`` int ids of the repetition and of the held-out fold.
        fraction: ``[B]`` share of the fold's training comparisons used (per stratum, rounded up).
    """

    train: np.ndarray
    heldout: np.ndarray
    repeat: np.ndarray
    fold: np.ndarray
    fraction: np.ndarray

    def select(self, rows: np.ndarray) -> Splits:
        return Splits(
            *(getattr(self, name)[rows] for name in ("train", "heldout", "repeat", "fold", "fraction"))
        )


def position_in_stratum(stratum: np.ndarray, key: np.ndarray, member: np.ndarray | None = None):
    """Position ``0, 1, …`` of each comparison inside its stratum when sorted by ``key`` (ascending).

    Only comparisons with ``member`` True are counted (others get position −1). Returns ``(position, size)``
    where ``size`` is the number of members in the comparison's stratum. Shapes ``[N]``.
    """
    n = stratum.shape[0]
    member = np.ones(n, dtype=bool) if member is None else member
    group = np.where(member, stratum, -1)
    order = segments.lexsort(group, key)
    sizes = np.bincount(group[member], minlength=int(stratum.max()) + 1 if n else 0)
    position = np.empty(n, dtype=np.int64)
    position[order] = segments.position_in_segment(group[order])
    position = np.where(member, position, -1)
    return position, np.where(member, sizes[np.maximum(stratum, 0)], 0)


def kfold_splits(
    stratum: np.ndarray,
    folds: int,
    repeats: int,
    fractions: Sequence[float],
    seed: np.random.SeedSequence | int,
) -> Splits:
    """Repeated K-fold splits, stratified by ``stratum``, each with nested training subsamples.

    For each repeat, the comparisons of every stratum are shuffled and dealt into the ``folds`` folds in turn,
    starting at a random fold, so each stratum is spread evenly over the folds. Fold ``k`` is held out and the
    others train. For a training fraction ``f`` the first ``ceil(f · n_s)`` training comparisons of each
    stratum (``n_s`` of them) in a second random order are kept; the subsamples are nested (smaller fractions
    are subsets of larger ones) so learning curves are smooth, and the held-out fold is the same for every
    fraction. Rows are ordered fraction-major, then repeat, then fold.
    """
    n = stratum.shape[0]
    if int(folds) != folds or folds < 2:
        raise FitError(f"folds must be an integer >= 2, got {plain(folds)!r}")
    if int(repeats) != repeats or repeats < 1:
        raise FitError(f"repeats must be an integer >= 1, got {plain(repeats)!r}")
    if n < folds:
        raise FitError(f"{n} comparisons cannot be split into {folds} folds")
    fractions = np.asarray(fractions, dtype=np.float64)
    if fractions.size == 0 or np.any((fractions <= 0) | (fractions > 1)):
        raise FitError(f"training fractions must lie in (0, 1], got {fractions.tolist()}")
    rng = np.random.default_rng(seed)
    num_strata = int(stratum.max()) + 1
    fold_rows, subsample_keys = [], []
    for _ in range(int(repeats)):
        position, _ = position_in_stratum(stratum, rng.random(n))
        offset = rng.integers(folds, size=num_strata)
        fold_rows.append((position + offset[stratum]) % folds)
        subsample_keys.append(rng.random(n))

    train, heldout, rep, fold_id, frac = [], [], [], [], []
    for fraction in fractions:
        for r, (fold_of, key) in enumerate(zip(fold_rows, subsample_keys, strict=True)):
            for k in range(int(folds)):
                training = fold_of != k
                position, size = position_in_stratum(stratum, key, training)
                train.append(training & (position < np.ceil(fraction * size - 1e-9)))
                heldout.append(~training)
                rep.append(r)
                fold_id.append(k)
                frac.append(fraction)
    return Splits(
        np.array(train), np.array(heldout), np.array(rep), np.array(fold_id), np.array(frac, dtype=np.float64)
    )

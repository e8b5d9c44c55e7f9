"""Held-out scores of fitted utilities, their uncertainty across folds, and paired method comparisons.

* **Held-out choice accuracy** — :func:`responserank.metrics.choice_accuracy` on the held-out comparisons.
* **Held-out log-likelihood** — :func:`responserank.metrics.bradley_terry_log_likelihood`: the mean of
  ``log σ(±Δu)`` of the observed choices (nats per comparison; 0 is perfect, ``log ½ ≈ −0.693`` is chance). The
  same formula scores every method: ResponseRank utilities are on the BT scale because the anchor (a virtual
  comparison with ``Δu = 0`` ranked last) makes the likelihood of a lone comparison exactly ``σ(Δu)``; margin-BT
  utilities are read as BT utilities without the margin; RT-regression utilities are read through ``σ(Δu)`` too,
  although their scale is set by the assumed RT link rather than by choice probabilities (so their
  log-likelihood also measures whether that link's scale happens to fit).
* **Standard error of a utility** (``utility_sd``) — the delete-a-group jackknife over the ``K`` folds: with
  ``û_k`` the utility fitted without fold ``k`` and ``ū`` their mean, ``SE² = (K−1)/K · Σ_k (û_k − ū)²``,
  averaged over repeats. It estimates the sampling SD of the full-data utility (not the much smaller spread
  between fold fits, which share ``(K−2)/(K−1)`` of their data).
* **Paired comparison** of a method against BT over the ``J = R·K`` splits: the per-split difference of a score.
  Because training sets of different folds overlap, the per-split differences are correlated and a plain paired
  t-test is over-confident; the p-value and CI use the corrected resampled t-test (Nadeau & Bengio, 2003):
  variance ``(1/J + n_heldout/n_train) · s²`` with ``J − 1`` degrees of freedom (``scipy.stats.t``). The Wilcoxon
  signed-rank p-value (``scipy.stats.wilcoxon``, uncorrected) is given as a distribution-free cross-check.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import scipy.stats

from responserank.metrics import bradley_terry_log_likelihood, choice_accuracy


def heldout_scores(
    utility: np.ndarray, item_a: np.ndarray, item_b: np.ndarray, first_chosen: np.ndarray, heldout: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Accuracy and mean log-likelihood of each fit (row of ``utility`` ``[B, I]``) on its held-out mask ``[B, N]``.

    Returns two ``[B]`` arrays (NaN where a fit has no held-out comparison).
    """
    accuracy = np.full(utility.shape[0], np.nan)
    log_likelihood = np.full(utility.shape[0], np.nan)
    for b in range(utility.shape[0]):  # a loop over fits; each call is vectorized over comparisons
        mask = heldout[b]
        if not mask.any():
            continue
        ua, ub, y = utility[b, item_a[mask]], utility[b, item_b[mask]], first_chosen[mask]
        accuracy[b] = choice_accuracy(ua, ub, y)
        log_likelihood[b] = bradley_terry_log_likelihood(ua, ub, y)
    return accuracy, log_likelihood


def unseen_share(
    item_a: np.ndarray, item_b: np.ndarray, train: np.ndarray, heldout: np.ndarray, num_items: int
) -> np.ndarray:
    """Share of each fit's held-out comparisons with an item absent from its training comparisons, ``[B]``."""
    seen = np.zeros((train.shape[0], num_items), dtype=bool)
    rows, cols = np.nonzero(train)
    seen[rows, item_a[cols]] = True
    seen[rows, item_b[cols]] = True
    unseen = ~(seen[:, item_a] & seen[:, item_b])  # [B, N]
    count = heldout.sum(axis=1)
    with np.errstate(invalid="ignore"):
        return np.where(count > 0, (unseen & heldout).sum(axis=1) / np.maximum(count, 1), np.nan)


def jackknife_se(utility: np.ndarray, repeat: np.ndarray) -> np.ndarray:
    """Grouped-jackknife standard error per item from fold fits ``[R·K, I]`` (``repeat``: ``[R·K]`` ids)."""
    variances = []
    for r in np.unique(repeat):
        fits = utility[repeat == r]
        k = fits.shape[0]
        variances.append((k - 1) / k * ((fits - fits.mean(axis=0)) ** 2).sum(axis=0))
    return np.sqrt(np.mean(variances, axis=0))


def corrected_paired_test(differences: np.ndarray, heldout_share: float) -> dict[str, float]:
    """Nadeau–Bengio corrected resampled t-test of mean(differences) = 0, plus Wilcoxon signed-rank.

    Args:
        differences: ``[J]`` per-split score differences (method − baseline).
        heldout_share: ``n_heldout / n_train`` of one split (e.g. ``1 / (K − 1)`` for K-fold).

    Returns:
        ``mean_difference``, ``ci95_low``, ``ci95_high``, ``t``, ``p_value`` (two-sided, corrected),
        ``p_wilcoxon`` and ``n_splits``.
    """
    d = np.asarray(differences, dtype=np.float64)
    d = d[~np.isnan(d)]
    j = d.size
    result = dict.fromkeys(
        ("mean_difference", "ci95_low", "ci95_high", "t", "p_value", "p_wilcoxon"), math.nan
    )
    result["n_splits"] = j
    if j == 0:
        return result
    mean = float(d.mean())
    result["mean_difference"] = mean
    if j < 2:
        return result
    se = math.sqrt((1.0 / j + heldout_share) * float(d.var(ddof=1)))
    half = float(scipy.stats.t.ppf(0.975, j - 1)) * se
    result.update(ci95_low=mean - half, ci95_high=mean + half)
    if se > 0:
        t = mean / se
        result.update(t=t, p_value=float(2 * scipy.stats.t.sf(abs(t), j - 1)))
    if np.any(d != 0):
        result["p_wilcoxon"] = float(scipy.stats.wilcoxon(d).pvalue)
    return result


def paired_comparisons(fold_metrics: pd.DataFrame, baseline: str = "bt", heldout_share: float = 0.25):
    """One row per (method ≠ baseline, metric): :func:`corrected_paired_test` of the per-split differences.

    ``fold_metrics`` has one row per (method, repeat, fold) with ``heldout_accuracy`` and
    ``heldout_log_likelihood``.
    """
    rows = []
    wide = fold_metrics.pivot_table(
        index=["repeat", "fold"], columns="method", values=["heldout_accuracy", "heldout_log_likelihood"]
    )
    methods = [m for m in fold_metrics["method"].unique() if m != baseline]
    for method in methods:
        for metric in ("heldout_accuracy", "heldout_log_likelihood"):
            differences = (wide[metric][method] - wide[metric][baseline]).to_numpy()
            rows.append(
                {"method": method, "baseline": baseline, "metric": metric}
                | corrected_paired_test(differences, heldout_share)
            )
    return pd.DataFrame(rows)

"""Evaluation metrics for utility models learned from pairwise comparisons.

Conventions: arrays hold one entry per comparison along the **last axis**; leading axes are batch axes (e.g. many
models evaluated on the same test pairs), so ``u_pred_first`` may have shape ``[models, N]`` while the labels have
shape ``[N]``. Inputs may be NumPy arrays or torch tensors; results are NumPy float64 (a Python-float-like 0-d
array for unbatched input). ``first_chosen`` is 1 when the first option was chosen, 0 otherwise.
"""

from __future__ import annotations

import numpy as np
import scipy.stats
from scipy.special import expit, log_expit


def _as_array(x) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=np.float64)


def _scalar(result: np.ndarray):
    return float(result) if np.ndim(result) == 0 else result


def _check_last_axis(**arrays: np.ndarray) -> None:
    lengths = {name: a.shape[-1] if a.ndim else None for name, a in arrays.items()}
    if None in lengths.values():
        raise ValueError(
            f"inputs need at least one axis (one entry per comparison); got shapes { {k: v.shape for k, v in arrays.items()} }"
        )
    if len(set(lengths.values())) != 1:
        raise ValueError(f"inputs differ in the number of comparisons (last axis): {lengths}")
    if next(iter(lengths.values())) == 0:
        raise ValueError("metrics need at least one comparison")


def predicted_first_choice(u_pred_first, u_pred_second) -> np.ndarray:
    """1 if the model prefers the first option, 0 if the second, 0.5 on an exact tie."""
    u1, u2 = _as_array(u_pred_first), _as_array(u_pred_second)
    return np.where(u1 > u2, 1.0, np.where(u1 < u2, 0.0, 0.5))


def choice_accuracy(u_pred_first, u_pred_second, first_chosen):
    """Share of observed choices the model predicts: ``mean(1 − |ŷ − y|)``; an exact utility tie earns half credit."""
    u1, u2, y = _as_array(u_pred_first), _as_array(u_pred_second), _as_array(first_chosen)
    _check_last_axis(u_pred_first=u1, u_pred_second=u2, first_chosen=y)
    return _scalar(np.mean(1.0 - np.abs(predicted_first_choice(u1, u2) - y), axis=-1))


def true_preference_accuracy(u_pred_first, u_pred_second, u_true_first, u_true_second):
    """Accuracy against the noise-free preference ``1[u_true_first > u_true_second]`` (ties: 0.5 on either side)."""
    truth = predicted_first_choice(u_true_first, u_true_second)
    return choice_accuracy(u_pred_first, u_pred_second, truth)


def label_agreement(u_true_first, u_true_second, first_chosen):
    """How often the observed choice agrees with the true preference (the ceiling of :func:`choice_accuracy`)."""
    return choice_accuracy(u_true_first, u_true_second, first_chosen)


def _pearson_last_axis(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = np.broadcast_arrays(a, b)
    a = a - a.mean(axis=-1, keepdims=True)
    b = b - b.mean(axis=-1, keepdims=True)
    denominator = np.sqrt((a * a).sum(axis=-1) * (b * b).sum(axis=-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(
            denominator > 0, (a * b).sum(axis=-1) / np.where(denominator > 0, denominator, 1.0), np.nan
        )


def pearson_distance_correlation(delta_true, delta_pred):
    """Pearson correlation of ``|Δu_true|`` and ``|Δu_pred|`` (PDC): does the model know *how strong* each preference is?

    Direction-blind and scale-free; higher is better. NaN when either side is constant (reported, not hidden).
    """
    t, p = _as_array(delta_true), _as_array(delta_pred)
    _check_last_axis(delta_true=t, delta_pred=p)
    return _scalar(_pearson_last_axis(np.abs(t), np.abs(p)))


def utility_correlation(u_true, u_pred, method: str = "pearson"):
    """Pearson or Spearman correlation between true and predicted utilities (along the last axis)."""
    t, p = _as_array(u_true), _as_array(u_pred)
    _check_last_axis(u_true=t, u_pred=p)
    if method == "spearman":
        t = scipy.stats.rankdata(t, axis=-1)
        p = scipy.stats.rankdata(p, axis=-1)
    elif method != "pearson":
        raise ValueError(f"method={method!r} is not valid; expected 'pearson' or 'spearman'")
    return _scalar(_pearson_last_axis(t, p))


def strength_kendall_tau(rank, delta_true) -> float:
    """Kendall τ-b between the strength signal (``−rank``, lower rank = stronger) and ``|Δu_true|``.

    Measures how informative the signal is: 1 when faster / stronger responses always mean larger utility gaps.
    """
    r, t = _as_array(rank), _as_array(delta_true)
    _check_last_axis(rank=r, delta_true=t)
    if r.ndim != 1 or t.ndim != 1:
        raise ValueError("strength_kendall_tau takes 1-D inputs")
    return float(scipy.stats.kendalltau(-r, np.abs(t)).statistic)


def confusion_matrix(true_first_better, first_chosen) -> np.ndarray:
    """2×2 counts: row = ``1[u_true_first > u_true_second]``, column = observed ``first_chosen`` (index 1 = first)."""
    truth = np.asarray(true_first_better).astype(np.int64)
    chosen = np.asarray(first_chosen).astype(np.int64)
    _check_last_axis(true_first_better=truth, first_chosen=chosen)
    return np.bincount(2 * truth + chosen, minlength=4).reshape(2, 2)


def plackett_luce_log_likelihood(scores, true_strength) -> float:
    """Log-likelihood of the order by descending ``true_strength`` under Plackett–Luce with worths ``exp(scores)``.

    ``Σ_k [s_(k) − log Σ_{j≥k} exp(s_(j))]`` with items sorted by descending true strength; no anchor. Computed in
    log space (reverse log-cum-sum-exp). Shapes ``[..., N]``; returns one value per leading index.
    """
    s, key = _as_array(scores), _as_array(true_strength)
    _check_last_axis(scores=s, true_strength=key)
    s, key = np.broadcast_arrays(s, key)
    order = np.argsort(-key, axis=-1, kind="stable")
    ordered = np.take_along_axis(s, order, axis=-1)
    reverse_lse = np.logaddexp.accumulate(ordered[..., ::-1], axis=-1)[..., ::-1]
    return _scalar((ordered - reverse_lse).sum(axis=-1))


def expected_calibration_error(prob_first, first_chosen, num_bins: int = 10):
    """ECE of predicted ``P(first chosen)`` against observed choices: ``Σ_b (n_b/n)·|mean(y_b) − mean(p_b)|``.

    Bins are ``[b/num_bins, (b+1)/num_bins)`` (the last one closed).
    """
    p, y = _as_array(prob_first), _as_array(first_chosen)
    _check_last_axis(prob_first=p, first_chosen=y)
    p, y = np.broadcast_arrays(p, y)
    bins = np.clip((p * num_bins).astype(np.int64), 0, num_bins - 1)
    one_hot = bins[..., None] == np.arange(num_bins)
    with np.errstate(invalid="ignore"):
        gap = np.abs((one_hot * y[..., None]).sum(axis=-2) - (one_hot * p[..., None]).sum(axis=-2))
    return _scalar(gap.sum(axis=-1) / p.shape[-1])


def true_calibration_error(delta_true, delta_pred):
    """Mean squared difference between the true and predicted choice probabilities ``σ(Δu_true)``, ``σ(Δu_pred)``."""
    t, p = _as_array(delta_true), _as_array(delta_pred)
    _check_last_axis(delta_true=t, delta_pred=p)
    return _scalar(np.mean((expit(t) - expit(p)) ** 2, axis=-1))


def bradley_terry_log_likelihood(u_pred_first, u_pred_second, first_chosen):
    """Mean log-likelihood ``mean(y·log σ(Δ) + (1−y)·log σ(−Δ))`` of the observed choices, Δ = û_first − û_second."""
    u1, u2, y = _as_array(u_pred_first), _as_array(u_pred_second), _as_array(first_chosen)
    _check_last_axis(u_pred_first=u1, u_pred_second=u2, first_chosen=y)
    delta = u1 - u2
    return _scalar(np.mean(y * log_expit(delta) + (1.0 - y) * log_expit(-delta), axis=-1))

"""Choices and response times together: the drift-diffusion model (DDM) as a loss, and two closed-form baselines.

Model and units (used by every function here):

* A decision is a Wiener process with drift ``v`` and **diffusion coefficient σ = 1** started **half-way**
  (``z = a/2``) between two absorbing boundaries ``0`` and ``a > 0`` (``boundary``). Hitting the upper boundary
  means the *first* option was chosen. Time is in **seconds**; ``v`` is in boundary units per second.
* The drift of a comparison is ``v = drift_scale · (u_first − u_second)``; the observed response time is
  ``t = t0 + decision time`` with a non-decision time ``t0 ≥ 0`` (``non_decision_time``, seconds).
* Any other σ is the same model with ``a/σ`` and ``v/σ``. Choice probability and mean decision time::

      P(first chosen) = σ_logistic(v·a) = 1 / (1 + exp(−v·a))
      E[decision time] = a/(2v) · tanh(v·a/2)          (a²/4 at v = 0)

  so on the Bradley–Terry scale the DDM's utility difference is ``a · drift_scale · (u_first − u_second)``.

Density (Navarro & Fuss, 2009). With ``w = z/a = 1/2`` and ``d = ±v`` the drift towards the chosen boundary::

    log f(t) = −2·log a + d·a/2 − d²·t/2 + log f₁(t/a²),      t = response time − t0

where ``f₁(u)`` is the density of the standard process (``v = 0``, ``a = 1``, ``w = 1/2``) at normalised time
``u``. Two series give ``f₁`` (both symmetric in the boundary because ``w = 1/2``, so only odd terms remain)::

    small time:  f₁(u) = (2π u³)^(−1/2) · Σ_{j≥0} (−1)^j (2j+1)/2 · exp(−(2j+1)²/(8u))
    large time:  f₁(u) = π · Σ_{j≥0} (−1)^j (2j+1) · exp(−(2j+1)² π² u / 2)

Factoring out the ``j = 0`` term leaves ``1 + Σ_{j≥1} (−1)^j (2j+1) e^{−j(j+1)c}`` with ``c = 1/(2u)`` (small
time) or ``c = 2π²u`` (large time). The small-time series is used for ``u < u* = 1/(2π)`` and the large-time
series above, so ``c ≥ π`` on both sides. There the terms alternate in sign and shrink (ratio of consecutive
magnitudes ≤ 3·e^{−2π} < 0.006), so by the alternating-series bound the truncation error is at most the first
omitted term. **Error bound:** with :data:`SERIES_TERMS` = 4 terms (``j = 0 … 3``) the relative error of ``f₁``
— hence the absolute error of ``log f`` — is at most ``9·e^{−20π} < 1e−26`` for every ``u > 0``, far below
float64 rounding. This is the number of terms that the bounds of Navarro & Fuss (2009) and Gondan, Blurton &
Kesselmeier (2014) pick for ``w = 1/2`` at ``ε ≈ 1e−16`` at the switch point (their counts are largest there),
and since both counts only shrink away from ``u*`` a fixed count is both safe and branch-free. Everything is
computed in log space (``log1p`` of the bracket, which stays within ``[0.994, 1]``), so the loss is finite for
extreme drifts (``|v|`` of 1e4) and for response times just above ``t0`` (``−log f → +∞`` only as ``t → t0``).

Baselines (closed form, no optimisation):

* :func:`ez_diffusion`: EZ-diffusion (Wagenmakers, van der Maas & Grasman, 2007) — ``(v, a, t0)`` of one
  condition from the proportion correct, the variance and the mean of the correct RTs; vectorised over strata.
* :func:`choice_time_ratio_estimate`: the choice/decision-time estimator for linear utilities of Li, Zhang, Ren,
  Liang, Li & Shah (NeurIPS 2024): since ``E[c]/E[t_dec] = 2v/a`` for ``c = ±1``, ordinary least squares of
  ``c / t_dec`` on the feature difference estimates ``(2/a) · θ``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from responserank._validation import check_1d_tensors, check_choice, check_finite, check_integer, check_labels

Reduction = Literal["mean", "sum", "none"]
_REDUCTIONS = ("mean", "sum", "none")

#: Terms ``j = 0 … SERIES_TERMS − 1`` of either series (error bound in the module docstring).
SERIES_TERMS = 4
#: Normalised time ``u = t/a²`` at which the small-time series hands over to the large-time series.
SWITCH_TIME = 1.0 / (2.0 * math.pi)


# --------------------------------------------------------------------------------------------------------------
# The Wiener first-passage-time density
# --------------------------------------------------------------------------------------------------------------


def _log_alternating_bracket(c: torch.Tensor) -> torch.Tensor:
    """``log(1 + Σ_{j=1}^{3} (−1)^j (2j+1) exp(−j(j+1)·c))`` for ``c ≥ π`` (the bracket lies in [0.994, 1])."""
    total = torch.zeros_like(c)
    for j in range(1, SERIES_TERMS):  # three fixed terms, not a loop over data
        total = total + (-1) ** j * (2 * j + 1) * torch.exp(-j * (j + 1) * c)
    return torch.log1p(total)


def log_standard_wiener_density(u: torch.Tensor) -> torch.Tensor:
    """``log f₁(u)``: log first-passage density of the standard process (v = 0, a = 1, σ = 1, start 1/2).

    Args:
        u: normalised decision times ``t/a² > 0``, any shape.

    Returns:
        Same shape; absolute error below 1e−26 plus rounding (see the module docstring).
    """
    small = u < SWITCH_TIME
    # Each branch sees a safe argument where it is not used, so neither value nor gradient turns NaN there.
    u_small = torch.where(small, u, torch.full_like(u, SWITCH_TIME))
    u_large = torch.where(small, torch.full_like(u, SWITCH_TIME), u)
    log_small = (
        -0.5 * math.log(2.0 * math.pi)
        - 1.5 * torch.log(u_small)
        + math.log(0.5)
        - 1.0 / (8.0 * u_small)
        + _log_alternating_bracket(0.5 / u_small)
    )
    log_large = (
        math.log(math.pi)
        - (math.pi**2 / 2.0) * u_large
        + _log_alternating_bracket((2.0 * math.pi**2) * u_large)
    )
    return torch.where(small, log_small, log_large)


def wiener_log_density(
    chosen_drift: torch.Tensor, decision_time: torch.Tensor, boundary: torch.Tensor | float
) -> torch.Tensor:
    """Log density of "the chosen boundary is hit at ``decision_time``", unbiased start, σ = 1.

    Args:
        chosen_drift: drift towards the chosen boundary (``+v`` if the first/upper option was chosen, else
            ``−v``), boundary units per second.
        decision_time: seconds, ``> 0`` (response time minus non-decision time).
        boundary: boundary separation ``a > 0``; broadcasts against the other arguments.

    Returns:
        ``log f`` in log(1/second), the broadcast shape. Integrates to 1 over time and both boundaries.
    """
    boundary = torch.as_tensor(boundary, dtype=decision_time.dtype, device=decision_time.device)
    return (
        -2.0 * torch.log(boundary)
        + 0.5 * chosen_drift * boundary
        - 0.5 * chosen_drift.square() * decision_time
        + log_standard_wiener_density(decision_time / boundary.square())
    )


def choice_probability(drift: torch.Tensor, boundary: torch.Tensor | float) -> torch.Tensor:
    """``P(first chosen) = 1 / (1 + exp(−v·a))`` for drift ``v`` towards the first option (unbiased start)."""
    return torch.sigmoid(drift * boundary)


def mean_decision_time(drift: torch.Tensor, boundary: torch.Tensor | float) -> torch.Tensor:
    """``E[decision time] = a/(2v)·tanh(v·a/2)`` (``a²/4`` at ``v = 0``), seconds."""
    boundary = torch.as_tensor(boundary, dtype=drift.dtype, device=drift.device)
    small = drift.abs() < 1e-8
    safe = torch.where(small, torch.ones_like(drift), drift)
    value = boundary / (2.0 * safe) * torch.tanh(safe * boundary / 2.0)
    return torch.where(small, boundary.square() / 4.0 + torch.zeros_like(drift), value)


# --------------------------------------------------------------------------------------------------------------
# The loss
# --------------------------------------------------------------------------------------------------------------


def _parameter(
    name: str,
    value: torch.Tensor | float,
    stratum: torch.Tensor | None,
    n: int,
    dtype: torch.dtype,
    device: torch.device,
) -> torch.Tensor:
    """A scalar (broadcast to ``[N]``) or a per-stratum ``[S]`` tensor gathered at ``stratum`` (``[N]``)."""
    tensor = torch.as_tensor(value, device=device)
    if not tensor.is_floating_point():
        tensor = tensor.to(dtype)
    if tensor.ndim == 0:
        check_finite(name, tensor.reshape(1))
        return tensor.to(dtype).expand(n)
    if tensor.ndim != 1:
        raise ValueError(
            f"{name} must be a scalar or a 1-D per-stratum tensor, got shape {tuple(tensor.shape)}"
        )
    if stratum is None:
        raise ValueError(
            f"{name} has one value per stratum (shape {tuple(tensor.shape)}) but stratum is None"
        )
    check_finite(name, tensor)
    if int(stratum.max()) >= tensor.shape[0]:
        raise ValueError(
            f"stratum id {int(stratum.max())} has no entry in {name} (shape {tuple(tensor.shape)}); "
            "per-stratum parameters are indexed by stratum ids 0 … S−1"
        )
    return tensor.to(dtype)[stratum]


def ddm_loss(
    u_first: torch.Tensor,
    u_second: torch.Tensor,
    first_chosen: torch.Tensor,
    response_time: torch.Tensor,
    *,
    boundary: torch.Tensor | float,
    non_decision_time: torch.Tensor | float,
    drift_scale: torch.Tensor | float = 1.0,
    stratum: torch.Tensor | None = None,
    reduction: Reduction = "mean",
) -> torch.Tensor:
    """Negative log Wiener first-passage-time density of each (choice, response time) pair.

    Drift ``v = drift_scale · (u_first − u_second)`` towards the first option's boundary, boundary separation
    ``a = boundary``, start ``a/2``, σ = 1, decision time ``response_time − non_decision_time`` (seconds). See
    the module docstring for the series and their error bound.

    Args:
        u_first, u_second: utilities, shape ``[N]``.
        first_chosen: shape ``[N]``, hard labels (bool or 0/1): 1 if the first option was chosen.
        response_time: shape ``[N]``, seconds, each strictly above its non-decision time.
        boundary: ``a > 0``; a scalar or a per-stratum tensor ``[S]`` (indexed by ``stratum``).
        non_decision_time: ``t0 ≥ 0`` seconds; scalar or ``[S]``; must lie below the fastest response time of
            its stratum.
        drift_scale: ``k > 0`` (utility units → drift); scalar or ``[S]``.
        stratum: shape ``[N]``, integer ids ``0 … S−1``; needed only for per-stratum parameters.
        reduction: ``"mean"`` (default), ``"sum"`` or ``"none"`` (shape ``[N]``).

    Returns:
        The loss in nats (the density is per second), differentiable in the utilities and all three parameters.

    Raises:
        ValueError naming the argument: non-finite values, soft labels, ``boundary ≤ 0``,
        ``drift_scale ≤ 0``, ``non_decision_time < 0``, a response time ``≤`` its non-decision time.
    """
    check_choice("reduction", reduction, _REDUCTIONS)
    tensors = {
        "u_first": u_first,
        "u_second": u_second,
        "first_chosen": first_chosen,
        "response_time": response_time,
    }
    if stratum is not None:
        tensors["stratum"] = stratum
    n = check_1d_tensors(**tensors)
    for name in ("u_first", "u_second", "response_time"):
        check_finite(name, tensors[name])
    check_labels("first_chosen", first_chosen)
    if first_chosen.is_floating_point() and bool(((first_chosen != 0) & (first_chosen != 1)).any()):
        raise ValueError("first_chosen must hold hard 0/1 labels for ddm_loss")
    if stratum is not None:
        check_integer("stratum", stratum)
        if bool((stratum < 0).any()):
            raise ValueError(f"stratum ids must be >= 0, got {int(stratum.min())}")

    diff = u_first - u_second
    dtype = diff.dtype if diff.dtype in (torch.float32, torch.float64) else torch.float32
    diff = diff.to(dtype)
    args = (stratum, n, dtype, diff.device)
    a = _parameter("boundary", boundary, *args)
    t0 = _parameter("non_decision_time", non_decision_time, *args)
    k = _parameter("drift_scale", drift_scale, *args)
    if bool((a <= 0).any()):
        raise ValueError(f"boundary must be > 0, got {float(a.min())}")
    if bool((k <= 0).any()):
        raise ValueError(f"drift_scale must be > 0, got {float(k.min())}")
    if bool((t0 < 0).any()):
        raise ValueError(f"non_decision_time must be >= 0, got {float(t0.min())}")
    decision_time = response_time.to(dtype) - t0
    too_fast = decision_time <= 0
    if bool(too_fast.any()):
        index = int(too_fast.nonzero()[0, 0])
        raise ValueError(
            f"response_time must exceed non_decision_time (of its stratum): response_time[{index}] = "
            f"{response_time[index].item()} <= {t0[index].item()}; choose non_decision_time below the "
            "stratum's fastest response time"
        )
    nll = ddm_negative_log_likelihood(diff, first_chosen.to(dtype), decision_time, a, k)
    if reduction == "mean":
        return nll.mean()
    if reduction == "sum":
        return nll.sum()
    return nll


def ddm_negative_log_likelihood(
    utility_difference: torch.Tensor,
    first_chosen: torch.Tensor,
    decision_time: torch.Tensor,
    boundary: torch.Tensor,
    drift_scale: torch.Tensor,
) -> torch.Tensor:
    """:func:`ddm_loss` per comparison **without input checks**, for callers that guarantee valid input.

    Args (all broadcastable, float): ``u_first − u_second``; 1.0 / 0.0 for the first / second option chosen;
    decision times ``> 0`` (response time minus non-decision time); boundary ``> 0``; drift scale ``> 0``.
    Training loops whose parametrisation keeps ``0 ≤ t0 < fastest RT`` (e.g. the synthetic DDM learner) use it
    to skip the per-step checks; everyone else should call :func:`ddm_loss`.
    """
    chosen_drift = (2.0 * first_chosen - 1.0) * drift_scale * utility_difference
    return -wiener_log_density(chosen_drift, decision_time, boundary)


# --------------------------------------------------------------------------------------------------------------
# Closed-form baselines
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EZParameters:
    """EZ-diffusion estimates, one entry per condition / stratum (σ = 1, seconds).

    Attributes:
        drift: ``v ≥ 0`` towards the correct boundary.
        boundary: ``a > 0``.
        non_decision_time: ``t0`` (may come out negative or above the fastest RT: EZ does not constrain it).
    """

    drift: np.ndarray
    boundary: np.ndarray
    non_decision_time: np.ndarray


def ez_diffusion(
    proportion_correct,
    rt_variance,
    rt_mean,
    *,
    num_trials=None,
) -> EZParameters:
    """EZ-diffusion (Wagenmakers, van der Maas & Grasman, 2007), vectorised over conditions, σ = 1.

    With ``L = logit(Pc)``::

        v = sign(Pc − ½) · (L·(L·Pc² − L·Pc + Pc − ½) / VRT)^(1/4)
        a = L / v
        t0 = MRT − a/(2v) · (1 − e^{−v·a}) / (1 + e^{−v·a})

    (the paper's formulas with its scaling ``s = 0.1`` replaced by σ = 1).

    Args:
        proportion_correct: ``Pc`` per condition, in ``[0, 1]``.
        rt_variance: variance of the correct response times (seconds²), ``> 0``.
        rt_mean: mean of the correct response times (seconds).
        num_trials: trials per condition. If given, the edge correction of the paper is applied: ``Pc = 1``
            becomes ``1 − 1/(2n)``, ``Pc = ½`` becomes ``½ + 1/(2n)`` and ``Pc < ½`` is mirrored (EZ assumes
            above-chance accuracy). Without it these values raise ``ValueError``.

    Returns:
        :class:`EZParameters` with arrays of the broadcast shape.
    """
    pc = np.asarray(proportion_correct, dtype=np.float64)
    vrt = np.asarray(rt_variance, dtype=np.float64)
    mrt = np.asarray(rt_mean, dtype=np.float64)
    for name, value in (("proportion_correct", pc), ("rt_variance", vrt), ("rt_mean", mrt)):
        if not np.all(np.isfinite(value)):
            raise ValueError(f"{name} contains NaN or infinite values")
    if np.any((pc < 0) | (pc > 1)):
        raise ValueError("proportion_correct must lie in [0, 1]")
    if np.any(vrt <= 0):
        raise ValueError("rt_variance must be > 0")
    if num_trials is not None:
        n = np.asarray(num_trials, dtype=np.float64)
        if np.any(n < 1):
            raise ValueError("num_trials must be >= 1")
        pc = np.where(pc < 0.5, 1.0 - pc, pc)
        pc = np.clip(pc, 0.5 + 0.5 / n, 1.0 - 0.5 / n)
        pc = np.where(pc <= 0.5, np.nan, pc)  # n = 1: no correction possible
        if np.any(np.isnan(pc)):
            raise ValueError("num_trials must be >= 2 for the edge correction")
    elif np.any((pc <= 0.5) | (pc >= 1.0)):
        raise ValueError(
            "proportion_correct must lie strictly between 0.5 and 1 (pass num_trials for the edge correction)"
        )
    logit = np.log(pc / (1.0 - pc))
    x = logit * (logit * pc**2 - logit * pc + pc - 0.5) / vrt
    drift = np.sign(pc - 0.5) * x**0.25
    boundary = logit / drift
    y = -drift * boundary
    mean_decision = (boundary / (2.0 * drift)) * (1.0 - np.exp(y)) / (1.0 + np.exp(y))
    return EZParameters(drift=drift, boundary=boundary, non_decision_time=mrt - mean_decision)


def choice_time_ratio_estimate(
    feature_difference,
    first_chosen,
    decision_time,
    *,
    query=None,
    ridge: float = 0.0,
) -> np.ndarray:
    """Li et al. (NeurIPS 2024) choice/decision-time estimator of linear utilities ``u(x) = θ·x``.

    Under the DDM above with drift ``θ·z`` for ``z = x_first − x_second``, ``E[c] = tanh(v·a/2)`` for
    ``c = ±1`` and ``E[t_dec] = a/(2v)·tanh(v·a/2)``, so ``E[c]/E[t_dec] = (2/a)·θ·z``: a *linear* regression.
    Per distinct query ``q`` (asked ``n_q`` times) the ratio of sums ``C_q/T_q = Σc / Σt_dec`` is formed, and

        β̂ = (Σ_q n_q z_q z_qᵀ + ridge·I)⁻¹ Σ_q n_q z_q · C_q/T_q

    estimates ``(2/a)·θ``. With one observation per query the ratio ``c/t`` is a biased (Jensen: too large)
    but still direction-consistent estimate; repeated queries remove the bias as ``n_q`` grows.

    Args:
        feature_difference: ``[N, D]`` feature differences ``z`` (equal within a query).
        first_chosen: ``[N]`` bool / 0-1.
        decision_time: ``[N]`` seconds, ``> 0`` (response time minus non-decision time).
        query: optional ``[N]`` integer ids of repeated queries (default: every row its own query).
        ridge: ``≥ 0``; needed when ``Σ z zᵀ`` is singular (e.g. one-hot items).

    Returns:
        ``β̂``, shape ``[D]``.
    """
    z = np.asarray(feature_difference, dtype=np.float64)
    c = 2.0 * np.asarray(first_chosen, dtype=np.float64) - 1.0
    t = np.asarray(decision_time, dtype=np.float64)
    if z.ndim != 2 or c.shape != (z.shape[0],) or t.shape != (z.shape[0],):
        raise ValueError(
            f"feature_difference must be [N, D] with first_chosen and decision_time [N], got "
            f"{z.shape}, {c.shape}, {t.shape}"
        )
    if not (np.all(np.isfinite(z)) and np.all(np.isfinite(t))):
        raise ValueError("feature_difference and decision_time must be finite")
    if np.any(t <= 0):
        raise ValueError("decision_time must be > 0 (response time minus non-decision time)")
    if not ridge >= 0:
        raise ValueError(f"ridge must be >= 0, got {ridge}")
    if query is None:
        query = np.arange(z.shape[0])
    query = np.asarray(query)
    if query.shape != (z.shape[0],):
        raise ValueError(f"query must have shape [{z.shape[0]}], got {query.shape}")
    _ids, first, inverse, counts = np.unique(
        query, return_index=True, return_inverse=True, return_counts=True
    )
    ratio = np.bincount(inverse, weights=c) / np.bincount(inverse, weights=t)
    zq = z[first]
    gram = (zq * counts[:, None]).T @ zq + ridge * np.eye(z.shape[1])
    return np.linalg.solve(gram, (zq * counts[:, None]).T @ ratio)


__all__ = [
    "EZParameters",
    "choice_probability",
    "choice_time_ratio_estimate",
    "ddm_loss",
    "ddm_negative_log_likelihood",
    "ez_diffusion",
    "log_standard_wiener_density",
    "mean_decision_time",
    "wiener_log_density",
]

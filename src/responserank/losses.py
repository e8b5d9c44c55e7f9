"""Preference losses over utility differences: Bradley–Terry, its margin variant, RT regression and ResponseRank.

Conventions (shared by the whole package):

* ``u_*`` are utilities / rewards, one scalar per option, shape ``[N]`` for ``N`` comparisons.
* ``d = u_chosen - u_rejected`` is the chosen-oriented difference; it is negative when the model is wrong.
* ``rank`` is the preference-strength signal mapped so that **lower rank = stronger preference** (a response time
  as is, an agreement score negated).
* ``stratum`` holds integer ids; ranks are only compared between comparisons with the same id.

All functions are pure, differentiable with respect to the utilities, work on CPU and CUDA in float32 / float64
(half precision inputs are computed in float32), and raise ``ValueError`` naming the argument on bad input.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F

from responserank._validation import (
    check_1d_tensors,
    check_choice,
    check_finite,
    check_integer,
    check_labels,
)

Reduction = Literal["mean", "sum", "none"]
_REDUCTIONS = ("mean", "sum", "none")


def _reduce(per_item: torch.Tensor, reduction: str) -> torch.Tensor:
    if reduction == "mean":
        return per_item.mean()
    if reduction == "sum":
        return per_item.sum()
    return per_item


def _compute_dtype(tensor: torch.Tensor) -> torch.dtype:
    return tensor.dtype if tensor.dtype in (torch.float32, torch.float64) else torch.float32


# --------------------------------------------------------------------------------------------------------------
# Bradley–Terry and friends
# --------------------------------------------------------------------------------------------------------------


def bradley_terry_loss(
    u_first: torch.Tensor,
    u_second: torch.Tensor,
    first_chosen: torch.Tensor,
    label_smoothing: float | None = None,
    reduction: Reduction = "mean",
) -> torch.Tensor:
    """Binary cross-entropy of ``P(first ≻ second) = σ(u_first − u_second)`` against the observed choice.

    Args:
        u_first, u_second: utilities of the two options, shape ``[N]``.
        first_chosen: shape ``[N]``; 1/True if the first option was chosen. Soft targets in [0, 1] are accepted
            (e.g. an agreement-based probability).
        label_smoothing: ε in [0, 0.5]; the target becomes ``y·(1−ε) + (1−y)·ε`` (the conservative-DPO / TRL
            convention), i.e. the loss is ``−(1−ε)·log σ(d) − ε·log σ(−d)`` for a chosen-oriented ``d``.
        reduction: ``"mean"`` (default), ``"sum"`` or ``"none"`` (shape ``[N]``).

    Returns:
        The loss (nats). For hard labels and ε = None this is ``−log σ(d)`` averaged over comparisons.
    """
    check_choice("reduction", reduction, _REDUCTIONS)
    check_1d_tensors(u_first=u_first, u_second=u_second, first_chosen=first_chosen)
    check_finite("u_first", u_first)
    check_finite("u_second", u_second)
    check_labels("first_chosen", first_chosen)
    logits = u_first - u_second
    logits = logits.to(_compute_dtype(logits))
    target = first_chosen.to(logits.dtype)
    if label_smoothing is not None:
        if not 0.0 <= float(label_smoothing) <= 0.5:
            raise ValueError(f"label_smoothing must lie in [0, 0.5], got {label_smoothing}")
        target = target * (1.0 - label_smoothing) + (1.0 - target) * label_smoothing
    return F.binary_cross_entropy_with_logits(logits, target, reduction=reduction)


def margin_bradley_terry_loss(
    u_chosen: torch.Tensor,
    u_rejected: torch.Tensor,
    margin: torch.Tensor | float,
    reduction: Reduction = "mean",
) -> torch.Tensor:
    """Bradley–Terry with a required margin: ``−log σ(u_chosen − u_rejected − margin)`` (the TRL convention).

    Args:
        u_chosen, u_rejected: utilities of the chosen and the rejected option, shape ``[N]``.
        margin: scalar or shape ``[N]``; how much larger the chosen utility should be (e.g. a stated strength).
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.
    """
    check_choice("reduction", reduction, _REDUCTIONS)
    n = check_1d_tensors(u_chosen=u_chosen, u_rejected=u_rejected)
    check_finite("u_chosen", u_chosen)
    check_finite("u_rejected", u_rejected)
    diff = u_chosen - u_rejected
    diff = diff.to(_compute_dtype(diff))
    margin_t = torch.as_tensor(margin, dtype=diff.dtype, device=diff.device)
    if margin_t.ndim not in (0, 1) or (margin_t.ndim == 1 and margin_t.shape[0] != n):
        raise ValueError(f"margin must be a scalar or have shape [{n}], got shape {tuple(margin_t.shape)}")
    check_finite("margin", margin_t.reshape(-1))
    return _reduce(-F.logsigmoid(diff - margin_t), reduction)


@dataclass(frozen=True)
class HyperbolicLink:
    """The hyperbolic response-time link ``t = min_rt + (max_rt − min_rt) / (|Δu| + 1)``.

    Large utility gaps give fast responses (``t → min_rt``), indifference gives ``t = max_rt``. Times are in the
    same unit as ``min_rt`` / ``max_rt`` (seconds in the synthetic experiments: 0 and 10).
    """

    min_rt: float = 0.0
    max_rt: float = 10.0

    def response_time(self, abs_utility_difference: torch.Tensor) -> torch.Tensor:
        """Expected response time for a utility gap ``|Δu| ≥ 0``."""
        return self.min_rt + (self.max_rt - self.min_rt) / (abs_utility_difference + 1.0)

    def utility_difference(self, response_time: torch.Tensor) -> torch.Tensor:
        """Inverse link: the gap ``|Δu| = (max_rt − min_rt)/(t − min_rt) − 1`` implied by a time ``t > min_rt``.

        Not clipped: ``t > max_rt`` gives a negative gap (as in the original implementation).
        """
        return (self.max_rt - self.min_rt) / (response_time - self.min_rt) - 1.0


def rt_regression_loss(
    u_first: torch.Tensor,
    u_second: torch.Tensor,
    first_chosen: torch.Tensor,
    response_time: torch.Tensor,
    link: HyperbolicLink | None = None,
    reduction: Reduction = "mean",
) -> torch.Tensor:
    """Squared error of ``u_first − u_second`` against ``sign(choice) · g⁻¹(t)`` for an assumed RT link ``g``.

    Args:
        u_first, u_second: utilities, shape ``[N]``.
        first_chosen: shape ``[N]``, hard labels (bool or 0/1); the sign is +1 if the first option was chosen.
        response_time: shape ``[N]``, strictly above ``link.min_rt``.
        link: the assumed link; default ``HyperbolicLink(min_rt=0, max_rt=10)``.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.
    """
    check_choice("reduction", reduction, _REDUCTIONS)
    check_1d_tensors(
        u_first=u_first, u_second=u_second, first_chosen=first_chosen, response_time=response_time
    )
    for name, tensor in (("u_first", u_first), ("u_second", u_second), ("response_time", response_time)):
        check_finite(name, tensor)
    check_labels("first_chosen", first_chosen)
    if first_chosen.is_floating_point() and bool(((first_chosen != 0) & (first_chosen != 1)).any()):
        raise ValueError("first_chosen must hold hard 0/1 labels for rt_regression_loss")
    link = link or HyperbolicLink()
    if bool((response_time <= link.min_rt).any()):
        raise ValueError(
            f"response_time must be > link.min_rt = {link.min_rt} (the inverse link diverges there)"
        )
    diff = u_first - u_second
    diff = diff.to(_compute_dtype(diff))
    sign = 2.0 * first_chosen.to(diff.dtype) - 1.0
    target = sign * link.utility_difference(response_time.to(diff.dtype))
    return _reduce((diff - target) ** 2, reduction)


# --------------------------------------------------------------------------------------------------------------
# ResponseRank: anchored, stratified Plackett–Luce
# --------------------------------------------------------------------------------------------------------------

#: Two ranks count as tied when ``math.isclose(a, b, rel_tol=TIE_RTOL, abs_tol=TIE_ATOL)`` (the spec's tolerance).
TIE_RTOL = 1e-9
TIE_ATOL = 1e-9


@dataclass(frozen=True)
class StratumLayout:
    """Where each comparison lands in the padded ``[strata × width]`` matrix (indices only, no gradients).

    Attributes:
        order: ``[N]`` permutation sorting comparisons by (stratum, rank[, tie-break]).
        row: ``[N]`` stratum row of the k-th sorted comparison (rows follow ascending stratum id).
        column: ``[N]`` its position within the stratum, 0 = strongest (lowest rank).
        risk_set_column: ``[N]`` column whose risk set it uses (its tie group's first column under Breslow,
            else ``column``).
        stratum_ids: ``[S]`` the distinct stratum ids, ascending.
        stratum_sizes: ``[S]`` comparisons per stratum.
    """

    order: torch.Tensor
    row: torch.Tensor
    column: torch.Tensor
    risk_set_column: torch.Tensor
    stratum_ids: torch.Tensor
    stratum_sizes: torch.Tensor


def stratum_layout(
    rank: torch.Tensor,
    stratum: torch.Tensor,
    ties: Literal["error", "random", "breslow"] = "error",
    generator: torch.Generator | None = None,
) -> StratumLayout:
    """Sort comparisons once by (stratum, rank) and compute their padded-matrix coordinates.

    ``ties`` decides what happens to equal ranks inside a stratum: ``"error"`` raises a ``ValueError`` naming the
    stratum, ``"random"`` orders tied comparisons by a random permutation drawn from ``generator``, ``"breslow"``
    keeps them as a tie group that shares one risk set.
    """
    n = rank.shape[0]
    device = rank.device
    if ties == "random":
        gen_device = generator.device if generator is not None else torch.device("cpu")
        order = torch.randperm(n, generator=generator, device=gen_device).to(device)
    else:
        order = torch.arange(n, device=device)
    # Two stable sorts give the lexicographic order (stratum, rank, prior order).
    order = order[torch.sort(rank[order], stable=True).indices]
    order = order[torch.sort(stratum[order], stable=True).indices]

    sorted_stratum = stratum[order]
    sorted_rank = rank[order].to(torch.float64)
    stratum_ids, row, sizes = torch.unique_consecutive(
        sorted_stratum, return_inverse=True, return_counts=True
    )
    starts = torch.cumsum(sizes, 0) - sizes
    column = torch.arange(n, device=device) - starts[row]

    tied_with_previous = torch.zeros(n, dtype=torch.bool, device=device)
    if n > 1:
        same_stratum = column[1:] > 0
        a, b = sorted_rank[1:], sorted_rank[:-1]
        tolerance = torch.clamp(TIE_RTOL * torch.maximum(a.abs(), b.abs()), min=TIE_ATOL)
        close = (a - b).abs() <= tolerance
        tied_with_previous[1:] = same_stratum & close
    if ties == "error" and bool(tied_with_previous.any()):
        bad = torch.unique(sorted_stratum[tied_with_previous])
        shown = ", ".join(str(int(s)) for s in bad[:5]) + (", ..." if bad.numel() > 5 else "")
        raise ValueError(
            f"rank has ties inside stratum id(s) {shown}; pass ties='random' or ties='breslow' to allow them"
        )
    if ties == "breslow":
        # Index (in sorted order) of the first member of each comparison's tie group, via a running maximum.
        group_start = torch.where(tied_with_previous, -1, torch.arange(n, device=device))
        group_start = torch.cummax(group_start, 0).values
        risk_set_column = column[group_start]
    else:
        risk_set_column = column
    return StratumLayout(order, row, column, risk_set_column, stratum_ids, sizes)


def responserank_loss(
    u_chosen: torch.Tensor,
    u_rejected: torch.Tensor,
    rank: torch.Tensor,
    stratum: torch.Tensor,
    *,
    anchor: bool = True,
    singletons: Literal["bt", "skip"] = "bt",
    ties: Literal["error", "random", "breslow"] = "error",
    generator: torch.Generator | None = None,
    reduction: Reduction = "mean",
) -> torch.Tensor:
    """ResponseRank: negative log-likelihood of the strength ordering within each stratum (anchored Plackett–Luce).

    Within stratum ``S`` the comparisons are sorted by ``rank`` ascending (strongest first), giving differences
    ``d_(1) … d_(n)``; a virtual anchor with ``d = 0`` is appended last. With worths ``exp(d)``::

        log L_S = Σ_k [ d_(k) − log( Σ_{j ≥ k} exp(d_(j)) + 1 ) ]

    computed in log space with a reverse ``logcumsumexp`` over a padded ``[strata × (max_size + 1)]`` matrix, so
    it stays finite for ``|d|`` of 1e4 and needs no Python loop over strata or comparisons. A stratum of one
    comparison gives ``log σ(d)``: exactly the Bradley–Terry term.

    Args:
        u_chosen, u_rejected: utilities of the chosen and the rejected option, shape ``[N]``.
        rank: shape ``[N]``, strength signal with **lower = stronger** (e.g. response time; −agreement).
        stratum: shape ``[N]``, integer ids; any values, unsorted, not necessarily contiguous.
        anchor: append the ``d = 0`` anchor (default). Without it the loss only ranks the differences and no
            longer pushes them to be positive; singletons then contribute 0.
        singletons: ``"bt"`` keeps strata of one comparison (their term equals BT); ``"skip"`` drops them (the
            original synthetic experiments) and raises if no stratum has at least two comparisons.
        ties: equal ranks inside a stratum: ``"error"`` (default) raises; ``"random"`` breaks them at random
            using ``generator``; ``"breslow"`` gives each tie group one shared risk set (the Breslow approximation
            of the Cox partial likelihood): every tied member is scored against everything from its group on.
        generator: torch generator for ``ties="random"`` (unused otherwise). Each call draws a fresh tie order,
            so the objective changes between calls; for line-search optimisers such as L-BFGS, or to keep one
            order for a whole training run, break ties once beforehand (e.g. add a tiny seeded jitter to ``rank``).
        reduction: ``"mean"`` divides the summed NLL by the number of comparisons that entered the loss,
            ``"sum"`` returns the sum, ``"none"`` one NLL per stratum, shape ``[S]``, in ascending order of the
            stratum ids (skipped singleton strata are 0).

    Returns:
        The loss in nats (scalar, or ``[S]`` for ``reduction="none"``), float32 unless the inputs are float64.
    """
    check_choice("singletons", singletons, ("bt", "skip"))
    check_choice("ties", ties, ("error", "random", "breslow"))
    check_choice("reduction", reduction, _REDUCTIONS)
    check_1d_tensors(u_chosen=u_chosen, u_rejected=u_rejected, rank=rank, stratum=stratum)
    check_finite("u_chosen", u_chosen)
    check_finite("u_rejected", u_rejected)
    check_finite("rank", rank)
    check_integer("stratum", stratum)
    if generator is not None and not isinstance(generator, torch.Generator):
        raise ValueError(f"generator must be a torch.Generator, got {type(generator).__name__}")

    diff = u_chosen - u_rejected
    diff = diff.to(_compute_dtype(diff))
    with torch.no_grad():
        layout = stratum_layout(rank.detach(), stratum.to(diff.device), ties, generator)
    num_strata = layout.stratum_ids.shape[0]
    width = int(layout.stratum_sizes.max()) + int(anchor)

    # Padding uses the most negative finite value rather than -inf: exp() of it is 0, but logcumsumexp and its
    # gradient stay NaN-free on rows that are pure padding.
    padding = torch.finfo(diff.dtype).min
    padded = diff.new_full((num_strata, width), padding)
    sorted_diff = diff[layout.order]
    padded = padded.index_put((layout.row, layout.column), sorted_diff)
    if anchor:
        anchor_rows = torch.arange(num_strata, device=diff.device)
        padded = padded.index_put((anchor_rows, layout.stratum_sizes), diff.new_zeros(num_strata))

    log_risk_sets = torch.logcumsumexp(padded.flip(1), dim=1).flip(1)
    log_prob = sorted_diff - log_risk_sets[layout.row, layout.risk_set_column]

    entered = (
        layout.stratum_sizes >= 2
        if singletons == "skip"
        else torch.ones_like(layout.stratum_sizes, dtype=bool)
    )
    if not bool(entered.any()):
        raise ValueError("singletons='skip' but no stratum has two or more comparisons; nothing to rank")
    log_prob = torch.where(entered[layout.row], log_prob, torch.zeros_like(log_prob))
    nll_per_stratum = diff.new_zeros(num_strata).index_add(0, layout.row, -log_prob)

    if reduction == "none":
        return nll_per_stratum
    total = nll_per_stratum.sum()
    if reduction == "sum":
        return total
    return total / layout.stratum_sizes[entered].sum().to(diff.dtype)


# The drift-diffusion (choice + response time) likelihood lives in its own module; re-exported here.
from responserank.ddm import ddm_loss as ddm_loss  # noqa: E402

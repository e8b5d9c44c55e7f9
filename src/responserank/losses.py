"""Preference losses over utility differences: Bradley–Terry, its margin variant, RT regression and ResponseRank.

Conventions (shared by the whole package):

* ``u_*`` are utilities / rewards, one scalar per option, shape ``[N]`` for ``N`` comparisons.
* ``d = u_chosen - u_rejected`` is the chosen-oriented difference; it is negative when the model is wrong.
* ``rank`` is the preference-strength signal mapped so that **lower rank = stronger preference** (a response time
  as is, an agreement score negated).
* ``stratum`` holds integer ids; ranks are only compared between comparisons with the same id.

All functions are pure, differentiable with respect to the utilities, work on CPU and CUDA in float32 / float64
(half precision utilities are cast to float32 before any arithmetic; integer utilities are rejected), and raise
``ValueError`` naming the argument on bad input.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F

from responserank import segments
from responserank._validation import (
    check_1d_tensors,
    check_choice,
    check_finite,
    check_integer,
    check_labels,
)
from responserank.segments import check_tie_tolerance

Reduction = Literal["mean", "sum", "none"]
_REDUCTIONS = ("mean", "sum", "none")


def _reduce(per_item: torch.Tensor, reduction: str) -> torch.Tensor:
    if reduction == "mean":
        return per_item.mean()
    if reduction == "sum":
        return per_item.sum()
    return per_item


def _compute_dtype(*tensors: torch.Tensor) -> torch.dtype:
    """float64 if any input is float64, else float32 (half precision is widened, never computed in)."""
    return torch.float64 if any(t.dtype == torch.float64 for t in tensors) else torch.float32


def _utilities(name: str, tensor: torch.Tensor) -> None:
    """Raise unless ``tensor`` holds finite floating-point utilities (integers would wrap around when subtracted)."""
    if not tensor.is_floating_point():
        raise ValueError(
            f"{name} must hold floating-point utilities, got dtype {tensor.dtype}; convert it with .float() "
            "(integer utilities would wrap around or truncate when subtracted)"
        )
    check_finite(name, tensor)


def _difference(name_a: str, a: torch.Tensor, name_b: str, b: torch.Tensor) -> torch.Tensor:
    """``a − b`` in the compute dtype, cast **before** subtracting (fp16 ±6e4 would overflow otherwise)."""
    _utilities(name_a, a)
    _utilities(name_b, b)
    dtype = _compute_dtype(a, b)
    return a.to(dtype) - b.to(dtype)


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
    check_labels("first_chosen", first_chosen)
    logits = _difference("u_first", u_first, "u_second", u_second)
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
    diff = _difference("u_chosen", u_chosen, "u_rejected", u_rejected)
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
    check_finite("response_time", response_time)
    check_labels("first_chosen", first_chosen)
    if first_chosen.is_floating_point() and bool(((first_chosen != 0) & (first_chosen != 1)).any()):
        raise ValueError("first_chosen must hold hard 0/1 labels for rt_regression_loss")
    link = link or HyperbolicLink()
    if bool((response_time <= link.min_rt).any()):
        raise ValueError(
            f"response_time must be > link.min_rt = {link.min_rt} (the inverse link diverges there)"
        )
    diff = _difference("u_first", u_first, "u_second", u_second)
    sign = 2.0 * first_chosen.to(diff.dtype) - 1.0
    target = sign * link.utility_difference(response_time.to(diff.dtype))
    return _reduce((diff - target) ** 2, reduction)


# --------------------------------------------------------------------------------------------------------------
# ResponseRank: anchored, stratified Plackett–Luce
# --------------------------------------------------------------------------------------------------------------

Ties = Literal["error", "random", "breslow"]
_TIES = ("error", "random", "breslow")

#: A row of the scan takes the fast path (exp / cumsum relative to the row maximum) when its smallest prefix sum
#: is at least this; below it (differences that span more than ≈ 460 nats inside one stratum) the row is redone
#: with ``torch.logcumsumexp``, which is exact in log space but several times slower.
_FAST_PATH_MIN_PREFIX = 1e-200


@dataclass(frozen=True)
class StratumLayout:
    """Where each comparison of a ResponseRank loss sits, computed once from ``rank`` and ``stratum``.

    Reuse it (``responserank_loss(..., layout=layout)``) for as long as the ranks and strata do not change, e.g.
    over all steps of a full-batch training run: the sorts, the tie check and the index arithmetic are then done
    once instead of every step. Build it with :func:`stratum_layout`. All tensors live on the device of ``rank``.

    Conventions: comparisons are sorted by (stratum id ascending, rank ascending, tie break); ``S`` strata.
    The scan buffer holds one row per stratum, ``[anchor, weakest, …, strongest]`` (a stratum of ``n``
    comparisons uses ``n + 1`` slots), rows padded to the next power of two and grouped by that width, so the
    buffer is at most twice ``N + S`` long whatever the stratum sizes (no padding to the largest stratum).

    Attributes:
        order: ``[N]`` int64, the sorted position → original row index.
        segment: ``[N]`` int64, stratum index ``0 … S−1`` of each sorted comparison.
        position: ``[N]`` int64, position inside the stratum, 0 = strongest (lowest rank).
        risk_position: ``[N]`` int64, position where the comparison's risk set starts (its tie group's first
            position under ``ties="breslow"``, else ``position``).
        stratum_ids: ``[S]`` the distinct stratum ids, ascending.
        stratum_sizes: ``[S]`` int64, comparisons per stratum.
        slot, risk_slot: ``[N]`` int64, buffer index of the comparison and of the start of its risk set.
        anchor_slot: ``[S]`` int64, buffer index of each stratum's anchor (the start of its row).
        row: ``[N]`` int64, index of the comparison's row among all rows in buffer order (block by block).
        buckets: ``(offset, rows, width)`` of each block of equally wide rows in the buffer.
        buffer_size: total slots.
        largest_stratum: size of the largest stratum.
        ties, tie_tolerance: how the layout was built (see :func:`stratum_layout`).
    """

    order: torch.Tensor
    segment: torch.Tensor
    position: torch.Tensor
    risk_position: torch.Tensor
    stratum_ids: torch.Tensor
    stratum_sizes: torch.Tensor
    slot: torch.Tensor
    risk_slot: torch.Tensor
    anchor_slot: torch.Tensor
    row: torch.Tensor
    buckets: tuple[tuple[int, int, int], ...]
    buffer_size: int
    largest_stratum: int
    ties: str
    tie_tolerance: float

    @property
    def num_comparisons(self) -> int:
        return self.order.shape[0]

    @property
    def num_strata(self) -> int:
        return self.stratum_ids.shape[0]


def stratum_layout(
    rank: torch.Tensor,
    stratum: torch.Tensor,
    *,
    ties: Ties = "error",
    tie_tolerance: float = 0.0,
    generator: torch.Generator | None = None,
) -> StratumLayout:
    """Sort comparisons once by (stratum, rank) and lay them out for :func:`responserank_loss`.

    Args:
        rank: ``[N]`` strength signal, lower = stronger (float or integer, finite).
        stratum: ``[N]`` integer stratum ids (any values, unsorted).
        ties: equal ranks inside a stratum: ``"error"`` raises a ``ValueError`` naming the stratum,
            ``"random"`` orders tied comparisons by one random permutation drawn from ``generator`` (fixed for as
            long as the layout is reused), ``"breslow"`` keeps each tie group as one shared risk set.
        tie_tolerance: 0 (default): ranks tie only when exactly equal. ``τ > 0``: ``a`` and ``b`` tie when
            ``|a − b| ≤ τ · max(1, |a|, |b|)``, chained over sorted neighbours. Use it only for ranks computed by
            floating-point arithmetic (means, ratios), where equal values can differ in the last bits; it
            merges genuinely different ranks closer than ``τ`` (e.g. ranks of scale 1e-10 with ``τ = 1e-9``).
        generator: torch generator for ``ties="random"`` (unused otherwise).

    Returns:
        The :class:`StratumLayout`. Time ``O(N log N)`` (two sorts), memory ``O(N)``.
    """
    check_choice("ties", ties, _TIES)
    tie_tolerance = check_tie_tolerance(tie_tolerance)
    check_1d_tensors(rank=rank, stratum=stratum)
    check_finite("rank", rank)
    check_integer("stratum", stratum)
    if rank.device != stratum.device:
        raise ValueError(f"rank is on {rank.device} but stratum is on {stratum.device}")
    if generator is not None and not isinstance(generator, torch.Generator):
        raise ValueError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    with torch.no_grad():
        return _build_layout(rank.detach(), stratum, ties, tie_tolerance, generator)


def _build_layout(rank, stratum, ties, tie_tolerance, generator) -> StratumLayout:
    n, device = rank.shape[0], rank.device
    # Lexicographic order (stratum, rank, tie break) from two stable sorts; under ties="random" the comparisons
    # are first put in a random order, which then breaks the ties.
    if ties == "random":
        gen_device = generator.device if generator is not None else torch.device("cpu")
        shuffled = torch.randperm(n, generator=generator, device=gen_device).to(device)
        sorted_rank, by_rank = torch.sort(rank[shuffled], stable=True)
        by_rank = shuffled[by_rank]
    else:
        sorted_rank, by_rank = torch.sort(rank, stable=True)
    sorted_stratum, by_stratum = torch.sort(stratum[by_rank], stable=True)
    order, sorted_rank = by_rank[by_stratum], sorted_rank[by_stratum]
    stratum_ids, segment, sizes = torch.unique_consecutive(
        sorted_stratum, return_inverse=True, return_counts=True
    )
    position = segments.position_in_segment(sorted_stratum)

    tied = segments.tied_with_previous(sorted_rank, sorted_stratum, tie_tolerance)
    if ties == "error" and bool(tied.any()):
        bad = torch.unique(sorted_stratum[tied])
        shown = ", ".join(str(int(s)) for s in bad[:5]) + (", ..." if bad.numel() > 5 else "")
        raise ValueError(
            f"rank has ties inside stratum id(s) {shown}; pass ties='random' or ties='breslow' to allow them"
            + ("" if tie_tolerance else " (ties are exact: equal values only)")
        )
    if ties == "breslow":
        risk_position = position[segments.first_of_segment(~tied)]
    else:
        risk_position = position

    # Rows of the scan buffer: width = next power of two >= size + 1 (anchor), grouped by width.
    row_width = 2 ** torch.ceil(torch.log2((sizes + 1).to(torch.float64))).to(torch.int64)
    row_width = torch.maximum(row_width, sizes + 1)  # guard against log2 rounding down
    by_width = torch.sort(row_width, stable=True).indices
    widths, rows_per_width = torch.unique_consecutive(row_width[by_width], return_counts=True)
    block_offset = torch.cumsum(widths * rows_per_width, 0) - widths * rows_per_width
    row_in_block = torch.empty_like(sizes)
    row_in_block[by_width] = segments.position_in_segment(row_width[by_width])
    block_of_stratum = torch.searchsorted(widths, row_width)
    anchor_slot = block_offset[block_of_stratum] + row_in_block * row_width
    rows_before_block = torch.cumsum(rows_per_width, 0) - rows_per_width
    row_of_stratum = rows_before_block[block_of_stratum] + row_in_block
    row_end = anchor_slot[segment] + sizes[segment]  # the strongest comparison's slot
    widths_list, rows_list, offsets_list = widths.tolist(), rows_per_width.tolist(), block_offset.tolist()
    buckets = tuple(zip(offsets_list, rows_list, widths_list, strict=True))
    return StratumLayout(
        order=order,
        segment=segment,
        position=position,
        risk_position=risk_position,
        stratum_ids=stratum_ids,
        stratum_sizes=sizes,
        slot=row_end - position,
        risk_slot=row_end - risk_position,
        anchor_slot=anchor_slot,
        row=row_of_stratum[segment],
        buckets=buckets,
        buffer_size=int(sum(r * w for _, r, w in buckets)),
        largest_stratum=int(sizes.max()),
        ties=ties,
        tie_tolerance=tie_tolerance,
    )


def _scan_buffer(sorted_diff: torch.Tensor, layout: StratumLayout, anchor: bool) -> torch.Tensor:
    """The float64 scan buffer: ``-inf`` padding, the anchors (0, or ``-inf`` without anchor), the differences."""
    buffer = sorted_diff.new_full((layout.buffer_size,), float("-inf"), dtype=torch.float64)
    if anchor:
        buffer = buffer.index_fill(0, layout.anchor_slot, 0.0)
    return buffer.index_put((layout.slot,), sorted_diff.to(torch.float64))


def _blocks(buffer: torch.Tensor, layout: StratumLayout):
    """``[rows, width]`` views of the buffer, one per bucket."""
    return [
        buffer[offset : offset + rows * width].view(rows, width) for offset, rows, width in layout.buckets
    ]


def _log_space_nll(sorted_diff: torch.Tensor, layout: StratumLayout, anchor: bool) -> torch.Tensor:
    """Per-stratum NLL with ``torch.logcumsumexp`` row by row, differentiable twice (the double-backward path)."""
    buffer = _scan_buffer(sorted_diff, layout, anchor)
    log_prefix = torch.cat([torch.logcumsumexp(b, 1).reshape(-1) for b in _blocks(buffer, layout)])
    per_comparison = log_prefix[layout.risk_slot] - sorted_diff.to(torch.float64)
    return torch.zeros(layout.num_strata, dtype=torch.float64, device=sorted_diff.device).index_add(
        0, layout.segment, per_comparison
    )


class _AnchoredPlackettLuce(torch.autograd.Function):
    """Per-stratum NLL ``Σ_k [log(Σ_{j ≥ risk(k)} exp d_j + anchor) − d_k]`` from the sorted differences.

    Forward, per buffer row (one stratum): ``P = cumsum(exp(x − max))`` and ``log P + max`` give the log risk
    sets (sums of positive terms: no cancellation). Backward, with ``g`` the upstream gradient of the
    comparison's stratum and ``P_p`` the prefix at the slot where a risk set starts::

        ∂/∂d_j = −g_j + exp(d_j − max) · Σ_{k: risk_slot_k ≥ slot_j} g_k / P_{risk_slot_k}

    (a reverse cumsum per row). Rows whose smallest prefix sum falls below ``_FAST_PATH_MIN_PREFIX`` are done in
    log space instead (``torch.logcumsumexp``), so the loss and its gradient stay finite and accurate for
    differences of any size. Computed in float64; a second derivative goes through :func:`_log_space_nll`.
    """

    @staticmethod
    def forward(ctx, sorted_diff, layout, anchor):
        buffer = _scan_buffer(sorted_diff, layout, anchor)
        scaled = torch.empty_like(buffer)  # exp(x − row max)
        prefix = torch.empty_like(buffer)  # cumsum of scaled along the row
        first_real = 0 if anchor else 1
        row_maxima, unsafe_rows = [], []
        for x, e, p in zip(
            _blocks(buffer, layout), _blocks(scaled, layout), _blocks(prefix, layout), strict=True
        ):
            row_max = x.amax(1, keepdim=True)
            torch.sub(x, row_max, out=e).exp_()
            torch.cumsum(e, 1, out=p)
            row_maxima.append(row_max.view(-1))
            unsafe_rows.append(p[:, first_real] < _FAST_PATH_MIN_PREFIX)
        risk_prefix = prefix[layout.risk_slot]
        log_risk = torch.log(risk_prefix).add_(torch.cat(row_maxima)[layout.row])  # log risk-set sums, [N]
        unsafe = torch.cat(unsafe_rows)
        log_prefix = None
        if bool(unsafe.any()):
            log_prefix = torch.full_like(buffer, float("-inf"))
            for x, c, bad in zip(
                _blocks(buffer, layout), _blocks(log_prefix, layout), unsafe_rows, strict=True
            ):
                c[bad] = torch.logcumsumexp(x[bad], 1)
            log_risk = torch.where(unsafe[layout.row], log_prefix[layout.risk_slot], log_risk)
        nll = torch.zeros(layout.num_strata, dtype=torch.float64, device=buffer.device)
        nll = nll.index_add_(0, layout.segment, log_risk - sorted_diff.to(torch.float64))
        ctx.save_for_backward(sorted_diff, scaled, risk_prefix, log_prefix)
        ctx.layout, ctx.anchor = layout, anchor
        ctx.unsafe_rows = unsafe_rows if log_prefix is not None else None
        return nll.to(sorted_diff.dtype)

    @staticmethod
    def backward(ctx, grad_nll):
        sorted_diff, scaled, risk_prefix, log_prefix = ctx.saved_tensors
        layout = ctx.layout
        if torch.is_grad_enabled():  # create_graph=True: a differentiable gradient for higher derivatives
            with torch.enable_grad():
                nll = _log_space_nll(sorted_diff, layout, ctx.anchor)
            (grad,) = torch.autograd.grad(nll, sorted_diff, grad_nll.to(nll.dtype), create_graph=True)
            return grad, None, None
        g = grad_nll.to(torch.float64)[layout.segment]
        ratio = torch.zeros_like(scaled).index_add_(0, layout.risk_slot, g / risk_prefix)
        # Reversing the whole buffer reverses every row in place: one cumsum per block is the reverse cumsum.
        flipped = ratio.flip(0)
        total = layout.buffer_size
        for offset, rows, width in layout.buckets:
            block = flipped[total - offset - rows * width : total - offset].view(rows, width)
            torch.cumsum(block, 1, out=block)
        reverse = flipped.flip(0)
        grad = scaled[layout.slot].mul_(reverse[layout.slot]).sub_(g)
        if ctx.unsafe_rows is not None:
            grad = _log_space_gradient(grad, g, log_prefix, sorted_diff, layout, ctx.unsafe_rows)
        return grad.to(sorted_diff.dtype), None, None


def _log_space_gradient(grad, g, log_prefix, sorted_diff, layout, unsafe_rows):
    """Recompute ``grad`` in the unsafe rows: ``−g_j + sign(g) · exp(d_j + log Σ_{k: risk_slot_k ≥ slot_j} |g_k|
    e^{−C_{risk_slot_k}})`` (one stratum per row, so ``g`` has one sign per row)."""
    weight = torch.zeros_like(log_prefix).index_add_(0, layout.risk_slot, g.abs())
    log_weight = torch.where(weight > 0, weight.log() - log_prefix, float("-inf"))
    log_reverse = torch.full_like(log_weight, float("-inf"))
    in_unsafe_row = torch.zeros_like(weight, dtype=torch.bool)
    for lw, out, flag, bad in zip(
        _blocks(log_weight, layout),
        _blocks(log_reverse, layout),
        _blocks(in_unsafe_row, layout),
        unsafe_rows,
        strict=True,
    ):
        out[bad] = torch.logcumsumexp(lw[bad].flip(1), 1).flip(1)
        flag[bad] = True
    exact = torch.sign(g) * torch.exp(sorted_diff.to(torch.float64) + log_reverse[layout.slot]) - g
    return torch.where(in_unsafe_row[layout.slot], exact, grad)


def responserank_loss(
    u_chosen: torch.Tensor,
    u_rejected: torch.Tensor,
    rank: torch.Tensor | None = None,
    stratum: torch.Tensor | None = None,
    *,
    layout: StratumLayout | None = None,
    anchor: bool = True,
    singletons: Literal["bt", "skip"] = "bt",
    ties: Ties | None = None,
    tie_tolerance: float | None = None,
    generator: torch.Generator | None = None,
    reduction: Reduction = "mean",
) -> torch.Tensor:
    """ResponseRank: negative log-likelihood of the strength ordering within each stratum (anchored Plackett–Luce).

    Within stratum ``S`` the comparisons are sorted by ``rank`` ascending (strongest first), giving differences
    ``d_(1) … d_(n)``; a virtual anchor with ``d = 0`` is appended last. With worths ``exp(d)``::

        log L_S = Σ_k [ d_(k) − log( Σ_{j ≥ k} exp(d_(j)) + 1 ) ]

    The risk-set sums are a segment-wise reverse cumulative sum over the flat sorted comparisons, one row per
    stratum, rows padded only to the next power of two (see :class:`StratumLayout`): time and memory
    ``O(N log N)`` / ``O(N)`` whatever the stratum sizes, no Python loop over strata or comparisons. Computed in
    float64 as ``cumsum(exp(d − row max))`` with an analytic gradient; a stratum whose differences span more
    than ≈ 460 nats is redone with ``logcumsumexp``, so the loss stays finite and exact for ``|d|`` of 1e4 and
    beyond. A stratum of one comparison gives ``log σ(d)``: exactly the Bradley–Terry term.

    Args:
        u_chosen, u_rejected: utilities of the chosen and the rejected option, shape ``[N]``, floating point
            (half precision is cast to float32 before subtracting; integer utilities are rejected).
        rank: shape ``[N]``, strength signal with **lower = stronger** (e.g. response time; −agreement).
        stratum: shape ``[N]``, integer ids; any values, unsorted, not necessarily contiguous.
        layout: instead of ``rank`` and ``stratum``, a :func:`stratum_layout` computed once and reused while
            the ranks and strata stay the same (then ``ties`` / ``tie_tolerance`` / ``generator`` are the
            layout's and must not be passed).
        anchor: append the ``d = 0`` anchor (default). Without it the loss only ranks the differences and no
            longer pushes them to be positive; singletons then contribute 0.
        singletons: ``"bt"`` keeps strata of one comparison (their term equals BT); ``"skip"`` drops them (the
            original synthetic experiments) and raises if no stratum has at least two comparisons.
        ties: equal ranks inside a stratum: ``"error"`` (default) raises; ``"random"`` breaks them at random
            using ``generator``; ``"breslow"`` gives each tie group one shared risk set (the Breslow approximation
            of the Cox partial likelihood): every tied member is scored against everything from its group on.
        tie_tolerance: 0 (default) = ranks tie only when exactly equal; see :func:`stratum_layout`.
        generator: torch generator for ``ties="random"`` (unused otherwise). Each call without ``layout`` draws
            a fresh tie order, so the objective changes between calls; for line-search optimisers such as
            L-BFGS, or to keep one order for a whole training run, build one layout and reuse it.
        reduction: ``"mean"`` divides the summed NLL by the number of comparisons that entered the loss,
            ``"sum"`` returns the sum, ``"none"`` one NLL per stratum, shape ``[S]``, in ascending order of the
            stratum ids (skipped singleton strata are 0).

    Returns:
        The loss in nats (scalar, or ``[S]`` for ``reduction="none"``), float32 unless the inputs are float64.
    """
    check_choice("singletons", singletons, ("bt", "skip"))
    check_choice("reduction", reduction, _REDUCTIONS)
    n = check_1d_tensors(u_chosen=u_chosen, u_rejected=u_rejected)
    diff = _difference("u_chosen", u_chosen, "u_rejected", u_rejected)
    if layout is None:
        if rank is None or stratum is None:
            raise ValueError("pass rank and stratum, or a precomputed layout")
        check_1d_tensors(u_chosen=u_chosen, rank=rank, stratum=stratum)
        if generator is not None and not isinstance(generator, torch.Generator):
            raise ValueError(f"generator must be a torch.Generator, got {type(generator).__name__}")
        layout = stratum_layout(
            rank.to(diff.device),
            stratum.to(diff.device),
            ties=ties if ties is not None else "error",
            tie_tolerance=tie_tolerance if tie_tolerance is not None else 0.0,
            generator=generator,
        )
    else:
        if not isinstance(layout, StratumLayout):
            raise ValueError(f"layout must be a StratumLayout, got {type(layout).__name__}")
        given = [name for name, value in (("rank", rank), ("stratum", stratum)) if value is not None]
        given += [
            name
            for name, value in (("ties", ties), ("tie_tolerance", tie_tolerance), ("generator", generator))
            if value is not None
        ]
        if given:
            raise ValueError(f"pass either a layout or {', '.join(given)}, not both (the layout fixes them)")
        if layout.num_comparisons != n:
            raise ValueError(f"layout is for {layout.num_comparisons} comparisons but u_chosen has {n}")
        if layout.order.device != diff.device:
            raise ValueError(f"layout is on {layout.order.device} but the utilities are on {diff.device}")

    if singletons == "skip" and layout.largest_stratum < 2:
        raise ValueError("singletons='skip' but no stratum has two or more comparisons; nothing to rank")
    nll_per_stratum = _AnchoredPlackettLuce.apply(diff[layout.order], layout, bool(anchor))
    sizes = layout.stratum_sizes
    if singletons == "skip":
        nll_per_stratum = torch.where(sizes >= 2, nll_per_stratum, torch.zeros_like(nll_per_stratum))
    if reduction == "none":
        return nll_per_stratum
    total = nll_per_stratum.sum()
    if reduction == "sum":
        return total
    entered = torch.where(sizes >= 2, sizes, 0).sum() if singletons == "skip" else n
    return total / entered


# The drift-diffusion (choice + response time) likelihood lives in its own module; re-exported here.
from responserank.ddm import ddm_loss as ddm_loss  # noqa: E402

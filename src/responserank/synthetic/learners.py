"""The six learners as loss blocks over stacked models, and the per-model training data (prefix, strata, ranks).

A *model* is one (trial, learner, dataset size) triple. All models of a batch share the architecture and the
optimiser settings; they differ in their rows (the prefix of ``int(50·f)`` train pairs), their loss, their strata
and — for the permutation controls — their response times.

Losses (spec §2), each returning one value per model:

* ``bt``: mean over the model's pairs of ``BCE(σ(û1 − û2), y)`` (:func:`responserank.bradley_terry_loss`).
* ``rt_regression``: mean of ``(û1 − û2 − s_y·g⁻¹(t))²`` with the assumed hyperbolic link
  (:func:`responserank.rt_regression_loss`), no clipping.
* ``responserank``: anchored Plackett–Luce per stratum (:func:`responserank.responserank_loss`), called **once**
  for all RR models of the batch with stratum ids ``model · K + partition_id`` (``K`` = number of partitions), so
  no stratum spans two models. Singleton strata are skipped; each model's summed NLL is divided by its number of
  comparisons in strata with ≥ 2 members (a model without such a stratum is an error, raised before training).
  The sort by (stratum, rank) is done once per block (:func:`responserank.losses.stratum_layout`) and reused on
  every training step. Ranks are the within-prefix ordinal ranks of ``t`` (ties — possible for DDM times on the 1 ms grid — broken by
  row order, a fixed arbitrary order).

* ``ddm``: mean negative log Wiener density of (choice, RT) (:func:`responserank.ddm.ddm_loss`), drift
  ``k · (û1 − û2)``, unbiased start, σ = 1. The DDM parameters are learned jointly with the network, per
  (model, partition) with ``use_strata`` (else one set per model): ``a = exp(α)``, ``k = exp(κ)`` and
  ``t0 = 0.999 · t_min · sigmoid(τ)`` with ``t_min`` the fastest train RT of the model's stratum, so
  ``0 ≤ t0 < t_min`` holds at every step. Start: ``t0 = t_min/2``, ``a = 2·sqrt(mean(t − t0))`` (the boundary
  whose mean decision time at zero drift, ``a²/4``, matches the data), ``k = 1``; AdamW at
  ``ddm_learning_rate`` without weight decay (the network keeps ``learning_rate`` and ``l2_reg``). With
  per-partition parameters the model is correctly specified for the drift-diffusion configs even with RT
  multipliers: scaling time by ``m`` is a DDM with ``a·√m``, ``v/√m`` and ``t0·m``.

Permutation controls: the prefix's ``t`` column is replaced by a permutation of itself (across strata, partition
ids unchanged) drawn from the stream ``permutation/frac_<pct>`` of the trial; the two permutation learners see the
same permuted data at a given size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from responserank.ddm import ddm_negative_log_likelihood
from responserank.losses import (
    HyperbolicLink,
    bradley_terry_loss,
    responserank_loss,
    rt_regression_loss,
    stratum_layout,
)
from responserank.segments import pair_ids
from responserank.synthetic.config import LearnerConfig, num_train_rows, size_percent
from responserank.synthetic.data import SyntheticDataset
from responserank.synthetic.engine import LossBlock
from responserank.synthetic.seeding import rng as stream_rng


@dataclass(frozen=True)
class ModelSpec:
    """Identity of one model of a batch: its trial slot (index into the batch's datasets), learner and size."""

    slot: int
    learner: str
    size: float


@dataclass
class ModelData:
    """Training rows of the models of one block (``Mb`` models, ``R`` train pairs, padded to ``R``).

    Attributes:
        mask: ``[Mb, R]`` bool, True on the model's prefix rows.
        first_chosen: ``[Mb, R]`` float, 1.0 if option 1 was chosen.
        response_time: ``[Mb, R]`` float, seconds (permuted within the prefix for the permutation controls).
        rank: ``[Mb, R]`` float, ordinal rank of ``response_time`` within the prefix (lower = faster = stronger).
        stratum: ``[Mb, R]`` int64, the partition id (0 for all rows of pooled learners).
    """

    mask: torch.Tensor
    first_chosen: torch.Tensor
    response_time: torch.Tensor
    rank: torch.Tensor
    stratum: torch.Tensor


def permuted_prefix_times(dataset: SyntheticDataset, size: float, random_seed: int, trial: int) -> np.ndarray:
    """Train RTs with the size-``size`` prefix shuffled across strata (the permutation controls' data)."""
    rows = num_train_rows(size, dataset.num_train)
    t = dataset.t[: dataset.num_train].copy()
    permutation = stream_rng(random_seed, trial, f"permutation/frac_{size_percent(size)}").permutation(rows)
    t[:rows] = t[:rows][permutation]
    return t


def build_model_data(
    specs: Sequence[ModelSpec],
    learners: dict[str, LearnerConfig],
    datasets: Sequence[SyntheticDataset],
    trials: Sequence[int],
    random_seed: int,
    dtype: torch.dtype = torch.float32,
) -> ModelData:
    """Stack the training rows of ``specs`` (``datasets[spec.slot]`` is trial ``trials[spec.slot]``)."""
    num_pairs = datasets[0].num_train
    mask, chosen, times, ranks, strata = [], [], [], [], []
    for spec in specs:
        dataset, learner = datasets[spec.slot], learners[spec.learner]
        rows = num_train_rows(spec.size, num_pairs)
        t = (
            permuted_prefix_times(dataset, spec.size, random_seed, trials[spec.slot])
            if learner.permute_response_times
            else dataset.t[:num_pairs].copy()
        )
        rank = np.zeros(num_pairs)
        rank[:rows] = np.argsort(np.argsort(t[:rows], kind="stable"), kind="stable")
        mask.append(np.arange(num_pairs) < rows)
        chosen.append(dataset.y[:num_pairs])
        times.append(t)
        ranks.append(rank)
        strata.append(
            dataset.partition_id[:num_pairs] if learner.use_strata else np.zeros(num_pairs, np.int64)
        )
    return ModelData(
        mask=torch.as_tensor(np.stack(mask)),
        first_chosen=torch.as_tensor(np.stack(chosen), dtype=dtype),
        response_time=torch.as_tensor(np.stack(times), dtype=dtype),
        rank=torch.as_tensor(np.stack(ranks), dtype=dtype),
        stratum=torch.as_tensor(np.stack(strata), dtype=torch.int64),
    )


def _masked_mean(per_row: torch.Tensor, mask: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
    return torch.where(mask, per_row, torch.zeros_like(per_row)).sum(dim=1) / counts


def bt_loss_block(start: int, data: ModelData, learner: LearnerConfig) -> LossBlock:
    """Mean Bradley–Terry loss over each model's prefix rows."""
    counts = data.mask.sum(dim=1).to(data.first_chosen.dtype)
    shape = data.mask.shape

    def loss(u_first: torch.Tensor, u_second: torch.Tensor) -> torch.Tensor:
        per_row = bradley_terry_loss(
            u_first.reshape(-1),
            u_second.reshape(-1),
            data.first_chosen.reshape(-1),
            label_smoothing=learner.label_smoothing,
            reduction="none",
        ).view(shape)
        return _masked_mean(per_row, data.mask, counts)

    return LossBlock(start, start + shape[0], loss)


def rt_regression_loss_block(start: int, data: ModelData, learner: LearnerConfig) -> LossBlock:
    """Mean squared error against ``sign · g⁻¹(t)`` over each model's prefix rows."""
    counts = data.mask.sum(dim=1).to(data.first_chosen.dtype)
    shape = data.mask.shape
    link = HyperbolicLink(min_rt=learner.min_rt, max_rt=learner.max_rt)

    def loss(u_first: torch.Tensor, u_second: torch.Tensor) -> torch.Tensor:
        per_row = rt_regression_loss(
            u_first.reshape(-1),
            u_second.reshape(-1),
            data.first_chosen.reshape(-1),
            data.response_time.reshape(-1),
            link=link,
            reduction="none",
        ).view(shape)
        return _masked_mean(per_row, data.mask, counts)

    return LossBlock(start, start + shape[0], loss)


def responserank_loss_block(
    start: int, data: ModelData, num_partitions: int, names: Sequence[str] | None = None
) -> LossBlock:
    """ResponseRank for all models of the block with one core call (combined stratum ids, per-model normalisation).

    ``names`` (one per model) label a model in the error raised when it has no stratum with ≥ 2 comparisons.
    """
    num_models = data.mask.shape[0]
    model_index = torch.arange(num_models).unsqueeze(1).expand_as(data.stratum)
    if bool((data.stratum[data.mask] >= num_partitions).any()) or bool((data.stratum < 0).any()):
        raise ValueError(f"partition ids must lie in 0 … {num_partitions - 1}")
    combined = pair_ids(model_index, data.stratum, num_partitions)[data.mask]
    # Ranks and strata are fixed for the whole run: sort and lay them out once, not on every step.
    layout = stratum_layout(data.rank[data.mask], combined)
    stratum_model = layout.stratum_ids // num_partitions
    valid = layout.stratum_sizes >= 2
    denominator = torch.zeros(num_models, dtype=data.rank.dtype).index_add(
        0, stratum_model, torch.where(valid, layout.stratum_sizes, 0).to(data.rank.dtype)
    )
    if bool((denominator == 0).any()):
        bad = int(torch.nonzero(denominator == 0)[0, 0])
        label = names[bad] if names is not None else f"model {bad}"
        raise ValueError(
            f"ResponseRank needs a stratum with at least 2 comparisons, but {label} has none "
            "(too few train pairs for the number of partitions)"
        )
    chosen_first = data.first_chosen[data.mask] > 0.5

    def loss(u_first: torch.Tensor, u_second: torch.Tensor) -> torch.Tensor:
        u1, u2 = u_first[data.mask], u_second[data.mask]
        u_chosen = torch.where(chosen_first, u1, u2)
        u_rejected = torch.where(chosen_first, u2, u1)
        nll_per_stratum = responserank_loss(
            u_chosen, u_rejected, layout=layout, singletons="skip", reduction="none"
        )
        total = torch.zeros(num_models, dtype=nll_per_stratum.dtype).index_add(
            0, stratum_model, nll_per_stratum
        )
        return total / denominator

    return LossBlock(start, start + num_models, loss)


#: ``t0 = T0_CEILING · t_min · sigmoid(τ)`` stays strictly below the stratum's fastest RT even in float32.
T0_CEILING = 0.999


def ddm_loss_block(start: int, data: ModelData, learner: LearnerConfig, num_partitions: int) -> LossBlock:
    """Drift-diffusion likelihood for all models of the block with one core call; DDM parameters per stratum."""
    num_models = data.mask.shape[0]
    groups = num_partitions if learner.use_strata else 1
    model_index = torch.arange(num_models).unsqueeze(1).expand_as(data.stratum)
    stratum = data.stratum if learner.use_strata else torch.zeros_like(data.stratum)
    if bool((stratum[data.mask] >= groups).any()) or bool((stratum < 0).any()):
        raise ValueError(f"partition ids must lie in 0 … {num_partitions - 1}")
    combined = (model_index * groups + stratum)[data.mask]
    row_model = model_index[data.mask]
    rt = data.response_time[data.mask]
    chosen = data.first_chosen[data.mask]
    counts = data.mask.sum(dim=1).to(rt.dtype)
    num_groups = num_models * groups
    fastest = torch.full((num_groups,), float("inf"), dtype=rt.dtype).scatter_reduce(
        0, combined, rt, reduce="amin"
    )
    fastest = torch.where(torch.isfinite(fastest), fastest, torch.ones_like(fastest))  # unused strata
    group_size = torch.zeros(num_groups, dtype=rt.dtype).index_add(0, combined, torch.ones_like(rt))
    mean_rt = torch.zeros(num_groups, dtype=rt.dtype).index_add(0, combined, rt) / group_size.clamp(min=1)
    mean_rt = torch.where(group_size > 0, mean_rt, fastest)
    log_boundary = torch.log(2.0 * torch.sqrt((mean_rt - T0_CEILING * 0.5 * fastest).clamp(min=1e-3)))
    log_boundary.requires_grad_(True)
    t0_logit = torch.zeros(num_groups, dtype=rt.dtype, requires_grad=True)
    log_drift_scale = torch.zeros(num_groups, dtype=rt.dtype, requires_grad=True)

    if not (bool(torch.isfinite(rt).all()) and bool((rt > 0).all())):
        raise ValueError("response times must be finite and > 0 for the DDM learner")

    def loss(u_first: torch.Tensor, u_second: torch.Tensor) -> torch.Tensor:
        # Checked once above: 0 ≤ t0 < the stratum's fastest RT holds by construction, so the per-step checks of
        # ddm_loss are skipped (the tests compare this block with ddm_loss itself).
        t0 = T0_CEILING * fastest * torch.sigmoid(t0_logit)
        nll = ddm_negative_log_likelihood(
            u_first[data.mask] - u_second[data.mask],
            chosen,
            rt - t0[combined],
            log_boundary.exp()[combined],
            log_drift_scale.exp()[combined],
        )
        return torch.zeros(num_models, dtype=nll.dtype).index_add(0, row_model, nll) / counts

    return LossBlock(
        start,
        start + num_models,
        loss,
        parameters=(log_boundary, t0_logit, log_drift_scale),
        learning_rate=learner.ddm_learning_rate,
    )


def loss_block(
    start: int,
    data: ModelData,
    learner: LearnerConfig,
    num_partitions: int,
    names: Sequence[str] | None = None,
) -> LossBlock:
    """The loss block of ``learner.loss`` for models ``start …`` with training rows ``data``."""
    if learner.loss == "bt":
        return bt_loss_block(start, data, learner)
    if learner.loss == "rt_regression":
        return rt_regression_loss_block(start, data, learner)
    if learner.loss == "responserank":
        return responserank_loss_block(start, data, num_partitions, names)
    if learner.loss == "ddm":
        return ddm_loss_block(start, data, learner, num_partitions)
    raise ValueError(f"unknown loss {learner.loss!r}")

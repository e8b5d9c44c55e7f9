"""Batched training engine: many small MLPs with stacked parameters, trained together in one process.

Every synthetic training run is the same tiny problem (a ``d → 64 → ReLU → 1`` MLP, ≤ 50 pairs, 200 full-batch
steps), so running them one by one is dominated by Python overhead. Here ``M`` models live in stacked tensors
(``W_l: [M, fan_in, fan_out]``, ``b_l: [M, fan_out]``) and one batched matmul (``torch.baddbmm``) evaluates all
of them. Why this is *exactly* per-model training:

* The objective is the **sum** of the per-model losses, and no loss mixes models, so the gradient with respect
  to model ``m``'s parameters is the gradient of model ``m``'s own loss.
* ``torch.optim.AdamW`` is elementwise (moments, bias correction and decoupled weight decay act per entry, with
  one shared step count), so one optimizer over the stacked tensors performs, entry by entry, the update that a
  separate ``AdamW(model.parameters())`` would do for each model — including weight decay on the biases, which
  ``AdamW`` applies to every parameter of the group.
* Model selection is per model (below).

Model selection (spec §2): at step ``e`` the training loss ``L_e`` is computed before the update; if ``L_e`` is
the lowest so far for that model, the parameters **after** that update are kept.

The engine is generic: callers pass loss blocks, i.e. functions mapping the utilities of a contiguous slice of
models to one loss per model (see :mod:`responserank.synthetic.learners`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

#: ``(u_first [Mb, R], u_second [Mb, R]) -> loss [Mb]`` for the models of one block.
LossFunction = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class LossBlock:
    """Models ``start … stop−1`` of the batch and the loss they are trained with.

    ``parameters`` are the loss's own trainable tensors (e.g. the DDM's boundaries), optimised jointly with the
    models by the same AdamW at ``learning_rate`` without weight decay. Each entry must belong to one model only
    (so each model still receives exactly its own gradient).
    """

    start: int
    stop: int
    loss: LossFunction
    parameters: tuple[torch.Tensor, ...] = ()
    learning_rate: float | None = None


class StackedMLP:
    """``M`` MLPs ``Linear → ReLU → … → Linear(·, 1)`` held as stacked parameter tensors.

    ``params`` alternate weight ``[M, fan_in, fan_out]`` and bias ``[M, fan_out]`` per layer (weights are the
    transpose of ``nn.Linear.weight``).
    """

    def __init__(self, params: Sequence[torch.Tensor]):
        if len(params) % 2 or not params:
            raise ValueError("params must alternate weight and bias tensors, one pair per layer")
        self.params = [p.detach().clone().requires_grad_(True) for p in params]

    @property
    def num_models(self) -> int:
        return self.params[0].shape[0]

    def __call__(self, x: torch.Tensor, params: Sequence[torch.Tensor] | None = None) -> torch.Tensor:
        """Utilities ``[M, n]`` of inputs ``x [M, n, d]`` (model ``m`` sees ``x[m]``)."""
        params = self.params if params is None else params
        h = x
        num_layers = len(params) // 2
        for layer in range(num_layers):
            weight, bias = params[2 * layer], params[2 * layer + 1]
            h = torch.baddbmm(bias.unsqueeze(1), h, weight)
            if layer < num_layers - 1:
                h = torch.relu(h)
        return h.squeeze(-1)


@dataclass
class TrainingResult:
    """Kept (model-selected) parameters and the per-step training losses.

    Attributes:
        params: the kept parameters, same layout as the input.
        best_loss: ``[M]`` lowest pre-update training loss of each model.
        best_step: ``[M]`` the step (0-based) whose update produced the kept parameters.
        losses: ``[num_epochs, M]`` pre-update training loss per step.
        step_metrics: per-step values from ``step_callback`` (``{name: [num_epochs, M]}``), empty if none.
    """

    params: list[torch.Tensor]
    best_loss: torch.Tensor
    best_step: torch.Tensor
    losses: torch.Tensor
    step_metrics: dict[str, torch.Tensor]


def _adamw(
    params: list[torch.Tensor],
    learning_rate: float,
    weight_decay: float,
    extra_groups: Sequence[dict] = (),
) -> torch.optim.AdamW:
    """AdamW (betas 0.9/0.999, eps 1e-8); the fused kernel where available (same update, one pass per tensor)."""
    options = {"lr": learning_rate, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": weight_decay}
    groups = [{"params": params}, *extra_groups]
    try:
        return torch.optim.AdamW(groups, fused=True, **options)
    except (RuntimeError, ValueError):  # pragma: no cover - no fused kernel for this device / dtype
        return torch.optim.AdamW(groups, **options)


def train_stacked(
    initial_params: Sequence[torch.Tensor],
    inputs: torch.Tensor,
    num_pairs: int,
    loss_blocks: Sequence[LossBlock],
    *,
    num_epochs: int,
    learning_rate: float,
    weight_decay: float,
    step_callback: Callable[[StackedMLP], dict[str, torch.Tensor]] | None = None,
) -> TrainingResult:
    """Full-batch AdamW on all models at once, with per-model selection of the lowest-loss step.

    Args:
        initial_params: stacked initial weights/biases (see :class:`StackedMLP`), float32 or float64.
        inputs: ``[M, 2·R, d]``: rows ``0 … R−1`` are the first options of the ``R = num_pairs`` train pairs,
            rows ``R … 2R−1`` the second options (model ``m`` trains on ``inputs[m]``).
        num_pairs: ``R``.
        loss_blocks: cover every model exactly once; each returns one loss per model of its slice.
        num_epochs: number of full-batch steps.
        learning_rate, weight_decay: AdamW's ``lr`` and ``weight_decay`` (betas 0.9/0.999, eps 1e-8).
        step_callback: called once per step with the model *before* the update (under ``no_grad``); returns
            ``{name: [M] tensor}`` recorded in :attr:`TrainingResult.step_metrics`.
    """
    model = StackedMLP(initial_params)
    num_models = model.num_models
    covered = torch.zeros(num_models, dtype=torch.int64)
    for block in loss_blocks:
        covered[block.start : block.stop] += 1
    if not bool((covered == 1).all()):
        raise ValueError("loss_blocks must cover every model exactly once")
    if inputs.shape[0] != num_models or inputs.shape[1] != 2 * num_pairs:
        raise ValueError(
            f"inputs must have shape [{num_models}, {2 * num_pairs}, d], got {tuple(inputs.shape)}"
        )

    extra_groups = [
        {"params": list(block.parameters), "lr": block.learning_rate or learning_rate, "weight_decay": 0.0}
        for block in loss_blocks
        if block.parameters
    ]
    optimizer = _adamw(model.params, learning_rate, weight_decay, extra_groups)
    kept = [p.detach().clone() for p in model.params]
    best_loss = torch.full((num_models,), float("inf"), dtype=model.params[0].dtype)
    best_step = torch.zeros(num_models, dtype=torch.int64)
    losses = torch.empty((num_epochs, num_models), dtype=model.params[0].dtype)
    step_metrics: dict[str, list[torch.Tensor]] = {}

    for step in range(num_epochs):
        utilities = model(inputs)
        u_first, u_second = utilities[:, :num_pairs], utilities[:, num_pairs:]
        per_model = torch.cat(
            [
                block.loss(u_first[block.start : block.stop], u_second[block.start : block.stop])
                for block in loss_blocks
            ]
        )
        if step_callback is not None:
            with torch.no_grad():
                for name, value in step_callback(model).items():
                    step_metrics.setdefault(name, []).append(value.detach().clone())
        optimizer.zero_grad(set_to_none=True)
        per_model.sum().backward()
        optimizer.step()
        with torch.no_grad():
            loss_now = per_model.detach()
            losses[step] = loss_now
            improved = loss_now < best_loss
            best_loss = torch.where(improved, loss_now, best_loss)
            best_step = torch.where(improved, step, best_step)
            for keep, param in zip(kept, model.params, strict=True):
                keep.copy_(torch.where(improved.view(-1, *([1] * (param.ndim - 1))), param, keep))

    return TrainingResult(
        params=kept,
        best_loss=best_loss,
        best_step=best_step,
        losses=losses,
        step_metrics={name: torch.stack(values) for name, values in step_metrics.items()},
    )

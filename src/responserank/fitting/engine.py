"""Batched maximum-a-posteriori fits of item utilities with the package's losses.

A batch is ``B`` independent problems on one comparison table, given as a ``[B, N]`` training mask (e.g. the
folds of a cross-validation). All problems are fitted at once: parameters ``θ`` have shape ``[B, P]``, the
training comparisons of all problems are flattened into one vector of ``M`` entries, and each loss from
:mod:`responserank.losses` is evaluated once per optimizer step (ResponseRank strata get one id per
(problem, stratum), so problems never mix). The objective is::

    Σ_b [ Σ_{i ∈ train_b} loss_i(θ_b) + (l2 / 2) · ‖θ_b‖² ]   (divided by the mean training size, for scale)

i.e. a MAP estimate under a Gaussian prior with precision ``l2`` on each parameter. Every method's loss is
convex in the utility differences and the utilities are linear in ``θ``, so with ``l2 > 0`` each problem has one
optimum; it is found with full-batch L-BFGS (strong Wolfe line search) in float64.

Model: one parameter per item (``utility = θ``; identified only up to a shift per connected component of the
comparison graph, which the L2 prior pins) or, with a ``[I, D]`` design matrix ``X`` of item features, a linear
model ``utility = X θ`` (no intercept: a shift cancels in every difference).

Methods (``rank``: lower = stronger, see :mod:`responserank.losses`):

* ``bt`` — Bradley–Terry: ``−log σ(u_chosen − u_rejected)``; uses the choices only.
* ``responserank`` — anchored Plackett–Luce over the strength order inside each stratum (singleton strata are
  BT terms, tied ranks are handled as in ``ties``).
* ``margin_bt`` — BT with margin ``margin_scale · (1 − q)``, where ``q ∈ [0, 1]`` is the comparison's rank
  quantile inside its stratum among the problem's training comparisons (0 = strongest, average over ties, 0.5
  for a singleton): the same within-stratum order information as ResponseRank, turned into a required gap.
* ``rt_regression`` — squared error of ``u_a − u_b`` against ``±g⁻¹(t)`` for the hyperbolic link ``g`` with
  ``min_rt = 0`` and ``max_rt = rt_link.max_rt``; times above ``max_rt`` are clipped to it (implied gap 0).
  Needs response times (positive, lower = stronger).
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from responserank import segments
from responserank.losses import (
    HyperbolicLink,
    bradley_terry_loss,
    margin_bradley_terry_loss,
    responserank_loss,
    rt_regression_loss,
    stratum_layout,
)

METHODS = ("bt", "responserank", "rt_regression", "margin_bt")
TIES = ("breslow", "random", "error")


@dataclass(frozen=True)
class Problem:
    """What the engine needs of a comparison table (see :class:`responserank.fitting.table.Comparisons`)."""

    item_a: np.ndarray  # [N] int64
    item_b: np.ndarray  # [N] int64
    a_chosen: np.ndarray  # [N] bool
    num_items: int
    rank: np.ndarray | None = None  # [N] float64, lower = stronger
    stratum: np.ndarray | None = None  # [N] int64 ids ≥ 0
    strength: np.ndarray | None = None  # [N] response times for rt_regression
    design: np.ndarray | None = None  # [I, D] item features, or None for one parameter per item


@dataclass(frozen=True)
class Settings:
    """Hyper-parameters shared by all methods (documented in the module docstring)."""

    l2: float = 0.1
    ties: str = "breslow"
    margin_scale: float = 1.0
    rt_link: HyperbolicLink | None = None
    max_iter: int = 500
    tolerance_grad: float = 1e-7


class ConvergenceWarning(UserWarning):
    """L-BFGS stopped before the gradient fell below the tolerance."""


def available_methods(problem: Problem) -> tuple[str, ...]:
    """Methods the data allows: BT always; RR and margin-BT with a strength; RT regression with times."""
    methods = ["bt"]
    if problem.rank is not None:
        methods += ["responserank", "rt_regression", "margin_bt"]
        if problem.strength is None:
            methods.remove("rt_regression")
    return tuple(m for m in METHODS if m in methods)


def tie_free_rank(rank: np.ndarray, stratum: np.ndarray, seed) -> np.ndarray:
    """Replace ``rank`` by its position in a (stratum, rank, random) order, breaking ties at random once.

    Fixing the tie break before optimizing keeps the objective the same at every L-BFGS step.
    """
    order = segments.lexsort(stratum, rank, np.random.default_rng(seed).random(rank.shape[0]))
    result = np.empty(rank.shape[0], dtype=np.float64)
    result[order] = np.arange(rank.shape[0], dtype=np.float64)
    return result


def within_stratum_quantile(rank: np.ndarray, group: np.ndarray) -> np.ndarray:
    """``(average rank − 1) / (n − 1)`` of each entry inside its group (0 = lowest rank), 0.5 for singletons."""
    frame = pd.DataFrame({"rank": rank, "group": group})
    ranks = frame.groupby("group")["rank"].rank(method="average").to_numpy()
    sizes = frame.groupby("group")["rank"].transform("size").to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(sizes > 1, (ranks - 1.0) / (sizes - 1.0), 0.5)


def _objective(
    problem: Problem, train: np.ndarray, method: str, settings: Settings, seed
) -> tuple[Callable[[torch.Tensor], torch.Tensor], int]:
    """Build ``θ [B, P] ↦ summed loss`` for the training entries of every problem; returns it and ``M``."""
    problem_of, index = np.nonzero(train)
    if problem_of.size == 0:
        raise ValueError("every training mask is empty")
    b = torch.as_tensor(problem_of)
    item_a = torch.as_tensor(problem.item_a[index])
    item_b = torch.as_tensor(problem.item_b[index])
    a_chosen = torch.as_tensor(problem.a_chosen[index])
    design = None if problem.design is None else torch.as_tensor(problem.design, dtype=torch.float64)

    extra: dict[str, torch.Tensor] = {}
    layout = None
    link = settings.rt_link
    if method in ("responserank", "margin_bt"):
        if problem.rank is None or problem.stratum is None:
            raise ValueError(f"method {method!r} needs a strength column")
        # One stratum id per (problem, stratum): problems never share a Plackett–Luce risk set.
        group = segments.pair_ids(
            problem_of.astype(np.int64), problem.stratum[index], int(problem.stratum.max()) + 1
        )
        rank = problem.rank[index]
        if method == "responserank":
            if settings.ties == "random":
                rank = tie_free_rank(rank, group, seed)
            # Sorted and laid out once for all L-BFGS steps; ties are exact (equal strengths only).
            layout = stratum_layout(
                torch.as_tensor(rank, dtype=torch.float64),
                torch.as_tensor(group),
                ties="error" if settings.ties == "random" else settings.ties,
            )
        else:
            quantile = within_stratum_quantile(rank, group)
            extra["margin"] = torch.as_tensor(settings.margin_scale * (1.0 - quantile), dtype=torch.float64)
    elif method == "rt_regression":
        if problem.strength is None:
            raise ValueError(
                "method 'rt_regression' needs response times (a strength where lower is stronger)"
            )
        link = link or HyperbolicLink(0.0, float(np.quantile(problem.strength, 0.95)))
        extra["time"] = torch.as_tensor(np.minimum(problem.strength[index], link.max_rt), dtype=torch.float64)
    elif method != "bt":
        raise ValueError(f"method={method!r} is not valid; expected one of {', '.join(METHODS)}")

    def objective(theta: torch.Tensor) -> torch.Tensor:
        utility = theta if design is None else theta @ design.T  # [B, I]
        ua, ub = utility[b, item_a], utility[b, item_b]
        if method == "bt":
            return bradley_terry_loss(ua, ub, a_chosen, reduction="sum")
        if method == "rt_regression":
            return rt_regression_loss(ua, ub, a_chosen, extra["time"], link=link, reduction="sum")
        chosen, rejected = torch.where(a_chosen, ua, ub), torch.where(a_chosen, ub, ua)
        if method == "margin_bt":
            return margin_bradley_terry_loss(chosen, rejected, extra["margin"], reduction="sum")
        return responserank_loss(chosen, rejected, layout=layout, reduction="sum")

    return objective, int(problem_of.size)


#: Below this many training entries a fit runs on one torch thread: the per-step tensors are small, and thread
#: hand-offs cost more than they save (on a busy machine, orders of magnitude more).
SINGLE_THREAD_BELOW = 200_000


@contextlib.contextmanager
def _torch_threads(count: int | None) -> Iterator[None]:
    previous = torch.get_num_threads()
    if count is not None and count != previous:
        torch.set_num_threads(count)
    try:
        yield
    finally:
        if torch.get_num_threads() != previous:
            torch.set_num_threads(previous)


def fit_utilities(
    problem: Problem, train: np.ndarray, method: str, settings: Settings = Settings(), seed=0
) -> tuple[np.ndarray, np.ndarray]:
    """Fit ``B`` problems (rows of the ``[B, N]`` mask ``train``) with ``method``.

    Args:
        problem: the comparisons.
        train: ``[B, N]`` bool, the training comparisons of each problem (at least one per row).
        method: one of :data:`METHODS`.
        settings: L2 precision, ties, margin scale, RT link, optimizer limits.
        seed: seeds the random tie break (``ties="random"``) only.

    Returns:
        ``(utility, parameters)``: ``[B, I]`` utilities of all items (not centred) and ``[B, P]`` parameters.
    """
    train = np.atleast_2d(np.asarray(train, dtype=bool))
    if not train.any(axis=1).all():
        raise ValueError("every problem needs at least one training comparison")
    if settings.l2 < 0:
        raise ValueError(f"l2 must be >= 0, got {settings.l2}")
    objective, num_entries = _objective(problem, train, method, settings, seed)
    num_problems = train.shape[0]
    num_params = problem.num_items if problem.design is None else problem.design.shape[1]
    scale = num_problems / num_entries  # 1 / mean training size: gradients on a per-comparison scale
    theta = torch.zeros(num_problems, num_params, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS(
        [theta],
        lr=1.0,
        max_iter=settings.max_iter,
        history_size=20,
        line_search_fn="strong_wolfe",
        tolerance_grad=settings.tolerance_grad,
        tolerance_change=1e-14,
    )

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = scale * (objective(theta) + 0.5 * settings.l2 * theta.square().sum())
        loss.backward()
        return loss

    with _torch_threads(1 if num_entries < SINGLE_THREAD_BELOW else None):
        for _ in range(3):  # restart L-BFGS's memory if it stalled (rare)
            optimizer.step(closure)
            closure()
            if float(theta.grad.abs().max()) <= 10 * settings.tolerance_grad:
                converged = True
                break
        else:
            converged = False
    if not converged:
        warnings.warn(
            f"{method}: L-BFGS did not converge (max |gradient| {float(theta.grad.abs().max()):.2e})",
            ConvergenceWarning,
            stacklevel=2,
        )
    parameters = theta.detach().numpy()
    utility = parameters if problem.design is None else parameters @ problem.design.T
    return utility, parameters


def centre(utility: np.ndarray, component: np.ndarray) -> np.ndarray:
    """Subtract, per row, the mean utility of each connected component of items (``component``: ``[I]`` ids).

    Item utilities are identified only up to one shift per component; after centring each component has mean 0.
    Differences inside a component, and therefore every prediction, are unchanged.
    """
    membership = np.eye(int(component.max()) + 1)[component]  # [I, C] one-hot
    means = (utility @ membership) / membership.sum(axis=0)
    return utility - means[..., component]

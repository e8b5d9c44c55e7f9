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
* ``ddm`` — drift-diffusion likelihood of (choice, response time) (:func:`responserank.ddm.ddm_loss`): drift
  ``u_a − u_b`` (drift scale 1, σ = 1, unbiased start), boundary ``a`` and non-decision time ``t0`` learned
  jointly with the utilities, one per stratum or one per problem (``Settings.ddm_boundary`` /
  ``ddm_non_decision_time``: ``"stratum"`` or ``"global"``); ``a = exp(α)``, ``t0 = 0.999·t_min·sigmoid(τ)``
  with ``t_min`` the fastest training RT of its group, so ``0 ≤ t0 < t_min`` holds throughout. The L2 prior
  acts on the utilities only. Not convex (L-BFGS from ``u = 0``, ``a`` from the mean RT, ``t0 = t_min/2``).
  Reported utilities are on the BT scale, ``a·u`` (``P(a chosen) = σ(a·(u_a − u_b))`` under the DDM); with
  per-stratum boundaries ``a`` is the geometric mean boundary of the problem.
* ``ez`` — closed-form EZ + Li et al. baseline: per (problem, stratum), EZ-diffusion
  (:func:`responserank.ddm.ez_diffusion`) on the share of training choices that agree with the BT utilities
  of the same problem ("correct"), and the mean and variance of the RTs of those choices, gives ``a`` and
  ``t0`` (``t0`` clipped to ``[0, 0.9·t_min]``); then each comparison's BT-scale utility gap is estimated as
  ``(a²/2) · c / (t − t0)`` (``c = ±1``; ``E[c]/E[t_dec] = 2v/a`` and ``Δu_BT = a·v``, Li et al. 2024) and the
  utilities are the ridge least-squares fit ``Σ ½(u_a − u_b − target)² + (l2/2)‖θ‖²`` to those targets.
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
from responserank.ddm import ddm_loss, ez_diffusion
from responserank.errors import ConvergenceWarning, FitError
from responserank.fitting.table import DeprecatedAChosen, plain
from responserank.losses import (
    HyperbolicLink,
    bradley_terry_loss,
    margin_bradley_terry_loss,
    responserank_loss,
    rt_regression_loss,
    stratum_layout,
)

METHODS = ("bt", "responserank", "rt_regression", "margin_bt", "ddm", "ez")
#: Fitted when no methods are named (``ddm`` and ``ez`` are opt-in: slower, and ``ddm`` is not convex).
DEFAULT_METHODS = ("bt", "responserank", "rt_regression", "margin_bt")
#: Methods that need response times (a strength where lower is stronger, in seconds for ddm / ez).
TIME_METHODS = ("rt_regression", "ddm", "ez")
DDM_SCOPES = ("stratum", "global")
TIES = ("breslow", "random", "error")


@dataclass(frozen=True)
class Problem(DeprecatedAChosen):
    """What the engine needs of a comparison table (see :class:`responserank.fitting.table.Comparisons`)."""

    item_a: np.ndarray  # [N] int64
    item_b: np.ndarray  # [N] int64
    first_chosen: np.ndarray  # [N] bool, True when option a (item_a) was chosen
    num_items: int
    rank: np.ndarray | None = None  # [N] float64, lower = stronger
    stratum: np.ndarray | None = None  # [N] int64 ids ≥ 0
    strength: np.ndarray | None = None  # [N] response times for rt_regression
    design: np.ndarray | None = None  # [I, D] item features, or None for one parameter per item


@dataclass(frozen=True)
class Settings:
    """Every option of ``responserank fit`` that has a default, with that default: the keyword defaults of
    :func:`responserank.fitting.fit` and the ``responserank fit`` command line are read from :data:`DEFAULTS`.
    :func:`fit_utilities` reads ``l2`` … ``tolerance_grad`` (see the module docstring); ``fit`` also reads
    ``folds``, ``repeats``, ``train_fractions`` and ``seed``. Bad values raise a one-line ``FitError``."""

    seed: int = 0
    l2: float = 0.1
    ties: str = "breslow"
    margin_scale: float = 1.0
    rt_link: HyperbolicLink | None = None
    ddm_boundary: str = "stratum"
    ddm_non_decision_time: str = "stratum"
    max_iter: int = 500
    tolerance_grad: float = 1e-7
    folds: int = 5
    repeats: int = 1
    train_fractions: tuple[float, ...] = (0.25, 0.5, 0.75, 1.0)

    def __post_init__(self) -> None:
        seed = self.seed
        if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
            raise FitError(f"seed must be an integer >= 0, got {plain(seed)!r}")
        if self.ties not in TIES:
            raise FitError(f"ties={self.ties!r} is not valid; expected one of {', '.join(TIES)}")
        if not self.l2 >= 0:
            raise FitError(f"l2 must be >= 0, got {self.l2}")
        if not self.margin_scale >= 0:
            raise FitError(f"margin scale must be >= 0, got {self.margin_scale}")
        scopes = {"ddm boundary": self.ddm_boundary, "ddm non-decision time": self.ddm_non_decision_time}
        for name, value in scopes.items():
            if value not in DDM_SCOPES:
                raise FitError(f"{name} {value!r} is not valid; expected one of {', '.join(DDM_SCOPES)}")


#: The defaults of ``responserank fit`` (command line and :func:`responserank.fitting.fit`).
DEFAULTS = Settings()


def available_methods(problem: Problem) -> tuple[str, ...]:
    """Methods the data allows: BT always; RR and margin-BT with a strength (rank and stratum); the time methods
    with response times."""
    methods = ["bt"]
    if problem.rank is not None and problem.stratum is not None:
        methods += ["responserank", "margin_bt"]
        if problem.strength is not None:
            methods += list(TIME_METHODS)
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


@dataclass
class Objective:
    """``loss(θ)`` summed over the training entries of all problems, its ``M`` entries, the method's own trainable
    parameters (optimised jointly with ``θ``, no prior) and a map from fitted utilities to reported ones."""

    loss: Callable[[torch.Tensor], torch.Tensor]
    num_entries: int
    extra_parameters: tuple[torch.Tensor, ...] = ()
    report: Callable[[np.ndarray], np.ndarray] = lambda utility: utility


@dataclass(frozen=True)
class Entries:
    """The training comparisons of all ``B`` problems flattened into ``M`` entries (problem by problem)."""

    problem: Problem
    train: np.ndarray  # [B, N] bool training masks
    problem_of: np.ndarray  # [M] the problem of each entry
    index: np.ndarray  # [M] the comparison of each entry
    seed: object  # of the random tie break (ties="random")

    def strata(self) -> tuple[np.ndarray, np.ndarray]:
        """``([M] rank, [M] stratum)``, one stratum id per (problem, stratum): problems never share a risk set."""
        problem_of, stratum = self.problem_of.astype(np.int64), self.problem.stratum
        group = segments.pair_ids(problem_of, stratum[self.index], int(stratum.max()) + 1)
        return self.problem.rank[self.index], group


def _groups(problem_of: np.ndarray, stratum: np.ndarray | None, scope: str) -> np.ndarray:
    """Dense ids of (problem, stratum) (``scope="stratum"``) or of the problem (``"global"``) per entry."""
    key = problem_of.astype(np.int64)
    if scope == "stratum" and stratum is not None:
        key = segments.pair_ids(key, stratum, int(stratum.max()) + 1)
    return np.unique(key, return_inverse=True)[1].reshape(-1)


def _group_min_mean(values: np.ndarray, group: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    count = np.bincount(group)
    minimum = np.full(count.size, np.inf)
    np.minimum.at(minimum, group, values)
    return minimum, np.bincount(group, weights=values) / count


def _ddm_objective(entries: Entries, pair_utilities, first_chosen, settings: Settings) -> Objective:
    problem, problem_of, index = entries.problem, entries.problem_of, entries.index
    time = problem.strength[index]
    stratum = None if problem.stratum is None else problem.stratum[index]
    boundary_group = _groups(problem_of, stratum, settings.ddm_boundary)
    t0_group = _groups(problem_of, stratum, settings.ddm_non_decision_time)
    fastest, _ = _group_min_mean(time, t0_group)
    fastest_row = fastest[t0_group]
    _, mean_decision = _group_min_mean(time - 0.5 * fastest_row, boundary_group)
    # E[decision time] = a²/4 at zero drift: the boundary whose mean matches the data's
    log_boundary = torch.tensor(np.log(2.0 * np.sqrt(np.maximum(mean_decision, 1e-3))), requires_grad=True)
    t0_logit = torch.zeros(int(t0_group.max()) + 1, dtype=torch.float64, requires_grad=True)
    fastest_t = torch.as_tensor(fastest, dtype=torch.float64)
    time_t = torch.as_tensor(time, dtype=torch.float64)
    boundary_group_t, t0_group_t = torch.as_tensor(boundary_group), torch.as_tensor(t0_group)
    row = torch.arange(time.size)
    problem_of_group = np.zeros(int(boundary_group.max()) + 1, dtype=np.int64)
    problem_of_group[boundary_group] = problem_of

    def loss(theta: torch.Tensor) -> torch.Tensor:
        t0 = 0.999 * fastest_t * torch.sigmoid(t0_logit)
        return ddm_loss(
            *pair_utilities(theta),
            first_chosen,
            time_t,
            boundary=log_boundary.exp()[boundary_group_t],
            non_decision_time=t0[t0_group_t],
            stratum=row,
            reduction="sum",
        )

    def report(utility: np.ndarray) -> np.ndarray:
        log_a = log_boundary.detach().numpy()
        scale = np.exp(np.bincount(problem_of_group, weights=log_a) / np.bincount(problem_of_group))
        return utility * scale[:, None]

    return Objective(loss, int(problem_of.size), (log_boundary, t0_logit), report)


def _ez_inputs(entries: Entries, settings: Settings) -> dict:
    """Target BT-scale utility gaps ``(a²/2)·c/(t − t0)`` with EZ's ``(a, t0)`` per (problem, stratum)."""
    problem, problem_of, index = entries.problem, entries.problem_of, entries.index
    bt_utility, _ = fit_utilities(problem, entries.train, "bt", settings)
    first_chosen = problem.first_chosen[index]
    gap = bt_utility[problem_of, problem.item_a[index]] - bt_utility[problem_of, problem.item_b[index]]
    correct = np.where(gap == 0, True, (gap > 0) == first_chosen)
    time = problem.strength[index]
    stratum = None if problem.stratum is None else problem.stratum[index]
    group = _groups(problem_of, stratum, "stratum")
    n = np.bincount(group).astype(np.float64)
    n_correct = np.bincount(group, weights=correct)
    # moments of the "correct" RTs; groups with fewer than two use all their RTs
    use = np.where((n_correct >= 2)[group], correct, True).astype(np.float64)
    count = np.bincount(group, weights=use)
    mean = np.bincount(group, weights=use * time) / count
    variance = np.bincount(group, weights=use * (time - mean[group]) ** 2) / np.maximum(count - 1, 1)
    variance = np.where(count >= 2, variance, np.nan)
    pooled = np.nanmedian(variance) if np.isfinite(variance).any() else 1.0
    variance = np.where(np.isfinite(variance) & (variance > 0), variance, pooled)
    ez = ez_diffusion(n_correct / n, variance, mean, num_trials=np.maximum(n, 2))
    fastest, _ = _group_min_mean(time, group)
    t0 = np.clip(ez.non_decision_time, 0.0, 0.9 * fastest)
    sign = np.where(first_chosen, 1.0, -1.0)
    return {"target": torch.as_tensor(ez.boundary[group] ** 2 / 2.0 * sign / (time - t0[group]))}


# The per-method losses: the method's inputs, a dict computed once per fit from the strength signal of the
# training entries, and its summed loss of the entries' utilities ``u_first, u_second`` (``[M]``), the choices
# ``first_chosen`` and those inputs, evaluated at every L-BFGS step.


def _bt_loss(u_first, u_second, first_chosen) -> torch.Tensor:
    return bradley_terry_loss(u_first, u_second, first_chosen, reduction="sum")


def _chosen_rejected(u_first, u_second, first_chosen) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.where(first_chosen, u_first, u_second), torch.where(first_chosen, u_second, u_first)


def _responserank_inputs(entries: Entries, settings: Settings) -> dict:
    """The strength order inside each (problem, stratum), sorted and laid out once for all L-BFGS steps."""
    rank, group = entries.strata()
    if settings.ties == "random":
        rank = tie_free_rank(rank, group, entries.seed)
    # ties are exact (equal strengths only)
    ties = "error" if settings.ties == "random" else settings.ties
    layout = stratum_layout(torch.as_tensor(rank, dtype=torch.float64), torch.as_tensor(group), ties=ties)
    return {"layout": layout}


def _responserank_loss(u_first, u_second, first_chosen, layout) -> torch.Tensor:
    chosen, rejected = _chosen_rejected(u_first, u_second, first_chosen)
    return responserank_loss(chosen, rejected, layout=layout, reduction="sum")


def _margin_bt_inputs(entries: Entries, settings: Settings) -> dict:
    """Margin ``margin_scale · (1 − q)``, ``q`` the rank quantile inside the (problem, stratum)."""
    quantile = within_stratum_quantile(*entries.strata())
    return {"margin": torch.as_tensor(settings.margin_scale * (1.0 - quantile), dtype=torch.float64)}


def _margin_bt_loss(u_first, u_second, first_chosen, margin) -> torch.Tensor:
    chosen, rejected = _chosen_rejected(u_first, u_second, first_chosen)
    return margin_bradley_terry_loss(chosen, rejected, margin, reduction="sum")


def _rt_regression_inputs(entries: Entries, settings: Settings) -> dict:
    """Response times clipped to the link's ``max_rt`` (default: the table's 95th percentile)."""
    strength = entries.problem.strength
    link = settings.rt_link or HyperbolicLink(0.0, float(np.quantile(strength, 0.95)))
    time = torch.as_tensor(np.minimum(strength[entries.index], link.max_rt), dtype=torch.float64)
    return {"time": time, "link": link}


def _rt_regression_loss(u_first, u_second, first_chosen, time, link) -> torch.Tensor:
    return rt_regression_loss(u_first, u_second, first_chosen, time, link=link, reduction="sum")


def _ez_loss(u_first, u_second, first_chosen, target) -> torch.Tensor:
    return 0.5 * (u_first - u_second - target).square().sum()


#: method → (inputs, loss); ``ddm`` also learns boundaries and non-decision times (:func:`_ddm_objective`).
LOSSES = {
    "bt": (lambda entries, settings: {}, _bt_loss),
    "responserank": (_responserank_inputs, _responserank_loss),
    "rt_regression": (_rt_regression_inputs, _rt_regression_loss),
    "margin_bt": (_margin_bt_inputs, _margin_bt_loss),
    "ez": (_ez_inputs, _ez_loss),
}


def _objective(problem: Problem, train: np.ndarray, method: str, settings: Settings, seed) -> Objective:
    """Build ``θ [B, P] ↦ summed loss`` for the training entries of every problem."""
    problem_of, index = np.nonzero(train)
    if problem_of.size == 0:
        raise ValueError("every training mask is empty")
    if method not in METHODS:
        raise ValueError(f"method={method!r} is not valid; expected one of {', '.join(METHODS)}")
    if method not in available_methods(problem):
        need = (
            "response times (a strength where lower is stronger)"
            if method in TIME_METHODS
            else "a strength column"
        )
        raise ValueError(f"method {method!r} needs {need}")
    entries = Entries(problem, train, problem_of, index, seed)
    b = torch.as_tensor(problem_of)
    item_a = torch.as_tensor(problem.item_a[index])
    item_b = torch.as_tensor(problem.item_b[index])
    first_chosen = torch.as_tensor(problem.first_chosen[index])
    design = None if problem.design is None else torch.as_tensor(problem.design, dtype=torch.float64)

    def pair_utilities(theta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        utility = theta if design is None else theta @ design.T  # [B, I]
        return utility[b, item_a], utility[b, item_b]

    if method == "ddm":
        return _ddm_objective(entries, pair_utilities, first_chosen, settings)
    inputs, loss = LOSSES[method]
    fixed = inputs(entries, settings)
    return Objective(lambda theta: loss(*pair_utilities(theta), first_chosen, **fixed), int(problem_of.size))


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
    problem: Problem, train: np.ndarray, method: str, settings: Settings = DEFAULTS, seed=0
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
    objective = _objective(problem, train, method, settings, seed)
    num_entries = objective.num_entries
    num_problems = train.shape[0]
    num_params = problem.num_items if problem.design is None else problem.design.shape[1]
    scale = num_problems / num_entries  # 1 / mean training size: gradients on a per-comparison scale
    theta = torch.zeros(num_problems, num_params, dtype=torch.float64, requires_grad=True)
    trainable = [theta, *objective.extra_parameters]
    optimizer = torch.optim.LBFGS(
        trainable,
        lr=1.0,
        max_iter=settings.max_iter,
        history_size=20,
        line_search_fn="strong_wolfe",
        tolerance_grad=settings.tolerance_grad,
        tolerance_change=1e-14,
    )

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = scale * (objective.loss(theta) + 0.5 * settings.l2 * theta.square().sum())
        loss.backward()
        return loss

    with _torch_threads(1 if num_entries < SINGLE_THREAD_BELOW else None):
        for _ in range(3):  # restart L-BFGS's memory if it stalled (rare)
            optimizer.step(closure)
            closure()
            if _max_gradient(trainable) <= 10 * settings.tolerance_grad:
                break
    if _max_gradient(trainable) > 10 * settings.tolerance_grad:
        message = f"{method}: L-BFGS did not converge (max |gradient| {_max_gradient(trainable):.2e})"
        warnings.warn(message, ConvergenceWarning, stacklevel=2)
    parameters = theta.detach().numpy()
    utility = parameters if problem.design is None else parameters @ problem.design.T
    return objective.report(utility), objective.report(parameters)


def _max_gradient(tensors: list[torch.Tensor]) -> float:
    return max(float(t.grad.abs().max()) for t in tensors if t.grad is not None)


def centre(utility: np.ndarray, component: np.ndarray) -> np.ndarray:
    """Subtract, per row, the mean utility of each connected component of items (``component``: ``[I]`` ids).

    Item utilities are identified only up to one shift per component; after centring each component has mean 0.
    Differences inside a component, and therefore every prediction, are unchanged.
    """
    membership = np.eye(int(component.max()) + 1)[component]  # [I, C] one-hot
    means = (utility @ membership) / membership.sum(axis=0)
    return utility - means[..., component]

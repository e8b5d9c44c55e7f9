"""``responserank.fit``: utilities from a comparison table, scored on held-out folds, BT vs ResponseRank.

One call reads and validates the table (:mod:`.table`), draws repeated stratified K-fold splits with nested
training subsamples (:mod:`.splits`), fits every method on every split plus once on all comparisons
(:mod:`.engine`, one batched fit per method and training fraction), scores held-out choices and compares methods
(:mod:`.evaluate`), and optionally writes a results folder (:mod:`.report`).

Seeds: ``seed`` feeds one ``numpy.random.SeedSequence`` whose children draw, in this order, the splits, the
random groups inside strata (``group_size``) and the random tie break (``ties="random"``). Same seed, same data →
same numbers.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import scipy.stats
from tqdm.auto import tqdm

from responserank.errors import ComparisonTableError, ConvergenceWarning, DataWarning, FitError
from responserank.fitting.engine import (
    DEFAULT_METHODS,
    DEFAULTS,
    METHODS,
    Problem,
    Settings,
    available_methods,
    centre,
    fit_utilities,
)
from responserank.fitting.evaluate import heldout_scores, jackknife_se, paired_comparisons, unseen_share
from responserank.fitting.splits import kfold_splits
from responserank.fitting.table import (
    Columns,
    Comparisons,
    prepare_comparisons,
    read_table,
    split_strata_into_random_groups,
)
from responserank.losses import HyperbolicLink
from responserank.reporting import summarize


@dataclass
class FitResult:
    """Everything :func:`fit` computed. Utilities are centred (mean 0 per connected group of items).

    Attributes:
        utilities: one row per (method, item): ``utility`` (fit on all comparisons), ``utility_sd``
            (grouped-jackknife standard error over the folds), ``comparisons`` (how often the item was compared).
        metrics: one row per method: held-out accuracy and log-likelihood at training fraction 1, means over
            the ``repeats × folds`` splits (``*_sd``: SD over splits), ``n_splits``, ``unseen_share``.
        fold_metrics: one row per (method, training fraction, repeat, fold).
        learning_curve: one row per (method, training fraction): mean, SD and CI95 of held-out accuracy.
        paired: each method against BT at fraction 1 (:func:`responserank.fitting.evaluate.paired_comparisons`).
        coefficients: feature weights per method (feature model only, else empty).
        comparisons: the validated table.
        full_fit: method → ``[I]`` centred utilities of the fit on all comparisons.
        settings: the options used (for the report).
        warnings: data warnings raised on the way.
    """

    utilities: pd.DataFrame
    metrics: pd.DataFrame
    fold_metrics: pd.DataFrame
    learning_curve: pd.DataFrame
    paired: pd.DataFrame
    coefficients: pd.DataFrame
    comparisons: Comparisons
    full_fit: dict[str, np.ndarray]
    settings: dict
    warnings: list[str] = field(default_factory=list)

    def write(self, out: str | os.PathLike, command: str | None = None) -> Path:
        """Write the results folder (see :func:`responserank.fitting.report.write_results`)."""
        from responserank.fitting.report import write_results

        return write_results(self, out, command=command)


class _FullFit(NamedTuple):
    """A method's fit on all comparisons: ``[I]`` centred utilities, their jackknife SE, feature-weight rows."""

    utility: np.ndarray
    utility_sd: np.ndarray
    coefficients: list[dict]


def fit(
    table: str | os.PathLike | pd.DataFrame,
    *,
    item_a: str,
    item_b: str,
    choice: str,
    a_chosen_value: object,
    strength: str | None = None,
    strength_higher_is_stronger: bool = False,
    stratum: str | Sequence[str] = (),
    group_size: int | None = None,
    query: str | None = None,
    item_features: str | os.PathLike | pd.DataFrame | None = None,
    item_key: str | None = None,
    feature_columns: Sequence[str] | None = None,
    methods: Sequence[str] | None = None,
    folds: int = DEFAULTS.folds,
    repeats: int = DEFAULTS.repeats,
    train_fractions: Sequence[float] = DEFAULTS.train_fractions,
    l2: float = DEFAULTS.l2,
    ties: str = DEFAULTS.ties,
    margin_scale: float = DEFAULTS.margin_scale,
    rt_link_max: float | None = None,
    ddm_boundary: str = DEFAULTS.ddm_boundary,
    ddm_non_decision_time: str = DEFAULTS.ddm_non_decision_time,
    seed: int = DEFAULTS.seed,
    out: str | os.PathLike | None = None,
    progress: bool | None = None,
    command: str | None = None,
) -> FitResult:
    """Learn utilities from a comparison table with BT, ResponseRank and baselines; score them on held-out folds.

    Args:
        table: path of a CSV / TSV / Parquet / JSONL file, or a DataFrame; one row per pairwise choice.
        item_a, item_b: columns with the ids of the two options.
        choice: column saying which option was chosen; ``a_chosen_value`` marks option a (one other value = b).
        strength: optional strength column; a response time (lower = stronger, > 0) unless
            ``strength_higher_is_stronger``.
        stratum: column(s) whose value combinations delimit comparable strengths (e.g. ``"subject"``); default
            one global stratum.
        group_size: additionally split each stratum into random groups of this many comparisons.
        query: row filter, e.g. ``"YesNo == 0 and subject in [1, 2]"``: column names, literals, comparisons and
            and/or/not only (:mod:`responserank.fitting.query`; never evaluated as Python).
        item_features, item_key, feature_columns: optional per-item features table for a linear feature model
            (default: one utility parameter per item).
        methods: subset of ``bt``, ``responserank``, ``rt_regression``, ``margin_bt``, ``ddm``, ``ez`` (default: the first four where the data
            allows; ``bt`` is always included as the baseline).
        folds, repeats: ``repeats`` × stratified ``folds``-fold cross-validation.
        train_fractions: shares of each fold's training comparisons for the learning curve (1.0 is always added;
            the metrics and paired tests use 1.0).
        l2: precision of the Gaussian prior on each parameter (MAP / L2 penalty ``l2/2·‖θ‖²`` on summed losses).
        ties: tied strengths inside a stratum: ``breslow`` (shared risk set), ``random`` (seeded), ``error``.
        margin_scale: margin of the strongest comparison of a stratum for ``margin_bt`` (in utility units).
        rt_link_max: ``max_rt`` of the hyperbolic link of ``rt_regression`` (default: the table's 95th
            percentile response time; longer times are clipped to it).
        ddm_boundary, ddm_non_decision_time: ``"stratum"`` (default: one boundary / non-decision time per
            stratum, e.g. per subject) or ``"global"`` (one per fit) for the ``ddm`` method.
        seed: seeds every random draw (see the module docstring).
        out: if given, write the results folder there (nothing is written if anything fails).
        progress: show a progress bar (default: when stderr is a terminal).
        command: the command line to record in the report.

    The defaults are those of :data:`responserank.fitting.engine.DEFAULTS`.

    Returns:
        :class:`FitResult`.

    Raises:
        ComparisonTableError: bad table or column mapping (message names column and example row).
        FitError: bad option (also a ValueError and a responserank.reporting.AnalysisError).
    """
    if rt_link_max is not None and not rt_link_max > 0:
        raise FitError(f"rt link max must be > 0, got {rt_link_max}")
    settings = Settings(
        seed=seed,
        l2=l2,
        ties=ties,
        margin_scale=margin_scale,
        rt_link=None if rt_link_max is None else HyperbolicLink(0.0, float(rt_link_max)),
        ddm_boundary=ddm_boundary,
        ddm_non_decision_time=ddm_non_decision_time,
        folds=folds,
        repeats=repeats,
        train_fractions=tuple(sorted({*map(float, train_fractions), 1.0})),
    )
    if out is not None:  # fail before the work, not after it
        from responserank.fitting.report import check_results_folder

        check_results_folder(out)
    stratum = (stratum,) if isinstance(stratum, str) else tuple(stratum or ())
    columns = Columns(item_a, item_b, choice, a_chosen_value, strength, strength_higher_is_stronger, stratum)
    split_seed, group_seed, tie_seed = np.random.SeedSequence(seed).spawn(3)
    features = None if item_features is None else _load(item_features)
    comparisons = prepare_comparisons(
        _load(table),
        columns,
        query=query,
        item_features=features,
        item_key=item_key,
        feature_columns=feature_columns,
    )
    split_stratum = comparisons.stratum
    comparisons = _split_strata(comparisons, group_size, group_seed)
    problem = _problem(comparisons)
    methods = _choose_methods(methods, available_methods(problem), strength is not None)
    splits = kfold_splits(split_stratum, folds, repeats, settings.train_fractions, split_seed)
    for message in comparisons.warnings:
        warnings.warn(message, DataWarning, stacklevel=2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        fold_metrics, full = _cross_validate(
            problem, comparisons, splits, methods, settings, tie_seed, progress
        )
    convergence = [str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning)]
    for message in convergence:
        warnings.warn(message, ConvergenceWarning, stacklevel=2)
    options = _options_used(settings, table, columns, query, group_size, item_features, methods, rt_link_max)
    result = _result(comparisons, fold_metrics, full, options, [*comparisons.warnings, *convergence])
    if out is not None:
        result.write(out, command=command)
    return result


def _load(table) -> pd.DataFrame:
    return table if isinstance(table, pd.DataFrame) else read_table(table)


def _split_strata(comparisons: Comparisons, group_size: int | None, seed) -> Comparisons:
    if group_size is None:
        return comparisons
    if comparisons.strength is None:
        raise FitError("a group size splits strata for the strength signal; it needs --strength")
    return split_strata_into_random_groups(comparisons, group_size, int(seed.generate_state(1)[0]))


def _problem(comparisons: Comparisons) -> Problem:
    return Problem(
        comparisons.item_a,
        comparisons.item_b,
        comparisons.first_chosen,
        comparisons.num_items,
        rank=comparisons.rank,
        stratum=comparisons.stratum,
        strength=comparisons.strength if comparisons.strength_is_time else None,
        design=comparisons.design,
    )


def _choose_methods(methods, available, has_strength) -> tuple[str, ...]:
    if methods is None:
        return tuple(m for m in available if m in DEFAULT_METHODS)
    methods = tuple(dict.fromkeys(methods))
    for method in methods:
        if method not in METHODS:
            raise FitError(f"method {method!r} is not valid; expected one of {', '.join(METHODS)}")
        if method not in available:
            need = "a strength column" if not has_strength else "response times (lower = stronger)"
            raise FitError(f"method {method!r} needs {need}; available here: {', '.join(available)}")
    if "bt" not in methods:
        methods = ("bt", *methods)  # the baseline of every comparison
    return methods


def _cross_validate(problem, comparisons, splits, methods, settings, tie_seed, progress):
    """One batched fit per method and training fraction; returns the fold metrics and the fits on all data."""
    unseen = unseen_share(
        comparisons.item_a, comparisons.item_b, splits.train, splits.heldout, comparisons.num_items
    )
    fold_rows, full = [], {}
    total = len(methods) * len(settings.train_fractions)
    disable = None if progress is None else not progress  # None: a bar only when stderr is a terminal
    with tqdm(total=total, desc="fitting", unit="fit", disable=disable, leave=False) as bar:
        for method in methods:
            for fraction in settings.train_fractions:
                bar.set_postfix_str(f"{method} @ {fraction:.0%}")
                rows = np.flatnonzero(np.isclose(splits.fraction, fraction))
                split = splits.select(rows)
                utility, whole = _fit_split(problem, comparisons, split, method, fraction, settings, tie_seed)
                full |= {method: whole} if whole else {}
                accuracy, log_likelihood = heldout_scores(
                    utility, comparisons.item_a, comparisons.item_b, comparisons.first_chosen, split.heldout
                )
                fold_rows.append(_fold_frame(method, fraction, split, accuracy, log_likelihood, unseen[rows]))
                bar.update()
    return pd.concat(fold_rows, ignore_index=True), full


def _fit_split(problem, comparisons, split, method, fraction, settings, tie_seed):
    """``[B, I]`` centred utilities fitted on the training masks of ``split``, and at fraction 1 the fit on all
    comparisons as a :class:`_FullFit` (else None)."""
    train = split.train
    is_full = fraction == 1.0
    if is_full:  # one extra problem: every comparison, for the reported utilities
        train = np.vstack([train, np.ones((1, comparisons.num_comparisons), dtype=bool)])
    try:
        utility, parameters = fit_utilities(problem, train, method, settings, seed=tie_seed)
    except ValueError as error:  # e.g. tied strengths with ties="error"
        raise FitError(f"{method}: {error}") from error
    utility = centre(utility, comparisons.component)
    if not is_full:
        return utility, None
    coefficients = []
    if comparisons.design is not None:
        se = jackknife_se(parameters[:-1], split.repeat)
        coefficients = [
            {"method": method, "feature": name, "weight": w, "weight_sd": s}
            for name, w, s in zip(comparisons.feature_names, parameters[-1], se, strict=True)
        ]
    return utility[:-1], _FullFit(utility[-1], jackknife_se(utility[:-1], split.repeat), coefficients)


def _fold_frame(method, fraction, split, accuracy, log_likelihood, unseen) -> pd.DataFrame:
    columns = {"method": method, "train_fraction": fraction, "repeat": split.repeat, "fold": split.fold}
    columns |= {"n_train": split.train.sum(axis=1), "n_heldout": split.heldout.sum(axis=1)}
    columns |= {
        "heldout_accuracy": accuracy,
        "heldout_log_likelihood": log_likelihood,
        "unseen_share": unseen,
    }
    return pd.DataFrame(columns)


def _options_used(settings, table, columns, query, group_size, item_features, methods, rt_link_max) -> dict:
    """The options of a fit, for the report (:attr:`FitResult.settings`); a DataFrame is shown as ``<DataFrame>``."""

    def shown(source):
        return "<DataFrame>" if isinstance(source, pd.DataFrame) else source

    features = None if item_features is None else str(shown(item_features))
    options = {"table": shown(table), "columns": columns, "query": query, "group_size": group_size}
    options |= {
        "item_features": features,
        "methods": methods,
        "folds": settings.folds,
        "repeats": settings.repeats,
    }
    options |= {"train_fractions": list(settings.train_fractions), "l2": settings.l2, "ties": settings.ties}
    options |= {"margin_scale": settings.margin_scale, "rt_link_max": rt_link_max}
    options |= {
        "ddm_boundary": settings.ddm_boundary,
        "ddm_non_decision_time": settings.ddm_non_decision_time,
    }
    return options | {"seed": settings.seed}


def _result(comparisons, fold_metrics, full, options, messages) -> FitResult:
    methods = options["methods"]
    coefficients = [row for method in methods for row in full[method].coefficients]
    full_fraction = fold_metrics[fold_metrics["train_fraction"] == 1.0]
    return FitResult(
        utilities=_utility_table(comparisons, methods, full),
        metrics=_metrics_table(fold_metrics),
        fold_metrics=fold_metrics,
        learning_curve=_learning_curve(fold_metrics),
        paired=paired_comparisons(full_fraction, heldout_share=1.0 / (options["folds"] - 1)),
        coefficients=pd.DataFrame(coefficients, columns=["method", "feature", "weight", "weight_sd"]),
        comparisons=comparisons,
        full_fit={method: full[method].utility for method in methods},
        settings=options,
        warnings=messages,
    )


def _utility_table(comparisons: Comparisons, methods, full: dict[str, _FullFit]) -> pd.DataFrame:
    counts = np.bincount(
        np.concatenate([comparisons.item_a, comparisons.item_b]), minlength=comparisons.num_items
    )
    return pd.DataFrame(
        {
            "method": np.repeat(methods, comparisons.num_items),
            "item": np.tile(comparisons.items, len(methods)),
            "utility": np.concatenate([full[m].utility for m in methods]),
            "utility_sd": np.concatenate([full[m].utility_sd for m in methods]),
            "comparisons": np.tile(counts, len(methods)),
        }
    )


def _metrics_table(fold_metrics: pd.DataFrame) -> pd.DataFrame:
    full = fold_metrics[fold_metrics["train_fraction"] == 1.0]
    grouped = full.groupby("method", sort=False)
    table = grouped.agg(
        heldout_accuracy=("heldout_accuracy", "mean"),
        heldout_log_likelihood=("heldout_log_likelihood", "mean"),
        heldout_accuracy_sd=("heldout_accuracy", "std"),
        heldout_log_likelihood_sd=("heldout_log_likelihood", "std"),
        n_splits=("heldout_accuracy", "size"),
        unseen_share=("unseen_share", "mean"),
    )
    return table.reset_index()


def _learning_curve(fold_metrics: pd.DataFrame) -> pd.DataFrame:
    """Mean, SD and CI95 of held-out accuracy per (method, fraction); the CI uses the Nadeau–Bengio correction
    ``sqrt((1/J + n_heldout/n_train) · s²)`` because the splits share training data (see :mod:`.evaluate`)."""
    rows = []
    for (method, fraction), group in fold_metrics.groupby(["method", "train_fraction"], sort=False):
        accuracy = summarize(group["heldout_accuracy"])
        ratio = group["n_heldout"].mean() / group["n_train"].mean()
        ci95 = math.nan
        if accuracy.n > 1:
            se = math.sqrt((1.0 / accuracy.n + ratio) * accuracy.sd**2)
            ci95 = float(scipy.stats.t.ppf(0.975, accuracy.n - 1)) * se
        row = {"method": method, "train_fraction": fraction, "n_train": float(group["n_train"].mean())}
        row |= {
            "heldout_accuracy": accuracy.mean,
            "heldout_accuracy_sd": accuracy.sd,
            "heldout_accuracy_ci95": ci95,
        }
        row |= {
            "heldout_log_likelihood": float(group["heldout_log_likelihood"].mean()),
            "n_splits": accuracy.n,
        }
        rows.append(row)
    return pd.DataFrame(rows)


__all__ = ["ComparisonTableError", "DataWarning", "FitError", "FitResult", "fit"]

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

import numpy as np
import pandas as pd
import scipy.stats
from tqdm.auto import tqdm

from responserank.errors import ComparisonTableError, ConvergenceWarning, DataWarning, FitError
from responserank.fitting.engine import (
    DDM_SCOPES,
    DEFAULT_METHODS,
    METHODS,
    TIES,
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
    plain,
    prepare_comparisons,
    read_table,
    split_strata_into_random_groups,
)
from responserank.losses import HyperbolicLink
from responserank.reporting import summarize

DEFAULT_FRACTIONS = (0.25, 0.5, 0.75, 1.0)


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


def _load(table) -> pd.DataFrame:
    if isinstance(table, pd.DataFrame):
        return table
    return read_table(table)


def _validate_options(
    methods, available, ties, l2, margin_scale, group_size, has_strength
) -> tuple[str, ...]:
    if ties not in TIES:
        raise FitError(f"ties={ties!r} is not valid; expected one of {', '.join(TIES)}")
    if not l2 >= 0:
        raise FitError(f"l2 must be >= 0, got {l2}")
    if not margin_scale >= 0:
        raise FitError(f"margin scale must be >= 0, got {margin_scale}")
    if group_size is not None and not has_strength:
        raise FitError("a group size splits strata for the strength signal; it needs --strength")
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
    folds: int = 5,
    repeats: int = 1,
    train_fractions: Sequence[float] = DEFAULT_FRACTIONS,
    l2: float = 0.1,
    ties: str = "breslow",
    margin_scale: float = 1.0,
    rt_link_max: float | None = None,
    ddm_boundary: str = "stratum",
    ddm_non_decision_time: str = "stratum",
    seed: int = 0,
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

    Returns:
        :class:`FitResult`.

    Raises:
        ComparisonTableError: bad table or column mapping (message names column and example row).
        FitError: bad option (also a ValueError and a responserank.reporting.AnalysisError).
    """
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise FitError(f"seed must be an integer >= 0, got {plain(seed)!r}")
    if out is not None:  # fail before the work, not after it
        from responserank.fitting.report import check_results_folder

        check_results_folder(out)
    stratum = (stratum,) if isinstance(stratum, str) else tuple(stratum or ())
    columns = Columns(item_a, item_b, choice, a_chosen_value, strength, strength_higher_is_stronger, stratum)
    features = None if item_features is None else _load(item_features)
    comparisons = prepare_comparisons(
        _load(table),
        columns,
        query=query,
        item_features=features,
        item_key=item_key,
        feature_columns=feature_columns,
    )
    split_seed, group_seed, tie_seed = np.random.SeedSequence(seed).spawn(3)
    split_stratum = comparisons.stratum
    if group_size is not None and strength is not None:
        comparisons = split_strata_into_random_groups(
            comparisons, group_size, int(group_seed.generate_state(1)[0])
        )
    problem = Problem(
        comparisons.item_a,
        comparisons.item_b,
        comparisons.a_chosen,
        comparisons.num_items,
        rank=comparisons.rank,
        stratum=comparisons.stratum,
        strength=comparisons.strength if comparisons.strength_is_time else None,
        design=comparisons.design,
    )
    methods = _validate_options(
        methods, available_methods(problem), ties, l2, margin_scale, group_size, strength is not None
    )
    if rt_link_max is not None and not rt_link_max > 0:
        raise FitError(f"rt link max must be > 0, got {rt_link_max}")
    for name, value in (("ddm boundary", ddm_boundary), ("ddm non-decision time", ddm_non_decision_time)):
        if value not in DDM_SCOPES:
            raise FitError(f"{name} {value!r} is not valid; expected one of {', '.join(DDM_SCOPES)}")
    settings = Settings(
        l2=float(l2),
        ties=ties,
        margin_scale=float(margin_scale),
        rt_link=None if rt_link_max is None else HyperbolicLink(0.0, float(rt_link_max)),
        ddm_boundary=ddm_boundary,
        ddm_non_decision_time=ddm_non_decision_time,
    )
    fractions = sorted({*map(float, train_fractions), 1.0})
    splits = kfold_splits(split_stratum, folds, repeats, fractions, split_seed)
    for message in comparisons.warnings:
        warnings.warn(message, DataWarning, stacklevel=2)

    n = comparisons.num_comparisons
    fold_rows, full_fit, jackknife, coefficient_rows = [], {}, {}, []
    unseen = unseen_share(
        comparisons.item_a, comparisons.item_b, splits.train, splits.heldout, comparisons.num_items
    )
    bar = tqdm(
        total=len(methods) * len(fractions),
        desc="fitting",
        unit="fit",
        disable=(not progress) if progress is not None else None,
        leave=False,
    )
    with bar, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        for method in methods:
            for fraction in fractions:
                bar.set_postfix_str(f"{method} @ {fraction:.0%}")
                rows = np.flatnonzero(np.isclose(splits.fraction, fraction))
                train = splits.train[rows]
                is_full = fraction == 1.0
                if is_full:  # one extra problem: every comparison, for the reported utilities
                    train = np.vstack([train, np.ones((1, n), dtype=bool)])
                try:
                    utility, parameters = fit_utilities(problem, train, method, settings, seed=tie_seed)
                except ValueError as error:  # e.g. tied strengths with ties="error"
                    raise FitError(f"{method}: {error}") from error
                utility = centre(utility, comparisons.component)
                if is_full:
                    full_fit[method] = utility[-1]
                    jackknife[method] = jackknife_se(utility[:-1], splits.repeat[rows])
                    if comparisons.design is not None:
                        se = jackknife_se(parameters[:-1], splits.repeat[rows])
                        coefficient_rows += [
                            {"method": method, "feature": name, "weight": w, "weight_sd": s}
                            for name, w, s in zip(comparisons.feature_names, parameters[-1], se, strict=True)
                        ]
                    utility = utility[:-1]
                accuracy, log_likelihood = heldout_scores(
                    utility,
                    comparisons.item_a,
                    comparisons.item_b,
                    comparisons.a_chosen,
                    splits.heldout[rows],
                )
                fold_rows.append(
                    pd.DataFrame(
                        {
                            "method": method,
                            "train_fraction": fraction,
                            "repeat": splits.repeat[rows],
                            "fold": splits.fold[rows],
                            "n_train": splits.train[rows].sum(axis=1),
                            "n_heldout": splits.heldout[rows].sum(axis=1),
                            "heldout_accuracy": accuracy,
                            "heldout_log_likelihood": log_likelihood,
                            "unseen_share": unseen[rows],
                        }
                    )
                )
                bar.update()
    convergence = [str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning)]
    for message in convergence:
        warnings.warn(message, ConvergenceWarning, stacklevel=2)

    fold_metrics = pd.concat(fold_rows, ignore_index=True)
    result = FitResult(
        utilities=_utility_table(comparisons, methods, full_fit, jackknife),
        metrics=_metrics_table(fold_metrics),
        fold_metrics=fold_metrics,
        learning_curve=_learning_curve(fold_metrics),
        paired=paired_comparisons(
            fold_metrics[fold_metrics["train_fraction"] == 1.0], heldout_share=1.0 / (folds - 1)
        ),
        coefficients=pd.DataFrame(coefficient_rows, columns=["method", "feature", "weight", "weight_sd"]),
        comparisons=comparisons,
        full_fit=full_fit,
        settings={
            "table": table if not isinstance(table, pd.DataFrame) else "<DataFrame>",
            "columns": columns,
            "query": query,
            "group_size": group_size,
            "item_features": None
            if item_features is None
            else str(item_features)
            if not isinstance(item_features, pd.DataFrame)
            else "<DataFrame>",
            "methods": methods,
            "folds": folds,
            "repeats": repeats,
            "train_fractions": fractions,
            "l2": l2,
            "ties": ties,
            "margin_scale": margin_scale,
            "rt_link_max": rt_link_max,
            "ddm_boundary": ddm_boundary,
            "ddm_non_decision_time": ddm_non_decision_time,
            "seed": seed,
        },
        warnings=[*comparisons.warnings, *convergence],
    )
    if out is not None:
        result.write(out, command=command)
    return result


def _utility_table(comparisons: Comparisons, methods, full_fit, jackknife) -> pd.DataFrame:
    counts = np.bincount(
        np.concatenate([comparisons.item_a, comparisons.item_b]), minlength=comparisons.num_items
    )
    return pd.DataFrame(
        {
            "method": np.repeat(methods, comparisons.num_items),
            "item": np.tile(comparisons.items, len(methods)),
            "utility": np.concatenate([full_fit[m] for m in methods]),
            "utility_sd": np.concatenate([jackknife[m] for m in methods]),
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
        rows.append(
            {
                "method": method,
                "train_fraction": fraction,
                "n_train": float(group["n_train"].mean()),
                "heldout_accuracy": accuracy.mean,
                "heldout_accuracy_sd": accuracy.sd,
                "heldout_accuracy_ci95": ci95,
                "heldout_log_likelihood": float(group["heldout_log_likelihood"].mean()),
                "n_splits": accuracy.n,
            }
        )
    return pd.DataFrame(rows)


__all__ = ["ComparisonTableError", "DataWarning", "FitError", "FitResult", "fit"]

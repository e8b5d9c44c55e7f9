"""Statistical reproduction: N-trial summaries, t intervals, Welch tests and bootstrap crossing points.

One experiment of many trials is reduced to a :class:`ReproductionSummary`:

* ``cells``: one row per dataset config × learner × metric × size with ``n`` (trials with a value; a constant
  PDC is NaN and not counted), ``mean``, ``sd`` (ddof 1) and ``ci95`` (half-width of the Student-t 95 % interval
  of the mean, ``t_{0.975, n−1}·sd/√n``);
* ``crossings``: one row per config × metric with the size (in %) at which ResponseRank's mean curve reaches BT's
  mean at the largest size (:func:`responserank.reporting.crossing_points`, the rule of the paper's figure) and
  its percentile-bootstrap 95 % interval.

The bootstrap resamples whole trials with replacement (the same trials for BT and RR, which share them), draws
from ``numpy.random.default_rng(bootstrap_seed)`` (default seed 0, 2,000 resamples) and takes the interval's ends
with ``numpy.quantile(method="inverted_cdf")`` (an observed resample value, no interpolation). A resample in
which RR never reaches the threshold counts as +∞, so an upper end of +∞ ("never") means that more than 2.5 % of
the resamples did not cross; a crossing at the smallest size is reported as that size (censored: "≤ 50 %").

Two summaries (ours and the paper's) are compared cell by cell with Welch's two-sample t test computed from the
summary statistics (:func:`welch_test`), so a committed summary file is enough to redo every comparison. The
qualitative claims (:func:`claims`) compare learners within one summary with the same Welch intervals; our
learners are paired by trial (shared data and initialisation), so these unpaired intervals are conservative.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.stats

from responserank.errors import AnalysisError
from responserank.reporting import crossing_points, format_p_value, write_text_atomic
from responserank.synthetic.analysis.cache import DatasetResults
from responserank.synthetic.analysis.find import read_json
from responserank.synthetic.analysis.names import DATASET_CONFIGS, LEARNERS, METRICS, SHORT_DATASET, TRIPLETS

CONFIDENCE = 0.95
BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 0
SUMMARY_FORMAT = "responserank.synthetic.reproduction_summary/1"
#: The paper's 100-trial caches reduced to a summary (derived from ``reference-results/synthetic``; see
#: ``docs/synthetic.md``). Ships with the package so that no command needs the caches.
PAPER_SUMMARY = "paper_summary_100.json"

CELL_COLUMNS = ("config", "learner", "metric", "size", "n", "mean", "sd", "ci95")
CROSSING_COLUMNS = ("config", "metric", "point", "ci_low", "ci_high", "never_fraction")
#: ``ResponseRank-Pool ≈ ResponseRank`` holds when the 95 % interval of the difference lies inside ±margin.
EQUIVALENCE_MARGIN = {"choice_accuracy": 0.02, "pearson_distance_correlation": 0.05}
SHORT_METRIC = {"choice_accuracy": "acc", "pearson_distance_correlation": "PDC"}


# --------------------------------------------------------------------------------------------------------------
# Intervals and tests on summary statistics (vectorised; arrays broadcast)
# --------------------------------------------------------------------------------------------------------------


def t_half_width(sd, n, confidence: float = CONFIDENCE) -> np.ndarray:
    """Half-width of the Student-t interval of a mean: ``t_{(1+c)/2, n−1} · sd / √n``; NaN where ``n < 2``."""
    sd, n = np.asarray(sd, dtype=np.float64), np.asarray(n, dtype=np.float64)
    valid = n >= 2
    safe_n = np.where(valid, n, 2.0)
    width = scipy.stats.t.ppf((1 + confidence) / 2, safe_n - 1) * sd / np.sqrt(safe_n)
    return np.where(valid, width, np.nan)


@dataclass(frozen=True)
class WelchResult:
    """Welch's two-sample t test of ``mean_a − mean_b`` (all fields are arrays of the broadcast shape)."""

    difference: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    statistic: np.ndarray
    df: np.ndarray  # Welch–Satterthwaite degrees of freedom
    p_value: np.ndarray  # two-sided


def welch_test(mean_a, sd_a, n_a, mean_b, sd_b, n_b, confidence: float = CONFIDENCE) -> WelchResult:
    """Welch's unequal-variance t test and interval for ``mean_a − mean_b`` from means, SDs (ddof 1) and counts.

    Same numbers as ``scipy.stats.ttest_ind(a, b, equal_var=False)`` on the raw samples (statistic, p value,
    ``df`` and ``confidence_interval``); NaN where a side has fewer than two values or both SDs are 0.
    """
    mean_a, sd_a, n_a, mean_b, sd_b, n_b = (
        np.asarray(v, dtype=np.float64) for v in (mean_a, sd_a, n_a, mean_b, sd_b, n_b)
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        var_a, var_b = sd_a**2 / n_a, sd_b**2 / n_b
        se = np.sqrt(var_a + var_b)
        df = (var_a + var_b) ** 2 / (var_a**2 / (n_a - 1) + var_b**2 / (n_b - 1))
        statistic, p_value = scipy.stats.ttest_ind_from_stats(
            mean_a, sd_a, n_a, mean_b, sd_b, n_b, equal_var=False
        )
    valid = (n_a >= 2) & (n_b >= 2) & (se > 0)
    difference = mean_a - mean_b
    half = np.where(valid, scipy.stats.t.ppf((1 + confidence) / 2, np.where(valid, df, 1.0)) * se, np.nan)

    def masked(values):
        return np.where(valid, values, np.nan)

    return WelchResult(
        difference=difference,
        ci_low=difference - half,
        ci_high=difference + half,
        statistic=masked(statistic),
        df=masked(df),
        p_value=masked(p_value),
    )


# --------------------------------------------------------------------------------------------------------------
# Bootstrap of the crossing point
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CrossingEstimate:
    """Size (% of the training set) at which RR's mean reaches BT's largest-size mean, with a bootstrap interval.

    ``point`` / ``ci_low`` / ``ci_high`` are NaN (point) or +∞ (interval ends) where the curve never crosses;
    ``never_fraction`` is the share of bootstrap resamples without a crossing.
    """

    point: float
    ci_low: float
    ci_high: float
    never_fraction: float


def bootstrap_means(values, weights: np.ndarray) -> np.ndarray:
    """NaN-aware weighted means: ``values`` ``[S, T]`` (size × trial), ``weights`` ``[B, T]`` → ``[B, S]``."""
    values = np.asarray(values, dtype=np.float64)
    present = ~np.isnan(values)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (weights @ np.where(present, values, 0.0).T) / (weights @ present.T)


def bootstrap_crossing(
    sizes_percent,
    bt,
    rr,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
    confidence: float = CONFIDENCE,
) -> CrossingEstimate:
    """Crossing point of RR's mean curve over BT's largest-size mean and its percentile-bootstrap interval.

    ``sizes_percent`` ``[S]`` ascending; ``bt``, ``rr`` ``[S, T]`` per-trial values (NaN allowed) of the same
    trials. Each resample draws T trials with replacement (multinomial trial counts from
    ``numpy.random.default_rng(seed)``), shared by BT and RR.
    """
    bt, rr = np.asarray(bt, dtype=np.float64), np.asarray(rr, dtype=np.float64)
    if bt.shape != rr.shape or bt.ndim != 2 or bt.shape[0] != len(sizes_percent):
        raise ValueError(f"bt and rr must both have shape [sizes, trials]; got {bt.shape} and {rr.shape}")
    if resamples < 1:
        raise ValueError(f"resamples must be >= 1, got {resamples}")
    num_trials = bt.shape[1]
    full = np.ones((1, num_trials))
    point = float(
        crossing_points(sizes_percent, bootstrap_means(rr, full), bootstrap_means(bt, full)[:, -1])[0]
    )
    counts = np.random.default_rng(seed).multinomial(
        num_trials, np.full(num_trials, 1 / num_trials), resamples
    )
    points = crossing_points(sizes_percent, bootstrap_means(rr, counts), bootstrap_means(bt, counts)[:, -1])
    never = np.isnan(points)
    alpha = 1 - confidence
    low, high = np.quantile(
        np.where(never, np.inf, points), [alpha / 2, 1 - alpha / 2], method="inverted_cdf"
    )
    return CrossingEstimate(
        point=point, ci_low=float(low), ci_high=float(high), never_fraction=float(never.mean())
    )


# --------------------------------------------------------------------------------------------------------------
# Summaries: from caches, to and from JSON
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReproductionSummary:
    """Per-cell statistics (:data:`CELL_COLUMNS`) and crossing points (:data:`CROSSING_COLUMNS`) of one source."""

    cells: pd.DataFrame
    crossings: pd.DataFrame
    metadata: dict = field(default_factory=dict)

    @property
    def num_trials(self) -> str:
        """Distinct trial counts of the configs (``"1000"``, or ``"998/1000"`` where PDC values were NaN)."""
        return "/".join(str(n) for n in sorted(set(self.cells.groupby("config")["n"].max())))


def summarize_results(
    caches: dict[str, DatasetResults],
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
    source: str = "",
) -> ReproductionSummary:
    """Reduce collected caches (:func:`analysis.cache.load_caches`) to a summary; bootstrap seeded per call."""
    rows, crossings = [], []
    for config, results in caches.items():
        for metric in METRICS:
            for learner in LEARNERS:
                values = results.metrics[metric][learner]  # [S, T]
                n = (~np.isnan(values)).sum(axis=1)
                with np.errstate(invalid="ignore", divide="ignore"):
                    mean = np.nanmean(values, axis=1) if values.size else np.full(len(n), np.nan)
                    sd = np.nanstd(values, axis=1, ddof=1)
                for size, n_s, mean_s, sd_s, ci_s in zip(
                    results.sizes, n, mean, sd, t_half_width(sd, n), strict=True
                ):
                    rows.append((config, learner, metric, float(size), int(n_s), mean_s, sd_s, ci_s))
            estimate = bootstrap_crossing(
                results.sizes * 100,
                results.metrics[metric]["bt"],
                results.metrics[metric]["rr"],
                resamples=resamples,
                seed=seed,
            )
            crossings.append(
                (config, metric, estimate.point, estimate.ci_low, estimate.ci_high, estimate.never_fraction)
            )
    metadata = {
        "source": source,
        "num_trials": {config: results.num_trials for config, results in caches.items()},
        "confidence": CONFIDENCE,
        "bootstrap_resamples": resamples,
        "bootstrap_seed": seed,
    }
    # Rounded as stored (6 decimals; crossings 4), so a report from the saved summary equals this one.
    cells = pd.DataFrame(rows, columns=list(CELL_COLUMNS)).round({"mean": 6, "sd": 6})
    cells["ci95"] = t_half_width(cells["sd"], cells["n"]).round(6)
    crossings = pd.DataFrame(crossings, columns=list(CROSSING_COLUMNS)).round(
        {c: 4 for c in CROSSING_COLUMNS[2:]}
    )
    return ReproductionSummary(cells=cells, crossings=crossings, metadata=metadata)


def merge_summaries(summaries: list[ReproductionSummary]) -> ReproductionSummary:
    """One summary from several; each config is taken from the first summary that has it."""
    cells, crossings, sources, trials, taken = [], [], [], {}, set()
    for summary in summaries:
        configs = [c for c in dict.fromkeys(summary.cells["config"]) if c not in taken]
        if not configs:
            continue
        taken.update(configs)
        cells.append(summary.cells[summary.cells["config"].isin(configs)])
        crossings.append(summary.crossings[summary.crossings["config"].isin(configs)])
        sources.append(summary.metadata.get("source") or "summary")
        trials.update({c: n for c, n in summary.metadata.get("num_trials", {}).items() if c in configs})
    if len(summaries) == 1:
        return summaries[0]
    metadata = {**summaries[0].metadata, "source": " + ".join(sources), "num_trials": trials}
    return ReproductionSummary(
        cells=pd.concat(cells, ignore_index=True),
        crossings=pd.concat(crossings, ignore_index=True),
        metadata=metadata,
    )


def _json_number(value: float) -> float | str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return value


def _round(value, digits: int = 6):
    return round(float(value), digits) if value is not None and math.isfinite(float(value)) else value


def save_summary(summary: ReproductionSummary, path: str | os.PathLike) -> Path:
    """Write ``summary`` as JSON, one record per line (6 decimals; NaN → null, ∞ → "inf"), atomically."""
    path = Path(path)
    names = ("config", "learner", "metric")
    cells = [
        {c: row[c] if c in names else _json_number(_round(row[c])) for c in CELL_COLUMNS}
        for row in summary.cells.to_dict("records")
    ]
    crossings = [
        {c: row[c] if c in names else _json_number(_round(row[c], 4)) for c in CROSSING_COLUMNS}
        for row in summary.crossings.to_dict("records")
    ]
    for cell in cells:
        cell["n"] = int(cell["n"])

    def records(rows: list[dict]) -> str:
        return ",\n".join(f"  {json.dumps(row)}" for row in rows)

    text = (
        f'{{"format": {json.dumps(SUMMARY_FORMAT)},\n "metadata": {json.dumps(summary.metadata)},\n'
        f' "cells": [\n{records(cells)}\n ],\n "crossings": [\n{records(crossings)}\n ]}}\n'
    )
    write_text_atomic(path, text)
    return path


def _to_float(value) -> float:
    if value is None:
        return math.nan
    if value == "inf":
        return math.inf
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError
    return float(value)


def _frame(
    records, columns: tuple[str, ...], numeric: tuple[str, ...], path: Path, what: str
) -> pd.DataFrame:
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise AnalysisError(f"{path}: '{what}' must be a list of objects")
    for k, record in enumerate(records):
        missing = [c for c in columns if c not in record]
        if missing:
            raise AnalysisError(f"{path}: {what}[{k}]: missing field(s) {', '.join(missing)}")
        for column in numeric:
            try:
                record[column] = _to_float(record[column])
            except TypeError:
                raise AnalysisError(
                    f"{path}: {what}[{k}]: {column} must be a number, got {record[column]!r}"
                ) from None
    return pd.DataFrame(records, columns=list(columns))


def _check(condition, path: Path, message: str) -> None:
    if not bool(np.all(condition)):
        raise AnalysisError(f"{path}: {message}")


def _first_bad(frame: pd.DataFrame, bad) -> str:
    row = frame[np.asarray(bad)].iloc[0]
    return ", ".join(f"{c}={row[c]!r}" for c in frame.columns[:4])


def validate_cells(cells: pd.DataFrame, path: Path) -> None:
    """Names known, sizes in (0, 1], n ≥ 1 integral, means in range, SD ≥ 0, CI consistent with SD and n."""
    for column, known in (("config", DATASET_CONFIGS), ("learner", LEARNERS), ("metric", METRICS)):
        unknown = sorted(set(cells[column]) - set(known))
        _check(not unknown, path, f"unknown {column}(s) {', '.join(map(str, unknown))}")
    keys = ["config", "learner", "metric", "size"]
    duplicated = cells.duplicated(keys)
    _check(~duplicated, path, f"duplicate cell ({_first_bad(cells, duplicated) if duplicated.any() else ''})")
    checks = (
        ((cells["size"] > 0) & (cells["size"] <= 1), "size outside (0, 1]"),
        ((cells["n"] >= 1) & (cells["n"] == np.floor(cells["n"])), "n must be a positive integer"),
        (np.isfinite(cells["mean"]), "mean must be a finite number"),
        (
            np.where(
                cells["metric"] == "choice_accuracy",
                cells["mean"].between(0, 1),
                cells["mean"].between(-1, 1),
            ),
            "mean outside the metric's range ([0, 1] accuracy, [-1, 1] PDC)",
        ),
        ((cells["n"] < 2) | (cells["sd"] >= 0), "sd must be a non-negative number"),
    )
    for ok, message in checks:
        ok = np.asarray(ok, dtype=bool)
        _check(ok, path, f"{message} ({_first_bad(cells, ~ok) if not ok.all() else ''})")
    expected = t_half_width(cells["sd"], cells["n"])
    consistent = (cells["n"] < 2) | np.isclose(cells["ci95"], expected, rtol=1e-4, atol=2e-6)
    _check(
        consistent,
        path,
        f"ci95 does not match sd and n ({_first_bad(cells, ~np.asarray(consistent)) if not np.all(consistent) else ''})",
    )
    complete = cells.groupby(["config", "metric", "size"])["learner"].nunique() == len(LEARNERS)
    _check(complete, path, "every config × metric × size needs all six learners")


def validate_crossings(crossings: pd.DataFrame, path: Path) -> None:
    """Known names; interval ordered around the point; never_fraction in [0, 1]."""
    for column, known in (("config", DATASET_CONFIGS), ("metric", METRICS)):
        unknown = sorted(set(crossings[column]) - set(known))
        _check(not unknown, path, f"crossings: unknown {column}(s) {', '.join(map(str, unknown))}")
    _check(~crossings.duplicated(["config", "metric"]), path, "crossings: duplicate config × metric")
    _check(crossings["never_fraction"].between(0, 1), path, "crossings: never_fraction outside [0, 1]")
    low, high, point = crossings["ci_low"], crossings["ci_high"], crossings["point"]
    _check(~low.isna() & ~high.isna() & (low <= high), path, "crossings: need ci_low <= ci_high")
    _check(point.isna() | ((low <= point) & (point <= high)), path, "crossings: point outside its interval")


def load_summary(path: str | os.PathLike) -> ReproductionSummary:
    """Read and validate a summary written by :func:`save_summary` (one-line :class:`AnalysisError` on problems)."""
    path = Path(path)
    document = read_json(path, "summary file")
    if not isinstance(document, dict) or document.get("format") != SUMMARY_FORMAT:
        raise AnalysisError(f'{path}: not a reproduction summary (expected "format": "{SUMMARY_FORMAT}")')
    cells = _frame(document.get("cells"), CELL_COLUMNS, ("size", "n", "mean", "sd", "ci95"), path, "cells")
    crossings = _frame(
        document.get("crossings"),
        CROSSING_COLUMNS,
        ("point", "ci_low", "ci_high", "never_fraction"),
        path,
        "crossings",
    )
    _check(len(cells) > 0, path, "no cells")
    validate_cells(cells, path)
    validate_crossings(crossings, path)
    cells["n"] = cells["n"].astype(int)
    metadata = document.get("metadata") if isinstance(document.get("metadata"), dict) else {}
    return ReproductionSummary(cells=cells, crossings=crossings, metadata=metadata)


def paper_summary() -> ReproductionSummary:
    """The paper's 100-trial summary shipped with the package."""
    resource = resources.files("responserank.synthetic").joinpath(PAPER_SUMMARY)
    with resources.as_file(resource) as path:
        summary = load_summary(path)
    summary.metadata["source"] = f"the paper's caches (shipped summary {PAPER_SUMMARY})"
    return summary


# --------------------------------------------------------------------------------------------------------------
# Comparison of two summaries and the paper's qualitative claims
# --------------------------------------------------------------------------------------------------------------


def compare(ours: ReproductionSummary, paper: ReproductionSummary) -> pd.DataFrame:
    """Cells present in both, with Welch ``ours − paper``: difference, ci_low, ci_high, df, p_value."""
    keys = ["config", "learner", "metric", "size"]
    merged = ours.cells.merge(paper.cells, on=keys, suffixes=("_ours", "_paper"))
    test = welch_test(
        merged["mean_ours"], merged["sd_ours"], merged["n_ours"],
        merged["mean_paper"], merged["sd_paper"], merged["n_paper"],
    )  # fmt: skip
    return merged.assign(
        difference=test.difference, ci_low=test.ci_low, ci_high=test.ci_high, df=test.df, p_value=test.p_value
    )


@dataclass(frozen=True)
class Claim:
    """One qualitative claim of the paper on one dataset and metric, with a verdict and its evidence."""

    claim: str
    config: str
    metric: str
    verdict: str  # "holds", "fails" or "inconclusive"
    evidence: str


def _series(cells: pd.DataFrame, config: str, metric: str, learner: str) -> pd.DataFrame:
    rows = cells[(cells["config"] == config) & (cells["metric"] == metric) & (cells["learner"] == learner)]
    return rows.sort_values("size")


def _difference(
    cells: pd.DataFrame, config: str, metric: str, a: str, b: str
) -> tuple[np.ndarray, WelchResult]:
    """Sizes and the Welch result of learner ``a`` − learner ``b`` per size."""
    first, second = _series(cells, config, metric, a), _series(cells, config, metric, b)
    test = welch_test(
        first["mean"].to_numpy(), first["sd"].to_numpy(), first["n"].to_numpy(),
        second["mean"].to_numpy(), second["sd"].to_numpy(), second["n"].to_numpy(),
    )  # fmt: skip
    return first["size"].to_numpy(), test


def _sizes_text(sizes) -> str:
    return ", ".join(f"{100 * s:.0f} %" for s in sizes)


def _greater_verdict(sizes: np.ndarray, tests: list[tuple[str, WelchResult]]) -> tuple[str, str]:
    """ "holds" if every difference's interval lies above 0; "fails" if one lies below; else "inconclusive"."""
    failed = [(name, sizes[t.ci_high < 0]) for name, t in tests if np.any(t.ci_high < 0)]
    unsure = [(name, sizes[~(t.ci_low > 0)]) for name, t in tests if not np.all(t.ci_low > 0)]
    weakest_name, weakest = min(tests, key=lambda item: np.nanmin(item[1].ci_low))
    k = int(np.nanargmin(weakest.ci_low))
    smallest = (
        f"smallest lower bound: vs {weakest_name} at {100 * sizes[k]:.0f} %, "
        f"{weakest.difference[k]:+.3f} [{weakest.ci_low[k]:+.3f}, {weakest.ci_high[k]:+.3f}]"
    )
    if failed:
        return "fails", "; ".join(f"lower than {n} at {_sizes_text(s)}" for n, s in failed) + f" ({smallest})"
    if unsure:
        return "inconclusive", "; ".join(f"vs {n} not significant at {_sizes_text(s)}" for n, s in unsure)
    return "holds", smallest


def _available(cells: pd.DataFrame, config: str) -> bool:
    return bool((cells["config"] == config).any())


def claims(summary: ReproductionSummary) -> list[Claim]:
    """The paper's qualitative claims (spec ``synthetic.md`` §7), each judged with 95 % Welch intervals."""
    cells, out = summary.cells, []
    display = LEARNERS
    for metric in METRICS:
        for config in TRIPLETS["with_variability"]:
            if not _available(cells, config):
                continue
            sizes, rr_bt = _difference(cells, config, metric, "rr", "bt")
            out.append(
                Claim("RR > BT at every size", config, metric, *_greater_verdict(sizes, [("BT", rr_bt)]))
            )
            others = [
                (display[o], _difference(cells, config, metric, "rr", o)[1]) for o in LEARNERS if o != "rr"
            ]
            out.append(
                Claim("RR highest of the six at every size", config, metric, *_greater_verdict(sizes, others))
            )
            below = [
                (display[o], _difference(cells, config, metric, "bt", o)[1])
                for o in ("rr_pooled", "rr_perm", "rt_regression_perm", "rt_regression")
            ]
            verdict, evidence = _greater_verdict(sizes, below)
            out.append(
                Claim("RR-Pool, both permutation controls and RtRegression below BT at every size", config, metric,
                      verdict, evidence.replace("vs ", "BT vs ").replace("lower than", "BT lower than"))
            )  # fmt: skip
        for config in TRIPLETS["no_variability"]:
            if not _available(cells, config):
                continue
            best = "rr" if config.startswith("drift_diffusion") else "rt_regression"
            sizes, _ = _difference(cells, config, metric, best, "bt")
            others = [
                (display[o], _difference(cells, config, metric, best, o)[1]) for o in LEARNERS if o != best
            ]
            out.append(Claim(f"{display[best]} highest of the six at every size", config, metric,
                             *_greater_verdict(sizes, others)))  # fmt: skip
            if best == "rt_regression":
                sizes, pool = _difference(cells, config, metric, "rr_pooled", "rr")
                margin = EQUIVALENCE_MARGIN[metric]
                inside = (pool.ci_low > -margin) & (pool.ci_high < margin)
                outside = (pool.ci_low > margin) | (pool.ci_high < -margin)
                verdict = "holds" if inside.all() else "fails" if outside.any() else "inconclusive"
                k = int(np.nanargmax(np.abs(pool.difference)))
                out.append(Claim(
                    f"RR-Pool ≈ RR (difference inside ±{margin:g} at every size)", config, metric, verdict,
                    f"largest |RR-Pool − RR|: {pool.difference[k]:+.3f} "
                    f"[{pool.ci_low[k]:+.3f}, {pool.ci_high[k]:+.3f}] at {100 * sizes[k]:.0f} %",
                ))  # fmt: skip
        out.extend(_smallest_gain(cells, metric))
    for row in summary.crossings.itertuples():
        verdict = (
            "holds"
            if row.ci_high < 100
            else "fails"
            if row.never_fraction > 1 - (1 - CONFIDENCE) / 2
            else "inconclusive"
        )
        out.append(Claim("RR reaches BT's largest-size mean before 100 % of the data", row.config, row.metric,
                         verdict, f"at {crossing_text(row.point, row.ci_low, row.ci_high)}"))  # fmt: skip
    return out


def _smallest_gain(cells: pd.DataFrame, metric: str) -> list[Claim]:
    """DDM shows the smallest RR − BT gain at the largest size (normal interval of the difference of gains)."""
    configs = TRIPLETS["with_variability"]
    if not all(_available(cells, c) for c in configs):
        return []
    gains = {}
    for config in configs:
        _, test = _difference(cells, config, metric, "rr", "bt")
        se = (test.ci_high[-1] - test.ci_low[-1]) / (2 * scipy.stats.t.ppf((1 + CONFIDENCE) / 2, test.df[-1]))
        gains[config] = (test.difference[-1], se)
    ddm_gain, ddm_se = gains["drift_diffusion"]
    z = scipy.stats.norm.ppf((1 + CONFIDENCE) / 2)
    bounds = {
        c: (g - ddm_gain - z * math.hypot(se, ddm_se), g - ddm_gain + z * math.hypot(se, ddm_se))
        for c, (g, se) in gains.items()
        if c != "drift_diffusion"
    }
    verdict = (
        "holds" if all(low > 0 for low, _ in bounds.values())
        else "fails" if any(high < 0 for _, high in bounds.values()) else "inconclusive"
    )  # fmt: skip
    evidence = (
        ", ".join(f"{SHORT_DATASET[c]} {g:+.3f}" for c, (g, _) in gains.items())
        + "; "
        + ", ".join(
            f"{SHORT_DATASET[c]} − DDM [{low:+.3f}, {high:+.3f}]" for c, (low, high) in bounds.items()
        )
    )
    return [
        Claim("DDM shows the smallest RR − BT gain at 100 %", "drift_diffusion", metric, verdict, evidence)
    ]


# --------------------------------------------------------------------------------------------------------------
# Markdown
# --------------------------------------------------------------------------------------------------------------


def crossing_text(point: float, low: float, high: float) -> str:
    """``"54.2 % [51.0, 57.9]"``; "never" for a missing point, "never" for an infinite upper end."""
    if math.isnan(point):
        return "never" + (f" [{low:.1f}, never]" if math.isfinite(low) else "")
    upper = "never" if math.isinf(high) else f"{high:.1f}"
    return f"{point:.1f} % [{low:.1f}, {upper}]"


def _interval(mean: float, half: float, decimals: int = 3) -> str:
    return f"{mean:.{decimals}f} ± {half:.{decimals}f}"


def comparison_markdown(
    comparison: pd.DataFrame,
    metric: str,
    learners=tuple(LEARNERS),
    sizes=None,
) -> str:
    """Markdown table of one metric: ours and the paper's mean ± 95 % CI, ours − paper [CI], Welch p."""
    rows = comparison[(comparison["metric"] == metric) & comparison["learner"].isin(learners)]
    if sizes is not None:
        rows = rows[np.isin(rows["size"].round(6), np.round(sizes, 6))]
    config_order = {c: k for k, c in enumerate(DATASET_CONFIGS)}
    learner_order = {learner: k for k, learner in enumerate(LEARNERS)}
    rows = rows.sort_values(
        ["config", "learner", "size"],
        key=lambda s: (
            s.map(config_order) if s.name == "config" else s.map(learner_order) if s.name == "learner" else s
        ),
    )
    lines = [
        "| dataset | learner | size | ours: mean ± 95 % CI (n) | paper: mean ± 95 % CI (n) | ours − paper [95 % CI] | Welch p |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows.itertuples():
        lines.append(
            f"| {SHORT_DATASET[r.config]} | {LEARNERS[r.learner]} | {100 * r.size:.0f} % "
            f"| {_interval(r.mean_ours, r.ci95_ours)} ({r.n_ours}) | {_interval(r.mean_paper, r.ci95_paper)} ({r.n_paper}) "
            f"| {r.difference:+.3f} [{r.ci_low:+.3f}, {r.ci_high:+.3f}] | {format_p_value(r.p_value)} |"
        )
    return "\n".join(lines)


def agreement_line(comparison: pd.DataFrame) -> str:
    """How many cells differ at p < 0.05, against the ≈ 5 % expected by chance, and after Bonferroni."""
    p = comparison["p_value"].to_numpy()
    p = p[~np.isnan(p)]
    if p.size == 0:
        return "No cells to compare."
    return (
        f"{int((p < 0.05).sum())} of {p.size} cells differ at p < 0.05 (≈ {0.05 * p.size:.0f} expected by chance "
        f"if both pipelines have the same expectation); {int((p < 0.05 / p.size).sum())} after Bonferroni "
        f"(p < {0.05 / p.size:.1e})."
    )


def crossings_markdown(ours: ReproductionSummary, paper: ReproductionSummary | None) -> str:
    """Crossing points with bootstrap intervals, ours next to the paper's."""
    reference = {} if paper is None else {(r.config, r.metric): r for r in paper.crossings.itertuples()}
    lines = [
        "| dataset | metric | RR reaches BT@100 % at, ours [95 % bootstrap CI] | paper [95 % bootstrap CI] |",
        "|---|---|---|---|",
    ]
    for r in ours.crossings.itertuples():
        p = reference.get((r.config, r.metric))
        paper_text = "–" if p is None else crossing_text(p.point, p.ci_low, p.ci_high)
        lines.append(
            f"| {SHORT_DATASET[r.config]} | {SHORT_METRIC[r.metric]} "
            f"| {crossing_text(r.point, r.ci_low, r.ci_high)} | {paper_text} |"
        )
    return "\n".join(lines)


def claims_markdown(ours: ReproductionSummary, paper: ReproductionSummary | None) -> str:
    """One row per claim × dataset × metric: our verdict with its evidence, and the verdict on the paper's data."""
    reference = {} if paper is None else {(c.claim, c.config, c.metric): c for c in claims(paper)}
    lines = [
        "| claim | dataset | metric | ours | evidence (ours) | paper's 100 trials |",
        "|---|---|---|---|---|---|",
    ]
    for c in claims(ours):
        p = reference.get((c.claim, c.config, c.metric))
        mark = "**fails**" if c.verdict == "fails" else c.verdict
        lines.append(
            f"| {c.claim} | {SHORT_DATASET[c.config]} | {SHORT_METRIC[c.metric]} | {mark} | {c.evidence} "
            f"| {'–' if p is None else p.verdict} |"
        )
    return "\n".join(lines)


def sd_line(summary: ReproductionSummary) -> str:
    """Range of the trial-to-trial SD of BT and RR at the largest size, per metric (spec §7: ≈ .04–.05 / .10–.13)."""
    cells = summary.cells
    parts = []
    for metric in METRICS:
        rows = cells[(cells["metric"] == metric) & cells["learner"].isin(["bt", "rr"])]
        rows = rows[rows["size"] == rows.groupby("config")["size"].transform("max")]
        if len(rows):
            parts.append(f"{SHORT_METRIC[metric]} {rows['sd'].min():.3f}–{rows['sd'].max():.3f}")
    return "Trial-to-trial SD of BT and RR at the largest size: " + ", ".join(parts) + "."

"""Seed-paired significance tests at fraction 1.0 and the LaTeX macros of ``stats.tex`` (spec ``llm.md`` §12).

For a comparison (first, second) the runs are paired by seed; both experiments must have the same seeds
(otherwise an error). With d_s = second_s − first_s:

* mean difference = mean(d) (percentage points in the macros, "+x.x");
* paired t-test p = ``scipy.stats.ttest_rel(second, first)`` (two-sided);
* Cohen's d = mean(d) / SD(d, ddof 1) (effect size of the paired differences; NaN if SD is 0);
* Levene p = ``scipy.stats.levene(first, second, center="median")`` (equal variances).

Macros ``\\<prefix><Metric><Stat>`` with Metric ``Multipref`` (test accuracy) / ``RewardBench`` (RB v2) and Stat
``MeanDiff``, ``MeanP``, ``MeanD``, ``VarP``. p-values print as ``<0.001`` / ``<0.01`` below those thresholds,
else with two decimals. Plus ``\\fragSize<Name>`` (mean ``avg_fragment_size``) and ``\\singletonFrac<Name>`` (mean
share of singleton training comparisons, percent) for every RR experiment at fraction 1.0, and
``\\numSeedsLLM``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import scipy.stats

from responserank.errors import AnalysisError
from responserank.llm.analysis.names import BASELINE, REWARDBENCH_V2, TEST_ACCURACY
from responserank.llm.analysis.results import FULL_DATA, Results

# (macro prefix, first, second): differences are second − first.
COMPARISONS = (
    ("batching", "bt", "rr_agree_bt"),
    ("stated", "bt", "rr_stated"),
    ("agree", "bt", "rr_agree"),
    ("rt", "bt", "rr_rt_annostrat_spread2"),
    ("randRank", "bt", "rr_randrank_randsize2"),
    ("statedGlobal", "rr_stated", "rr_stated_global"),
    ("meanPrefSixVsFull", "rr_consensus", "rr_consensus_spread6"),
    ("btAgree", "bt", "bt_agree"),
    ("btMeanPref", "bt", "bt_meanpref"),
)
STAT_METRICS = (("Multipref", TEST_ACCURACY), ("RewardBench", REWARDBENCH_V2))

_DIGITS = ("Zero", "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine")


@dataclass(frozen=True)
class PairedTest:
    prefix: str
    first: str
    second: str
    metric: str
    n: int
    mean_diff: float  # second − first, fraction units
    t_p: float
    cohen_d: float
    levene_p: float


def paired_values(results: Results, first: str, second: str, metric: str) -> tuple[np.ndarray, np.ndarray]:
    a = results.cell(first, FULL_DATA)
    b = results.cell(second, FULL_DATA)
    seeds_a, seeds_b = set(a["seed"]), set(b["seed"])
    if seeds_a != seeds_b:
        only_a = sorted(seeds_a - seeds_b)[:5]
        only_b = sorted(seeds_b - seeds_a)[:5]
        raise AnalysisError(
            f"paired test {first} vs {second} at fraction 1.0: the seeds differ (only {first}: {only_a or '-'}; "
            f"only {second}: {only_b or '-'}); run the missing seeds or drop the extra runs"
        )
    a = a.set_index("seed")[metric]
    b = b.set_index("seed")[metric].loc[a.index]
    valid = a.notna().to_numpy() & b.notna().to_numpy()
    return a.to_numpy(np.float64)[valid], b.to_numpy(np.float64)[valid]


def paired_test(results: Results, prefix: str, first: str, second: str, metric: str) -> PairedTest:
    x, y = paired_values(results, first, second, metric)
    n = x.size
    diff = y - x
    if n < 2:
        return PairedTest(
            prefix,
            first,
            second,
            metric,
            n,
            float(diff.mean()) if n else math.nan,
            math.nan,
            math.nan,
            math.nan,
        )
    sd = float(diff.std(ddof=1))
    t_p = float(scipy.stats.ttest_rel(y, x).pvalue) if sd > 0 else math.nan
    with np.errstate(invalid="ignore", divide="ignore"):  # identical spreads → 0/0 → NaN, reported "n/a"
        levene_p = float(scipy.stats.levene(x, y, center="median").pvalue)
    return PairedTest(
        prefix=prefix,
        first=first,
        second=second,
        metric=metric,
        n=n,
        mean_diff=float(diff.mean()),
        t_p=t_p,
        cohen_d=float(diff.mean()) / sd if sd > 0 else math.nan,
        levene_p=levene_p,
    )


def available_comparisons(results: Results) -> tuple[list[tuple[str, str, str]], list[str]]:
    """Comparisons whose two experiments have runs at fraction 1.0, and notes on the skipped ones."""
    kept, skipped = [], []
    for prefix, first, second in COMPARISONS:
        missing = [k for k in (first, second) if not results.has(k, FULL_DATA)]
        if missing:
            skipped.append(
                f"{prefix} ({first} vs {second}): no finished runs at 100 % of {', '.join(missing)}"
            )
        else:
            kept.append((prefix, first, second))
    return kept, skipped


def run_tests(results: Results) -> tuple[list[PairedTest], list[str]]:
    comparisons, skipped = available_comparisons(results)
    tests = [
        paired_test(results, prefix, first, second, metric)
        for prefix, first, second in comparisons
        for _, metric in STAT_METRICS
    ]
    return tests, skipped


def latex_p(p: float) -> str:
    if math.isnan(p):
        return "n/a"
    if p < 0.001:
        return "\\ensuremath{<}0.001"
    if p < 0.01:
        return "\\ensuremath{<}0.01"
    return f"{p:.2f}"


def macro_name(key: str) -> str:
    """CamelCase macro suffix of an experiment key: ``rr_agree_spread2`` → ``AgreeSpreadTwo`` (letters only)."""
    stem = key.removeprefix("rr_")
    words = []
    for part in stem.split("_"):
        for token in re.findall(r"[A-Za-z]+|\d", part):
            words.append(_DIGITS[int(token)] if token.isdigit() else token[:1].upper() + token[1:])
    return "".join(words)


def markdown_p(p: float) -> str:
    """Four decimals, or scientific notation below 1e-4 (e.g. ``9.7e-18``)."""
    if math.isnan(p):
        return "n/a"
    return f"{p:.1e}" if p < 1e-4 else f"{p:.4f}"


def _fmt(value: float, spec: str) -> str:
    return "n/a" if math.isnan(value) else format(value, spec)


def stats_tex(results: Results, tests: list[PairedTest], skipped: list[str]) -> str:
    metric_names = {metric: name for name, metric in STAT_METRICS}
    lines = [
        "% Seed-paired comparisons at 100 % of the training data (generated; do not edit).",
        "% <prefix><Metric>MeanDiff: mean(second - first) in percentage points; MeanP: paired t-test p;",
        "% MeanD: Cohen's d of the paired differences; VarP: Levene (median) p. Metric: Multipref = MultiPref",
        "% test accuracy, RewardBench = RewardBench v2.",
    ]
    lines += [f"% skipped: {note}" for note in skipped]
    for test in tests:
        base = f"{test.prefix}{metric_names[test.metric]}"
        lines.append(f"% {test.prefix}: {test.first} vs {test.second}, n = {test.n} seed pairs")
        lines.append(f"\\newcommand{{\\{base}MeanDiff}}{{{_fmt(test.mean_diff * 100, '+.1f')}}}")
        lines.append(f"\\newcommand{{\\{base}MeanP}}{{{latex_p(test.t_p)}}}")
        lines.append(f"\\newcommand{{\\{base}MeanD}}{{{_fmt(test.cohen_d, '.2f')}}}")
        lines.append(f"\\newcommand{{\\{base}VarP}}{{{latex_p(test.levene_p)}}}")
    lines.append(
        "% Partition statistics at 100 %: mean fragment size in packed batches; singleton share in %."
    )
    for key in results.experiments:
        if key.startswith("bt") or not results.has(key, FULL_DATA):
            continue
        cell = results.cell(key, FULL_DATA)
        name = macro_name(key)
        if "avg_fragment_size" in cell and cell["avg_fragment_size"].notna().any():
            lines.append(f"\\newcommand{{\\fragSize{name}}}{{{cell['avg_fragment_size'].mean():.2f}}}")
        if "non_singleton_fraction" in cell and cell["non_singleton_fraction"].notna().any():
            singleton = (1.0 - cell["non_singleton_fraction"].mean()) * 100
            lines.append(f"\\newcommand{{\\singletonFrac{name}}}{{{singleton:.1f}}}")
    if results.has(BASELINE, FULL_DATA):
        lines.append(
            f"\\newcommand{{\\numSeedsLLM}}{{{results.cell(BASELINE, FULL_DATA)['seed'].nunique()}}}"
        )
    return "\n".join(lines) + "\n"


def markdown_tests(results: Results, tests: list[PairedTest]) -> str:
    lines = [
        "| Comparison (second − first) | Metric | n | Mean diff. (pp) | paired t p | Cohen's d | Levene p |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    metric_names = {TEST_ACCURACY: "MultiPref test", REWARDBENCH_V2: "RB v2"}
    for t in tests:
        lines.append(
            f"| {results.label(t.second)} vs {results.label(t.first)} (`{t.prefix}`) | {metric_names[t.metric]} | "
            f"{t.n} | {_fmt(t.mean_diff * 100, '+.2f')} | {markdown_p(t.t_p)} | {_fmt(t.cohen_d, '.2f')} | "
            f"{markdown_p(t.levene_p)} |"
        )
    return "\n".join(lines) + "\n"

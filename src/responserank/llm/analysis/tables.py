"""Data-size tables of the LLM experiments (spec ``llm.md`` §12) in LaTeX and Markdown.

``multipref_<metric>_table_part{1,2}.tex``: rows BT, BT@2, RR-Random, RR-RT, RR-Stated, RR-Agree (those with
data); columns the fractions 10–50 % (part 1) and 60–100 % (part 2); cell ``mean $\\pm$ sd [$\\pm$ CI95]`` in
percent with one decimal; the best mean per column bold; ``--`` where an experiment has no run at a fraction.
Fractions other than the paper's ten go to part 1 if ≤ 0.5, else part 2.
"""

from __future__ import annotations

from responserank.llm.analysis.names import MAIN_ROWS, METRIC_LABELS
from responserank.llm.analysis.results import FULL_DATA, Results
from responserank.reporting import format_cell

PART_SPLIT = 0.5  # part 1: fractions ≤ 0.5


def table_rows(results: Results) -> list[str]:
    return [key for key in MAIN_ROWS if results.has(key)]


def table_fractions(results: Results, keys: list[str]) -> list[float]:
    return sorted({f for key in keys for f in results.fractions(key)})


def _best(results: Results, keys: list[str], fraction: float, metric: str) -> str | None:
    candidates = [(results.summary(k, fraction, metric), k) for k in keys]
    candidates = [(s.mean, k) for s, k in candidates if s is not None]
    return max(candidates)[1] if candidates else None


def _percent(fraction: float) -> str:
    return f"{fraction * 100:g}"


def latex_table(results: Results, metric: str, fractions: list[float]) -> str:
    keys = table_rows(results)
    lines = [
        f"% {METRIC_LABELS[metric]} (%), mean $\\pm$ SD over seeds [$\\pm$ CI95]; best mean per column in bold.",
        "\\begin{tabular}{l" + "c" * len(fractions) + "}",
        "\\toprule",
        "Method & " + " & ".join(f"{_percent(f)}\\%" for f in fractions) + " \\\\",
        "\\midrule",
    ]
    best = {f: _best(results, keys, f, metric) for f in fractions}
    for key in keys:
        cells = []
        for fraction in fractions:
            summary = results.summary(key, fraction, metric)
            if summary is None:
                cells.append("--")
            else:
                cells.append(format_cell(summary, 1, scale=100, with_ci=True, bold=best[fraction] == key))
        lines.append(f"{MAIN_ROWS[key]} & " + " & ".join(cells) + " \\\\")
    lines += ["\\bottomrule", "\\end{tabular}", ""]
    return "\n".join(lines)


def latex_tables(results: Results, metric: str) -> tuple[str, str]:
    fractions = table_fractions(results, table_rows(results))
    part1 = [f for f in fractions if f <= PART_SPLIT]
    part2 = [f for f in fractions if f > PART_SPLIT]
    return latex_table(results, metric, part1), latex_table(results, metric, part2)


def markdown_datasize_table(results: Results, metric: str) -> str:
    """All fractions in one Markdown table; cells ``mean ± sd`` in percent, best mean per column bold."""
    keys = table_rows(results)
    fractions = table_fractions(results, keys)
    lines = [
        "| Method | " + " | ".join(f"{_percent(f)} %" for f in fractions) + " |",
        "|---|" + "---:|" * len(fractions),
    ]
    best = {f: _best(results, keys, f, metric) for f in fractions}
    for key in keys:
        cells = []
        for fraction in fractions:
            summary = results.summary(key, fraction, metric)
            cells.append(
                "–"
                if summary is None
                else format_cell(
                    summary, 1, scale=100, with_ci=False, bold=best[fraction] == key, latex=False
                )
            )
        lines.append(f"| {MAIN_ROWS[key]} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def markdown_full_data_table(results: Results, metrics: tuple[str, ...]) -> str:
    """Every experiment with finished runs at fraction 1.0: n seeds and ``mean ± sd`` per metric (percent)."""
    lines = [
        "| Experiment | Display name | n | " + " | ".join(METRIC_LABELS[m] for m in metrics) + " |",
        "|---|---|---:|" + "---:|" * len(metrics),
    ]
    for key in results.experiments:
        if not results.has(key, FULL_DATA):
            continue
        n = int(results.cell(key, FULL_DATA)["seed"].nunique())
        cells = []
        for metric in metrics:
            summary = results.summary(key, FULL_DATA, metric)
            cells.append(
                "–" if summary is None else format_cell(summary, 1, scale=100, with_ci=False, latex=False)
            )
        lines.append(f"| `{key}` | {results.label(key)} | {n} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"

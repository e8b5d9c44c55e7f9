"""``generate``: the LLM figures, tables, ``stats.tex`` and ``summary.md`` from a cache folder (offline).

Writes into FIGURES_DIR (all or nothing, via :func:`responserank.reporting.atomic_directory`)::

    multipref_datasize.{pdf,png}, multipref_datasize_rb.{pdf,png}
    multipref_{test_accuracy,rewardbench_v1,rewardbench_v2}_table_part{1,2}.tex
    <bar plot>.{pdf,png}                        one per entry of conf/llm/bar_plots.yaml with data
    stats.tex, summary.md

Only finished runs of the registry's experiments are used. Outputs whose experiments have no runs are skipped
and listed in ``summary.md``. ``dataset_stats.tex`` (correlations on the raw MultiPref annotations) needs the
dataset, which is not part of a results cache; it is skipped with a note.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from responserank.llm.analysis.cache import read_cache
from responserank.llm.analysis.figures import crossing, datasize_figure, datasize_rb_figure, write_bar_plots
from responserank.llm.analysis.names import (
    BASELINE,
    MAIN_ROWS,
    METRIC_FILE_NAMES,
    METRIC_LABELS,
    PAPER_HARD_LABEL_EGIDS,
    REWARDBENCH_V1,
    REWARDBENCH_V2,
    TEST_ACCURACY,
)
from responserank.llm.analysis.results import Results, finished_results, seed_warnings
from responserank.llm.analysis.stats import PairedTest, markdown_tests, run_tests, stats_tex
from responserank.llm.analysis.tables import latex_tables, markdown_datasize_table, markdown_full_data_table
from responserank.reporting import OutputFolder, write_outputs

TABLE_METRICS = (TEST_ACCURACY, REWARDBENCH_V1, REWARDBENCH_V2)
DATASET_NOTE = (
    "dataset_stats.tex skipped: the Spearman correlations on raw MultiPref annotations need the dataset "
    "(allenai/multipref), which is not part of a results cache."
)


def summary_markdown(
    results: Results, tests: list[PairedTest], notes: list[str], warnings: list[str], cache_dir: str
) -> str:
    counts = results.runs.groupby("key").size()
    lines = [
        "# LLM reward models on MultiPref: BT vs ResponseRank",
        "",
        f"Cache: `{cache_dir}` — {len(results.runs)} finished runs of {len(counts)} experiments "
        f"(seeds {results.runs['seed'].min()}–{results.runs['seed'].max()}).",
        "Numbers in percent; mean ± SD over seeds (ddof 1), best mean per column in bold. The LaTeX tables add "
        "the CI95 half-width (Student t).",
        "",
    ]
    for metric in TABLE_METRICS:
        lines += [
            f"## {METRIC_LABELS[metric]} vs training data",
            "",
            markdown_datasize_table(results, metric),
        ]
    lines += ["## Where RR-Agree reaches BT's full-data level", ""]
    for metric in TABLE_METRICS:
        lines.append(f"- {METRIC_LABELS[metric]}: {crossing(results, metric)[1]}.")
    lines += [
        "",
        "## All experiments at 100 % of the training data",
        "",
        markdown_full_data_table(results, TABLE_METRICS),
    ]
    if tests:
        lines += ["## Seed-paired tests at 100 % (`stats.tex`)", "", markdown_tests(results, tests)]
    hard_labels = [k for k, e in results.experiments.items() if e.egid in PAPER_HARD_LABEL_EGIDS]
    if hard_labels:
        lines += [
            "Note: the paper's runs of "
            + ", ".join(f"`{k}`" for k in hard_labels)
            + " were trained by the plain "
            "BT trainer, which ignored the soft targets: they are BT with hard labels (spec llm.md §13).",
            "",
        ]
    lines += ["## Notes", ""] + [f"- {n}" for n in notes] + [""]
    if warnings:
        lines += ["## Warnings", ""] + [f"- {w}" for w in warnings] + [""]
    return "\n".join(lines)


def _write_datasize(out: OutputFolder, results: Results) -> list[str]:
    """The data-size figures and LaTeX tables; returns notes (skipped when no main experiment has runs)."""
    if not (results.has(BASELINE) or any(results.has(k) for k in MAIN_ROWS)):
        return ["data-size figures and tables skipped: none of " + ", ".join(MAIN_ROWS) + " has runs"]
    out.figure(datasize_figure(results), "multipref_datasize")
    out.figure(datasize_rb_figure(results), "multipref_datasize_rb")
    for metric in TABLE_METRICS:
        for part, text in enumerate(latex_tables(results, metric), start=1):
            out.text(f"multipref_{METRIC_FILE_NAMES[metric]}_table_part{part}.tex", text)
    return []


@dataclass(frozen=True)
class _Inputs:
    results: Results
    tests: list[PairedTest]
    skipped: list[str]
    warnings: list[str]


def _read(cache_dir: str | os.PathLike) -> _Inputs:
    """Finished runs, seed-paired tests and seed warnings (printed); seed mismatches are errors, before any file
    is written."""
    results = finished_results(read_cache(cache_dir))
    tests, skipped = run_tests(results)
    warnings = seed_warnings(results, [k for k in MAIN_ROWS if results.has(k)])
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return _Inputs(results, tests, skipped, warnings)


def generate(
    cache_dir: str | os.PathLike, figures_dir: str | os.PathLike, usetex: bool = False
) -> list[Path]:
    """Read the cache, write every output; returns the written paths (relative to ``figures_dir``)."""

    def write(out: OutputFolder, inputs: _Inputs) -> str:
        results = inputs.results
        notes = [f"stats.tex: skipped {s}" for s in inputs.skipped]
        notes += _write_datasize(out, results)
        notes += write_bar_plots(results, out)
        out.text("stats.tex", stats_tex(results, inputs.tests, inputs.skipped))
        notes.append(DATASET_NOTE)
        cache = Path(cache_dir).as_posix()
        return summary_markdown(results, inputs.tests, notes, inputs.warnings, cache)

    return write_outputs(figures_dir, "llm", lambda: _read(cache_dir), write, usetex)

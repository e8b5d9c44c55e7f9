"""``generate``: figures, LaTeX tables and ``summary.md`` from the RL-control CSV cache (offline).

Writes into FIGURES_DIR (all or nothing, via :func:`responserank.reporting.atomic_directory`)::

    rl_control_combined_reward_{bars,lines}.{pdf,png}
    rl_training_curves_<env>.{pdf,png}                       one per environment
    rl_control_{max,final}_reward_table.tex
    rl_control_rew_model_accuracy_table.tex                  when reward-model files exist
    summary.md
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from responserank.errors import AnalysisError
from responserank.reporting import OutputFolder, write_outputs
from responserank.rl_control.analysis.figures import write_figures
from responserank.rl_control.analysis.stats import RLStatistics, compute_statistics
from responserank.rl_control.analysis.tables import TABLES, count_wins, latex_table, markdown_table
from responserank.rl_control.results import read_results


def summary_markdown(stats: RLStatistics, num_ppo: int, num_models: int, files: list[str]) -> str:
    lines = [
        "# RL control: BT vs ResponseRank reward models, then PPO",
        "",
        f"Inputs: {', '.join(files)} — {num_ppo} PPO runs, {num_models} reward-model runs; "
        f"environments {', '.join(stats.envs)}.",
        "Cells: mean ± SD over seeds (SD with ddof 0) [± CI95 half-width, Student t]; the larger mean in bold "
        "(BT when equal).",
        "",
    ]
    for name, title in (
        ("rl_control_max_reward_table", "Max return over training"),
        ("rl_control_final_reward_table", "Final return"),
    ):
        statistic = TABLES[name][0]
        wins, total = count_wins(stats, statistic)
        lines += [
            f"## {title}",
            "",
            f"RR has the higher mean in {wins}/{total} cells.",
            "",
            markdown_table(stats, name),
        ]
    if stats.summaries["accuracy"]:
        name = "rl_control_rew_model_accuracy_table"
        wins, total = count_wins(stats, "accuracy")
        lines += [
            "## Reward-model validation accuracy",
            "",
            f"RR has the higher mean in {wins}/{total} cells.",
            "",
            markdown_table(stats, name),
        ]
    else:
        lines += [
            "## Reward-model validation accuracy",
            "",
            "No reward-model files in the cache; table skipped.",
            "",
        ]
    if stats.warnings:
        lines += ["## Warnings", ""] + [f"- {w}" for w in stats.warnings] + [""]
    return "\n".join(lines)


def _read(cache_dir: str | os.PathLike):
    """(results, statistics); the statistics' warnings are printed."""
    results = read_results(cache_dir)
    stats = compute_statistics(results.ppo, results.reward_models)
    if not stats.envs:
        raise AnalysisError(f"{cache_dir}: no PPO run has a non-empty reward history")
    for warning in stats.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return results, stats


def _write(out: OutputFolder, inputs) -> str:
    results, stats = inputs
    out.written += write_figures(stats, results.ppo, out.root)
    for name in TABLES:
        if name != "rl_control_rew_model_accuracy_table" or stats.summaries["accuracy"]:
            out.text(f"{name}.tex", latex_table(stats, name))
    files = [p.name for p in results.files]
    return summary_markdown(stats, len(results.ppo), len(results.reward_models), files)


def generate(
    cache_dir: str | os.PathLike, figures_dir: str | os.PathLike, usetex: bool = False
) -> list[Path]:
    """Read the cache, write every output; returns the written paths (relative to ``figures_dir``)."""
    return write_outputs(figures_dir, "rl_control", lambda: _read(cache_dir), _write, usetex)

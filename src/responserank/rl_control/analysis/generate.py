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
from responserank.reporting import (
    atomic_directory,
    check_output_dir,
    check_usetex,
    configure_matplotlib,
    summary_with_section,
)
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


def generate(
    cache_dir: str | os.PathLike, figures_dir: str | os.PathLike, usetex: bool = False
) -> list[Path]:
    """Read the cache, write every output; returns the written paths (relative to ``figures_dir``)."""
    check_output_dir(figures_dir, "FIGURES_DIR")  # before the work: one line, not a traceback at the end
    check_usetex(usetex)
    results = read_results(cache_dir)
    stats = compute_statistics(results.ppo, results.reward_models)
    if not stats.envs:
        raise AnalysisError(f"{cache_dir}: no PPO run has a non-empty reward history")
    for warning in stats.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    configure_matplotlib(usetex=usetex)
    written: list[Path] = []
    with atomic_directory(figures_dir) as staging:
        written += write_figures(stats, results.ppo, staging)
        for name in TABLES:
            if name == "rl_control_rew_model_accuracy_table" and not stats.summaries["accuracy"]:
                continue
            path = staging / f"{name}.tex"
            path.write_text(latex_table(stats, name), encoding="utf-8")
            written.append(path)
        summary = summary_markdown(
            stats, len(results.ppo), len(results.reward_models), [p.name for p in results.files]
        )
        summary = summary_with_section(figures_dir, "rl_control", summary)
        (staging / "summary.md").write_text(summary, encoding="utf-8")
        written.append(staging / "summary.md")
        relative = [p.relative_to(staging) for p in written]
    return relative

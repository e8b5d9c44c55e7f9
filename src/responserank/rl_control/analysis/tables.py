"""LaTeX and Markdown tables of the RL-control results (spec ``rl_control.md`` §3).

LaTeX: ``tabular{lrr}`` with booktabs rules, rows ``<env> / noise=<n>``, cell ``mean $\\pm$ std [$\\pm$ CI95]``,
the larger mean bold (BT when equal), ``\\midrule`` between environments. Return tables list BT then RR with one
decimal; the reward-model accuracy table lists RR then BT with three decimals.
"""

from __future__ import annotations

from responserank.reporting import format_cell
from responserank.rl_control.analysis.stats import Cell, RLStatistics, better_variant

TABLES = {
    # name: (statistic, column order, decimals)
    "rl_control_max_reward_table": ("max", ("BT", "RR"), 1),
    "rl_control_final_reward_table": ("final", ("BT", "RR"), 1),
    "rl_control_rew_model_accuracy_table": ("accuracy", ("RR", "BT"), 3),
}


def _cell_text(
    stats: RLStatistics, statistic: str, cell: Cell, bold: bool, decimals: int, latex: bool
) -> str:
    summary = stats.summaries[statistic].get(cell)
    if summary is None or summary.n == 0:
        return "--" if latex else "–"
    return format_cell(summary, decimals, with_ci=True, bold=bold, latex=latex)


def _rows(stats: RLStatistics, statistic: str, order: tuple[str, ...], decimals: int, latex: bool):
    """Yield (env, noise, [cell texts in ``order``]) for every environment and noise level with data."""
    for env in stats.envs:
        for noise in stats.noise_levels[env]:
            cells = {variant: Cell(env, noise, variant) for variant in ("BT", "RR")}
            table = stats.summaries[statistic]
            if not any(c in table for c in cells.values()):
                continue
            best = better_variant(table.get(cells["BT"]), table.get(cells["RR"]))
            texts = [_cell_text(stats, statistic, cells[v], v == best, decimals, latex) for v in order]
            yield env, noise, texts


def latex_table(stats: RLStatistics, name: str) -> str:
    statistic, order, decimals = TABLES[name]
    lines = [
        "\\begin{tabular}{lrr}",
        "\\toprule",
        "Environment / noise & " + " & ".join(order) + " \\\\",
        "\\midrule",
    ]
    previous_env = None
    for env, noise, texts in _rows(stats, statistic, order, decimals, latex=True):
        if previous_env is not None and env != previous_env:
            lines.append("\\midrule")
        previous_env = env
        lines.append(f"{env} / noise={noise:g} & " + " & ".join(texts) + " \\\\")
    lines += ["\\bottomrule", "\\end{tabular}", ""]
    return "\n".join(lines)


def markdown_table(stats: RLStatistics, name: str) -> str:
    statistic, order, decimals = TABLES[name]
    lines = ["| Environment | noise | " + " | ".join(order) + " |", "|---|---:|" + "---:|" * len(order)]
    for env, noise, texts in _rows(stats, statistic, order, decimals, latex=False):
        lines.append(f"| {env} | {noise:g} | " + " | ".join(texts) + " |")
    return "\n".join(lines) + "\n"


def count_wins(stats: RLStatistics, statistic: str) -> tuple[int, int]:
    """(cells where RR's mean is strictly larger, cells with both variants)."""
    wins = total = 0
    for env in stats.envs:
        for noise in stats.noise_levels[env]:
            table = stats.summaries[statistic]
            best = better_variant(table.get(Cell(env, noise, "BT")), table.get(Cell(env, noise, "RR")))
            if best is not None:
                total += 1
                wins += best == "RR"
    return wins, total

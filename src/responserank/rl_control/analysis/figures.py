"""Figures of the RL-control results (spec ``rl_control.md`` §3).

* ``rl_control_combined_reward_bars``: 2 × E grid (rows max / final return, one column per environment in sorted
  order); per noise level a BT and an RR bar with CI95 error bars; both rows of a column share the y-range.
* ``rl_control_combined_reward_lines``: the same as lines over the noise level (BT dashed ^, RR solid o) with
  CI95 bands.
* ``rl_training_curves_<env>``: one panel per noise level; mean ± SD (ddof 0) over seeds of the return after
  linearly interpolating each seed's history onto the grid 0, 1000, 2000, … ≤ the environment's last step
  (``np.interp`` holds the first/last value outside a run's own range).

Deviation from the original, on purpose: the training curves use the same names and colours as every other
figure (BT red, RR brown) instead of "Non-RT"/"RT" in blue/green — the RL strength signal is the return gap, not
a response time.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from responserank.reporting import BT_COLOR, RR_AGREE_COLOR, save_figure
from responserank.rl_control.analysis.stats import Cell, RLStatistics

COLORS = {"BT": BT_COLOR, "RR": RR_AGREE_COLOR}
LINE_STYLES = {"BT": {"linestyle": "--", "marker": "^"}, "RR": {"linestyle": "-", "marker": "o"}}
ROWS = (("max", "Max return"), ("final", "Final return"))
CURVE_GRID_STEP = 1000


def _column_values(stats: RLStatistics, env: str, statistic: str, variant: str):
    noise = stats.noise_levels[env]
    table = stats.summaries[statistic]
    mean = np.array(
        [table[Cell(env, x, variant)].mean if Cell(env, x, variant) in table else np.nan for x in noise]
    )
    ci = np.array(
        [table[Cell(env, x, variant)].ci95 if Cell(env, x, variant) in table else np.nan for x in noise]
    )
    return np.asarray(noise), mean, ci


def _legend_on_top(fig, axes) -> None:
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(
        handles, labels, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=len(labels), frameon=False
    )


def _share_rows(axes) -> None:
    """Both rows of a column share the union of their y-ranges."""
    for column in range(axes.shape[1]):
        lows, highs = zip(*(axes[row, column].get_ylim() for row in range(axes.shape[0])), strict=True)
        for row in range(axes.shape[0]):
            axes[row, column].set_ylim(min(lows), max(highs))


def combined_figure(stats: RLStatistics, kind: str):
    """``kind`` = "bars" or "lines"; returns the matplotlib figure."""
    import matplotlib.pyplot as plt

    envs = stats.envs
    fig, axes = plt.subplots(2, len(envs), figsize=(3.0 * len(envs), 4.6), squeeze=False)
    width = 0.38
    for column, env in enumerate(envs):
        for row, (statistic, row_label) in enumerate(ROWS):
            ax = axes[row, column]
            for offset, variant in zip((-0.5, 0.5), ("BT", "RR"), strict=True):
                noise, mean, ci = _column_values(stats, env, statistic, variant)
                if kind == "bars":
                    positions = np.arange(noise.size) + offset * width
                    ax.bar(
                        positions,
                        mean,
                        width,
                        yerr=ci,
                        color=COLORS[variant],
                        label=variant,
                        error_kw={"elinewidth": 0.8, "capsize": 2.0, "ecolor": "0.2"},
                    )
                else:
                    ax.plot(
                        noise,
                        mean,
                        color=COLORS[variant],
                        label=variant,
                        markersize=4,
                        linewidth=1.2,
                        **LINE_STYLES[variant],
                    )
                    ax.fill_between(
                        noise, mean - ci, mean + ci, color=COLORS[variant], alpha=0.18, linewidth=0
                    )
            noise_levels = stats.noise_levels[env]
            if kind == "bars":
                ax.set_xticks(np.arange(len(noise_levels)), [f"{x:g}" for x in noise_levels])
            else:
                ax.set_xticks(noise_levels, [f"{x:g}" for x in noise_levels])
            if row == 0:
                ax.set_title(env, fontsize=10)
            else:
                ax.set_xlabel("Noise")
            if column == 0:
                ax.set_ylabel(row_label)
            ax.tick_params(labelsize=8)
            ax.grid(axis="y", alpha=0.3, linewidth=0.5)
            ax.set_axisbelow(True)
    _share_rows(axes)
    fig.tight_layout(w_pad=0.8, h_pad=0.6)
    _legend_on_top(fig, axes)
    return fig


def interpolated_curves(runs: pd.DataFrame, grid: np.ndarray) -> np.ndarray:
    """Return histories of ``runs`` interpolated onto ``grid``: shape (runs, grid points)."""
    return np.stack(
        [
            np.interp(grid, steps, returns)
            for steps, returns in zip(runs["steps"], runs["returns"], strict=True)
        ]
    )


def training_curves_figure(ppo: pd.DataFrame, env: str, noise_levels: list[float]):
    import matplotlib.pyplot as plt

    runs = ppo[(ppo["env"] == env) & ppo["returns"].map(lambda r: r.size > 0)]
    last_step = max(float(s.max()) for s in runs["steps"])
    grid = np.arange(0.0, last_step + 0.5, CURVE_GRID_STEP)
    ncols = 2 if len(noise_levels) > 1 else 1
    nrows = math.ceil(len(noise_levels) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 3.0 * nrows), squeeze=False, sharey=True)
    seed_counts = set()
    for ax, noise in zip(axes.flat, noise_levels, strict=False):
        for variant in ("BT", "RR"):
            cell = runs[(runs["noise"] == noise) & (runs["variant"] == variant)]
            if cell.empty:
                continue
            seed_counts.add(len(cell))
            curves = interpolated_curves(cell, grid)
            mean, sd = curves.mean(axis=0), curves.std(axis=0, ddof=0)
            ax.plot(
                grid,
                mean,
                color=COLORS[variant],
                linestyle=LINE_STYLES[variant]["linestyle"],
                linewidth=1.2,
                label=variant,
            )
            ax.fill_between(grid, mean - sd, mean + sd, color=COLORS[variant], alpha=0.2, linewidth=0)
        ax.set_title(f"Noise: {noise:g}", fontsize=10)
        ax.set_xlabel("Global steps")
        ax.grid(alpha=0.3, linewidth=0.5)
        ax.ticklabel_format(axis="x", style="sci", scilimits=(0, 0))
    for ax in axes[:, 0]:
        ax.set_ylabel("Mean return")
    for ax in list(axes.flat)[len(noise_levels) :]:
        ax.set_visible(False)
    seeds = f"{seed_counts.pop()} seeds" if len(seed_counts) == 1 else "seeds"
    fig.suptitle(f"RL training curves for {env}: RR vs BT (mean $\\pm$ SD over {seeds})", fontsize=11)
    fig.tight_layout()
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=2, frameon=False)
    return fig


def write_figures(stats: RLStatistics, ppo: pd.DataFrame, out_dir) -> list:
    written = []
    written += save_figure(combined_figure(stats, "bars"), out_dir / "rl_control_combined_reward_bars")
    written += save_figure(combined_figure(stats, "lines"), out_dir / "rl_control_combined_reward_lines")
    for env in stats.envs:
        fig = training_curves_figure(ppo, env, stats.noise_levels[env])
        written += save_figure(fig, out_dir / f"rl_training_curves_{env}")
    return written

"""Figures of the LLM experiments (spec ``llm.md`` §12). Values in percent; bands / error bars are CI95
(Student t over seeds).

* ``multipref_datasize``: test accuracy and RewardBench v2 against the training fraction for BT, RR-Stated and
  RR-Agree; dotted line at BT's 100 % mean; where RR-Agree first reaches that line (linear interpolation
  between fractions), an annotation — none when it is reached already at the smallest fraction.
* ``multipref_datasize_rb``: RewardBench v2 per category for the six main experiments (an experiment run at
  one fraction only is drawn as a point with an error bar).
* Bar plots at 100 % data (:data:`BAR_PLOTS`), panels test accuracy and RB v2; reference experiments as
  horizontal lines with their CI95 band. The y-axis is zoomed to the bars, so bar heights are not proportional
  to the values; read the axis.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import matplotlib
import numpy as np

from responserank.errors import AnalysisError
from responserank.llm.analysis.names import (
    BASELINE,
    DATASIZE_CURVES,
    MAIN,
    MAIN_ROWS,
    METRIC_LABELS,
    PAPER_HARD_LABEL_EGIDS,
    RB2_CATEGORIES,
    RB2_CATEGORY_COLUMNS,
    REWARDBENCH_V2,
    TEST_ACCURACY,
)
from responserank.llm.analysis.results import FULL_DATA, Results
from responserank.reporting import BT_COLOR, COLORS, RR_AGREE_COLOR, OutputFolder, crossing_point
from responserank.resources import conf_dir

FALLBACK_STYLE = {"color": "0.3", "marker": "o", "linestyle": "-"}
PANEL_METRICS = (TEST_ACCURACY, REWARDBENCH_V2)


def pct() -> str:
    """A percent sign that survives ``text.usetex`` (where a bare % starts a comment)."""
    return "\\%" if matplotlib.rcParams["text.usetex"] else "%"


def style(results: Results, key: str) -> dict[str, str]:
    experiment = results.experiments.get(key)
    out = dict(FALLBACK_STYLE)
    for name in ("color", "marker", "linestyle"):
        value = getattr(experiment, name, None) if experiment else None
        if value is not None:
            out[name] = value
    try:
        matplotlib.colors.to_rgba(out["color"])
        matplotlib.lines.Line2D([], [], marker=out["marker"], linestyle=out["linestyle"])
    except ValueError as error:
        raise AnalysisError(
            f"registry.yaml: experiment {key!r} has an invalid plot style ({error})"
        ) from error
    return out


def curve(results: Results, key: str, metric: str):
    """(fractions in %, means in %, CI95 half-widths in %) over the fractions with a value."""
    points = [(f, results.summary(key, f, metric)) for f in results.fractions(key)]
    points = [(f, s) for f, s in points if s is not None]
    x = np.array([f * 100 for f, _ in points])
    mean = np.array([s.mean * 100 for _, s in points])
    ci = np.array([s.ci95 * 100 for _, s in points])
    return x, mean, ci


def _draw_curve(ax, results: Results, key: str, metric: str, label: str, band_alpha: float = 0.18) -> bool:
    x, mean, ci = curve(results, key, metric)
    if x.size == 0:
        return False
    s = style(results, key)
    if x.size == 1:
        ax.errorbar(
            x,
            mean,
            yerr=ci,
            color=s["color"],
            marker=s["marker"],
            linestyle="none",
            markersize=4.5,
            capsize=2.5,
            elinewidth=0.9,
            label=label,
        )
    else:
        ax.plot(
            x,
            mean,
            color=s["color"],
            marker=s["marker"],
            linestyle=s["linestyle"],
            markersize=4,
            linewidth=1.3,
            label=label,
        )
        ax.fill_between(x, mean - ci, mean + ci, color=s["color"], alpha=band_alpha, linewidth=0)
    return True


def _format_crossing(x: float) -> str:
    return f"{x:.0f}" if abs(x - round(x)) < 1e-9 else f"{x:.1f}"


def crossing(results: Results, metric: str) -> tuple[float | None, str]:
    """(RR-Agree's crossing of BT@100 % in %, or None; a sentence for the summary)."""
    if not (results.has(BASELINE, FULL_DATA) and results.has(MAIN)):
        return None, "not computed (needs BT at 100 % and RR-Agree)"
    threshold = results.summary(BASELINE, FULL_DATA, metric)
    x, mean, _ = curve(results, MAIN, metric)
    if threshold is None or x.size == 0:
        return None, "not computed (no values)"
    reached = crossing_point(x, mean, threshold.mean * 100)
    if reached is None:
        return None, f"RR-Agree does not reach BT@100 % ({threshold.mean * 100:.1f} %) at any fraction"
    if reached == x.min():
        return None, (
            f"RR-Agree is at or above BT@100 % ({threshold.mean * 100:.1f} %) already at the smallest "
            f"fraction ({_format_crossing(reached)} %)"
        )
    return reached, f"RR-Agree reaches BT@100 % ({threshold.mean * 100:.1f} %) at {reached:.1f} % of the data"


def _legend_below(fig, ax, max_columns: int | None = None, fontsize: float = 9) -> None:
    """One frameless legend centred below ``fig`` with the entries of ``ax`` (each label once)."""
    handles, labels = [], []
    for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
        if label not in labels:
            handles.append(handle)
            labels.append(label)
    if handles:
        columns = min(len(labels), max_columns or len(labels))
        fig.legend(
            handles,
            labels,
            loc="upper center",
            bbox_to_anchor=(0.5, 0.0),
            ncol=columns,
            frameon=False,
            fontsize=fontsize,
        )


def datasize_figure(results: Results):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(8.2, 3.3))
    for ax, metric in zip(axes, PANEL_METRICS, strict=True):
        for key in DATASIZE_CURVES:
            if results.has(key):
                _draw_curve(ax, results, key, metric, MAIN_ROWS[key])
        threshold = results.summary(BASELINE, FULL_DATA, metric) if results.has(BASELINE, FULL_DATA) else None
        if threshold is not None:
            ax.axhline(
                threshold.mean * 100, color=BT_COLOR, linestyle=":", linewidth=1.0, label=f"BT @ 100 {pct()}"
            )
        reached, _ = crossing(results, metric)
        if reached is not None and threshold is not None:
            y = threshold.mean * 100
            bottom = ax.get_ylim()[0]
            ax.plot([reached, reached], [bottom, y], color=RR_AGREE_COLOR, linestyle=":", linewidth=1.0)
            ax.set_ylim(bottom=bottom)
            ax.annotate(
                f"RR-Agree reaches BT @ 100 {pct()}\nwith {_format_crossing(reached)} {pct()} of the data",
                xy=(reached, bottom),
                xytext=(-4, 4),
                textcoords="offset points",
                ha="right",
                va="bottom",
                fontsize=7.5,
                color="0.15",
            )
        ax.set_title(METRIC_LABELS[metric], fontsize=10)
        ax.set_xlabel(f"Training data ({pct()})")
        ax.set_ylabel(f"Accuracy ({pct()})")
        ax.grid(alpha=0.3, linewidth=0.5)
        ax.tick_params(labelsize=8)
    fig.tight_layout(w_pad=1.5)
    _legend_below(fig, axes[0])
    return fig


def datasize_rb_figure(results: Results):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 3, figsize=(9.0, 5.4), sharex=True)
    for ax, name, column in zip(axes.flat, RB2_CATEGORIES, RB2_CATEGORY_COLUMNS, strict=True):
        for key, label in MAIN_ROWS.items():
            if results.has(key):
                _draw_curve(ax, results, key, column, label, band_alpha=0.12)
        ax.set_title(name, fontsize=10)
        ax.grid(alpha=0.3, linewidth=0.5)
        ax.tick_params(labelsize=8)
    for ax in axes[1]:
        ax.set_xlabel(f"Training data ({pct()})")
    for ax in axes[:, 0]:
        ax.set_ylabel(f"Accuracy ({pct()})")
    fig.suptitle("RewardBench v2 by category", fontsize=11)
    fig.tight_layout()
    _legend_below(fig, axes.flat[0])
    return fig


# ------------------------------------------------------------------------------------------------ bar plots


@dataclass(frozen=True)
class Series:
    label: str
    keys: tuple[str | None, ...]  # one per group; None = no bar
    color: str | None = None  # None: each bar in its experiment's registry colour


@dataclass(frozen=True)
class BarPlot:
    name: str
    xlabel: str
    groups: tuple[str, ...]
    series: tuple[Series, ...]
    references: tuple[str, ...] = (BASELINE,)

    @property
    def keys(self) -> list[str]:
        return [k for s in self.series for k in s.keys if k is not None]


TIMES = "$\\times$"


def load_bar_plots(path) -> tuple[BarPlot, ...]:
    """The bar plots of a ``bar_plots.yaml`` (format: the comment at its top); colours are names of
    :data:`~responserank.reporting.COLORS`."""
    import yaml

    def series(entry: dict) -> Series:
        color = COLORS[entry["color"]] if entry["color"] else None
        return Series(entry["label"], tuple(entry["keys"]), color)

    plots = yaml.safe_load(Path(path).read_text(encoding="utf-8"))["bar_plots"]
    return tuple(
        BarPlot(
            p["name"],
            p["xlabel"],
            tuple(p["groups"]),
            tuple(series(s) for s in p["series"]),
            tuple(p.get("references", [BASELINE])),
        )
        for p in plots
    )


#: The ablation / sensitivity bar plots, in drawing order (package data ``conf/llm/bar_plots.yaml``).
BAR_PLOTS = load_bar_plots(conf_dir("llm") / "bar_plots.yaml")


def _bar_values(results: Results, key: str | None, metric: str):
    if key is None or not results.has(key, FULL_DATA):
        return None
    return results.summary(key, FULL_DATA, metric)


def present_part(results: Results, plot: BarPlot) -> BarPlot:
    """``plot`` without the series and groups that have no finished run at 100 % (keeps the bars centred)."""

    def present(key: str | None) -> bool:
        return key is not None and results.has(key, FULL_DATA)

    series = [s for s in plot.series if any(present(k) for k in s.keys)]
    groups = [i for i in range(len(plot.groups)) if any(present(s.keys[i]) for s in series)]
    return BarPlot(
        name=plot.name,
        xlabel=plot.xlabel,
        groups=tuple(plot.groups[i] for i in groups),
        series=tuple(Series(s.label, tuple(s.keys[i] for i in groups), s.color) for s in series),
        references=plot.references,
    )


def bar_figure(results: Results, plot: BarPlot, note: str | None = None):
    """Two panels (test accuracy, RB v2) of ``plot``; ``note`` is shown as a small title above them."""
    import matplotlib.pyplot as plt

    plot = present_part(results, plot)
    num_series = len(plot.series)
    width = 0.8 / num_series
    longest = max(len(line) for group in plot.groups for line in group.replace(TIMES, "x").split("\n"))
    group_width = max(0.5 * num_series, 0.065 * longest)  # inches: room for the bars and the tick label
    label_width = 0.6 + 0.06 * len(plot.xlabel)  # inches for the axis label at 8.5 pt
    panel_width = min(6.0, max(2.9, label_width, 0.7 + group_width * len(plot.groups)))
    fig, axes = plt.subplots(1, 2, figsize=(2 * panel_width, 3.2))
    x = np.arange(len(plot.groups), dtype=np.float64)
    for ax, metric in zip(axes, PANEL_METRICS, strict=True):
        extent = []
        for index, series in enumerate(plot.series):
            offsets = x + (index - (num_series - 1) / 2) * width
            for position, key in zip(offsets, series.keys, strict=True):
                summary = _bar_values(results, key, metric)
                if summary is None:
                    continue
                color = series.color or style(results, key)["color"]
                mean, ci = summary.mean * 100, summary.ci95 * 100
                ax.bar(position, mean, width * 0.92, color=color, label=series.label or None, zorder=2)
                ax.errorbar(position, mean, yerr=ci, color="0.15", capsize=2.5, elinewidth=0.8, zorder=3)
                ax.annotate(
                    f"{mean:.1f}",
                    (position, mean + ci),
                    xytext=(0, 1.5),
                    textcoords="offset points",
                    ha="center",
                    va="bottom",
                    fontsize=6.5,
                    zorder=5,
                    bbox={
                        "boxstyle": "square,pad=0.1",
                        "facecolor": "white",
                        "edgecolor": "none",
                        "alpha": 0.8,
                    },
                )
                extent += [mean - ci, mean + ci]
        reference_styles = {BASELINE: (BT_COLOR, "--"), MAIN: (RR_AGREE_COLOR, "-.")}
        for key in plot.references:
            summary = _bar_values(results, key, metric)
            if summary is None:
                continue
            color, linestyle = reference_styles.get(key, ("0.3", ":"))
            mean, ci = summary.mean * 100, summary.ci95 * 100
            ax.axhline(
                mean,
                color=color,
                linestyle=linestyle,
                linewidth=1.1,
                zorder=4,
                label=f"{MAIN_ROWS.get(key, key)} (reference)",
            )
            ax.axhspan(mean - ci, mean + ci, color=color, alpha=0.12, linewidth=0, zorder=0)
            extent += [mean - ci, mean + ci]
        if extent:
            low, high = min(extent), max(extent)
            pad = max(0.25 * (high - low), 1.0)
            ax.set_ylim(low - pad, high + 1.4 * pad)
        ax.set_xticks(x, plot.groups, fontsize=7.5)
        ax.set_title(METRIC_LABELS[metric], fontsize=10)
        ax.set_ylabel(f"Accuracy ({pct()})")
        ax.set_xlabel(plot.xlabel.replace("%", pct()), fontsize=8.5)
        ax.tick_params(axis="y", labelsize=8)
        ax.grid(axis="y", alpha=0.3, linewidth=0.5, zorder=0)
    if note:
        fig.suptitle(note, fontsize=8.5)
    fig.tight_layout(w_pad=1.5)
    _legend_below(fig, axes[0], max_columns=3, fontsize=8.5)
    return fig


def bar_plot_status(results: Results, plot: BarPlot) -> tuple[bool, list[str]]:
    """(drawable, missing experiment keys).

    Drawable when at least one bar other than the defaults BT / RR-Agree has finished runs at 100 % (a plot of
    the defaults alone says nothing about the ablation).
    """
    missing = sorted({k for k in plot.keys + list(plot.references) if not results.has(k, FULL_DATA)})
    drawable = any(results.has(k, FULL_DATA) for k in plot.keys if k not in (BASELINE, MAIN))
    return drawable, missing


def write_bar_plots(results: Results, out: OutputFolder) -> list[str]:
    """Draw every drawable plot of :data:`BAR_PLOTS` into ``out``; returns notes on skipped / partial plots."""
    notes = []
    for plot in BAR_PLOTS:
        drawable, missing = bar_plot_status(results, plot)
        if not drawable:
            variants = [k for k in plot.keys if k not in (BASELINE, MAIN)]
            notes.append(f"{plot.name}: skipped (no finished runs at 100 % of {', '.join(variants)})")
            continue
        if missing:
            notes.append(f"{plot.name}: drawn without {', '.join(missing)} (no finished runs at 100 %)")
        note = None
        if plot.name == "bt_soft_labels_comparison_bar" and any(
            results.experiments[k].egid in PAPER_HARD_LABEL_EGIDS
            for k in plot.keys
            if k in results.experiments
        ):
            note = "The paper's BT-Agree / BT-MeanPref runs ignored the soft targets (hard labels; spec llm.md, 13)"
        out.figure(bar_figure(results, plot, note), plot.name)
    return notes

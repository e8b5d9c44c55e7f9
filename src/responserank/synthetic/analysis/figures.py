"""Figures of one triplet of datasets; each function returns a matplotlib figure (saved by the caller).

Text is written so that it renders both with mathtext (default) and with LaTeX (``--usetex``): percent signs
and Greek letters go through math mode or :func:`_pct`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from responserank.reporting import BT_COLOR, RR_COLOR, RT_REGRESSION_COLOR
from responserank.synthetic.analysis.cache import DatasetResults
from responserank.synthetic.analysis.names import ALL_LEARNERS
from responserank.synthetic.analysis.statistics import band_half_width, rr_vs_bt, size_summaries
from responserank.synthetic.analysis.tables import dataset_title


@dataclass(frozen=True)
class LearnerStyle:
    color: str
    linestyle: str | tuple
    marker: str
    hatch: str = ""


# BT red, RtRegression gold, ResponseRank teal; variants of a family in darker/lighter shades of its colour.
STYLES: dict[str, LearnerStyle] = {
    "bt": LearnerStyle(BT_COLOR, "--", "^"),
    "rt_regression": LearnerStyle(RT_REGRESSION_COLOR, "-", "o"),
    "rt_regression_perm": LearnerStyle("#8C6A0B", ":", "o", "///"),
    "rr": LearnerStyle(RR_COLOR, "-", "D"),
    "rr_pooled": LearnerStyle("#2E86C1", "-.", "s"),
    "rr_perm": LearnerStyle("#0B4F37", ":", "D", "///"),
    "ddm": LearnerStyle("#6C3483", "-", "v"),
}

# Plotted rows: (metric, y label, scale); accuracy is shown in percent.
ROWS = (("pearson_distance_correlation", "PDC", 1.0), ("choice_accuracy", "Accuracy", 100.0))


def _pct() -> str:
    """A literal percent sign in text mode (LaTeX needs it escaped)."""
    return r"\%" if plt.rcParams["text.usetex"] else "%"


def _row_label(label: str, scale: float) -> str:
    return f"{label} ({_pct()})" if scale == 100.0 else label


def _line_handle(learner: str) -> Line2D:
    style = STYLES[learner]
    return Line2D(
        [],
        [],
        color=style.color,
        linestyle=style.linestyle,
        marker=style.marker,
        markersize=5,
        label=ALL_LEARNERS[learner],
    )


def _shared_learners(datasets: Sequence[DatasetResults]) -> list[str]:
    """Learners held by every dataset of a figure, in table order (the six, then optional ones such as DDM)."""
    held = [set(results.learners) for results in datasets]
    return [learner for learner in ALL_LEARNERS if all(learner in h for h in held)]


def _learner_handles(kind: str, learners: Sequence[str]) -> list:
    """Legend entries of ``learners``: lines (curves) or filled patches (boxplots)."""
    if kind == "line":
        return [_line_handle(learner) for learner in learners]
    return [
        Patch(
            facecolor=STYLES[learner].color,
            alpha=0.75,
            hatch=STYLES[learner].hatch,
            label=ALL_LEARNERS[learner],
        )
        for learner in learners
    ]


def _bottom_legend(fig, handles, ncol: int) -> None:
    """One legend hanging below the (already laid out) panels; ``bbox_inches="tight"`` keeps it in the file."""
    fig.legend(handles=handles, loc="upper center", ncol=ncol, frameon=False, bbox_to_anchor=(0.5, 0.0))


def _grid(num_datasets: int, width_per_panel: float, height: float, sharey: bool | str = False):
    fig, axes = plt.subplots(
        2,
        num_datasets,
        figsize=(width_per_panel * num_datasets + 0.8, height),
        squeeze=False,
        sharey=sharey,
    )
    return fig, axes


# --------------------------------------------------------------------------------------------- boxplots


def combined_metrics_boxplot(datasets: Sequence[DatasetResults]):
    """2 rows (PDC, accuracy in %) × datasets; notched boxplots per learner over all sizes × trials."""
    fig, axes = _grid(len(datasets), 3.6, 6.0, sharey="row")  # shared scale: datasets comparable
    learners = _shared_learners(datasets)
    for col, results in enumerate(datasets):
        for row, (metric, label, scale) in enumerate(ROWS):
            ax = axes[row, col]
            samples = []
            for learner in learners:
                values = results.metrics[metric][learner].ravel() * scale
                samples.append(values[~np.isnan(values)])
            boxes = ax.boxplot(
                samples,
                notch=True,
                patch_artist=True,
                widths=0.65,
                medianprops={"color": "black", "linewidth": 1.2},
                flierprops={"marker": ".", "markersize": 2.5, "alpha": 0.5, "markeredgecolor": "0.4"},
            )
            for patch, learner in zip(boxes["boxes"], learners, strict=True):
                patch.set_facecolor(STYLES[learner].color)
                patch.set_alpha(0.75)
                patch.set_hatch(STYLES[learner].hatch)
            ax.set_xticks([])
            ax.grid(axis="y", alpha=0.3)
            if row == 0:
                ax.set_title(dataset_title(results))
            if col == 0:
                ax.set_ylabel(_row_label(label, scale))
    fig.tight_layout()
    _bottom_legend(fig, _learner_handles("patch", learners), ncol=len(learners) if len(datasets) >= 3 else 2)
    return fig


# ------------------------------------------------------------------------------------- metric vs size


def _format_difference(difference: float, scale: float) -> str:
    if scale == 100.0:
        return rf"$\mathbf{{{difference * scale:+.1f}\%}}$"
    return rf"$\mathbf{{{difference:+.2f}}}$"


def _crossing_text(crossing: float) -> str:
    number = f"{crossing:.0f}" if float(crossing).is_integer() else f"{crossing:.1f}"
    return rf"RR reaches BT at $\mathbf{{{number}\%}}$"


def metrics_vs_datasize(datasets: Sequence[DatasetResults]):
    """2 rows (PDC, accuracy) × datasets: mean ± 1.96·SD/√n over trials against the training-set size.

    Each panel also shows BT's mean at the largest size (red dashed line), where RR's curve reaches it (dotted
    drop line and text) and an arrow from BT to RR at the largest size labelled with the difference.
    """
    fig, axes = _grid(len(datasets), 3.7, 6.4)
    learners = _shared_learners(datasets)
    for col, results in enumerate(datasets):
        x = results.sizes * 100
        for row, (metric, label, scale) in enumerate(ROWS):
            ax = axes[row, col]
            summaries = size_summaries(results, metric)
            for learner in learners:
                style = STYLES[learner]
                mean = np.array([s.mean for s in summaries[learner]]) * scale
                half = np.array([band_half_width(s) for s in summaries[learner]]) * scale
                ax.fill_between(x, mean - half, mean + half, color=style.color, alpha=0.12, linewidth=0)
                ax.plot(
                    x,
                    mean,
                    color=style.color,
                    linestyle=style.linestyle,
                    marker=style.marker,
                    markersize=4,
                    linewidth=1.4,
                    zorder=3 if learner in ("bt", "rr") else 2,
                )
            bottom, top = ax.get_ylim()
            ax.set_ylim(bottom, top + 0.12 * (top - bottom))  # headroom for the crossing note (top left)
            _annotate_rr_vs_bt(ax, results, metric, scale, x)
            ax.grid(alpha=0.3)
            span = x[-1] - x[0] if len(x) > 1 else 10.0
            ax.set_xlim(x[0] - 0.04 * span, x[-1] + 0.25 * span)  # room for the difference arrow
            ax.set_xticks(x)
            ax.set_xticklabels([f"{v:g}" for v in x])
            if row == 0:
                ax.set_title(dataset_title(results))
            if row == 1:
                ax.set_xlabel(f"Training Set Size ({_pct()})")
            if col == 0:
                ax.set_ylabel(_row_label(label, scale))
    bt_full = Line2D([], [], color=BT_COLOR, linestyle=(0, (5, 3)), linewidth=1.0, label="BT at 100" + _pct())
    handles = [*_learner_handles("line", learners), bt_full]
    fig.tight_layout()
    _bottom_legend(fig, handles, ncol=4 if len(datasets) >= 2 else 2)
    return fig


def _annotate_rr_vs_bt(ax, results: DatasetResults, metric: str, scale: float, x: np.ndarray) -> None:
    comparison = rr_vs_bt(results, metric)
    threshold = comparison.bt_full * scale
    ax.axhline(threshold, color=BT_COLOR, linestyle=(0, (5, 3)), linewidth=1.0, alpha=0.8, zorder=1)
    if comparison.crossing is not None:
        bottom, top_limit = ax.get_ylim()  # frozen so that the drop line does not extend the axis
        ax.plot([comparison.crossing] * 2, [bottom, threshold], color="0.25", linestyle=":", lw=1)
        ax.set_ylim(bottom, top_limit)
        ax.plot([comparison.crossing], [threshold], marker="o", color="0.25", markersize=3.5, zorder=4)
        ax.text(
            0.03,
            0.97,
            _crossing_text(comparison.crossing),
            transform=ax.transAxes,
            ha="left",
            va="top",
            fontsize=8.5,
            bbox={"boxstyle": "round,pad=0.25", "facecolor": "white", "edgecolor": "0.8", "alpha": 0.9},
        )
    # Arrow at the largest size from BT's to RR's mean, labelled with the difference.
    top = x[-1]
    rr_full = comparison.rr_full * scale
    if np.isfinite(rr_full) and np.isfinite(threshold) and rr_full != threshold:
        offset = 0.06 * (x[-1] - x[0] if len(x) > 1 else 10.0)
        ax.annotate(
            "",
            xy=(top + offset, rr_full),
            xytext=(top + offset, threshold),
            arrowprops={"arrowstyle": "->", "color": "black", "lw": 1.1, "shrinkA": 0, "shrinkB": 0},
        )
        ax.text(
            top + 1.4 * offset,
            (rr_full + threshold) / 2,
            _format_difference(comparison.difference, scale),
            ha="left",
            va="center",
            fontsize=8.5,
        )


# ----------------------------------------------------------------------------------- Kendall τ hists


def kendall_tau_histograms(datasets: Sequence[DatasetResults]):
    """Per dataset: histogram (25 bins on [0, 1]) of the per-trial Kendall τ between −RT and |Δu_true|."""
    fig, axes = plt.subplots(1, len(datasets), figsize=(3.6 * len(datasets) + 0.8, 3.2), squeeze=False)
    for ax, results in zip(axes[0], datasets, strict=True):
        taus = results.kendall_tau[~np.isnan(results.kendall_tau)]
        ax.hist(taus, bins=25, range=(0.0, 1.0), color=RR_COLOR, alpha=0.75, edgecolor="white", linewidth=0.5)
        mean = float(np.mean(taus)) if taus.size else float("nan")
        ax.axvline(mean, color="black", linestyle="--", linewidth=1.2)
        left = not mean < 0.5  # the note goes to the side away from the bulk of the histogram
        ax.text(
            0.03 if left else 0.97,
            0.97,
            f"Mean: {mean:.3f}",
            transform=ax.transAxes,
            ha="left" if left else "right",
            va="top",
            bbox={"boxstyle": "round,pad=0.25", "facecolor": "white", "edgecolor": "0.8", "alpha": 0.9},
        )
        ax.set_xlim(0, 1)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # counts of trials
        ax.set_title(dataset_title(results))
        ax.set_xlabel(r"Kendall $\tau$(RT, $|\Delta u|$) on the test set")
        ax.grid(axis="y", alpha=0.3)
    axes[0, 0].set_ylabel("Trials")
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------------------- confusion matrix


def confusion_matrix_figure(results: DatasetResults):
    """Confusion matrix of true preference (rows) against the observed choice (columns), summed over trials.

    The cache stores index 1 = option 1 (row 1[u1 > u2], column y); the matrix is flipped so that option 1
    comes first on both axes and the tick labels match the cells (the original labelled them in index order).
    """
    counts = results.confusion.sum(axis=0)[::-1, ::-1]
    total = counts.sum()
    fig, ax = plt.subplots(figsize=(3.9, 3.4))
    image = ax.imshow(counts, cmap="Blues", vmin=0, vmax=max(float(counts.max()), 1.0))
    for (i, j), count in np.ndenumerate(counts):
        share = 100 * count / total if total else float("nan")
        dark = count > 0.6 * counts.max()
        ax.text(
            j,
            i,
            f"{count:.0f}\n({share:.1f}{_pct()})",
            ha="center",
            va="center",
            color="white" if dark else "black",
            fontsize=10,
        )
    labels = ["Option 1", "Option 2"]
    ax.set_xticks([0, 1], labels)
    ax.set_yticks([0, 1], labels)
    ax.set_xlabel("Chosen Option")
    ax.set_ylabel("True Preference")
    agreement = np.trace(counts) / total if total else float("nan")
    ax.set_title(f"{results.display_name}\nlabel agreement {100 * agreement:.1f}{_pct()}", fontsize=10)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="Comparisons")
    fig.tight_layout()
    return fig

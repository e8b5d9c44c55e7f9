"""The results folder of ``responserank fit``: CSV tables, ``report.md`` and three PNG figures.

Files (all written into a staging folder that replaces the results folder as a whole only when everything
succeeded, so no file of an earlier run — e.g. ``coefficients.csv`` of a feature model — survives next to them):

* ``utilities.csv`` — ``method, item, utility, utility_sd, comparisons``
* ``metrics.csv`` — ``method, heldout_accuracy, heldout_log_likelihood`` (+ SDs over splits, ``n_splits``,
  ``unseen_share``), one row per method, means over the repeats × folds at training fraction 1
* ``paired_comparison.csv`` — each method vs BT: mean difference, CI95, corrected t-test and Wilcoxon p-values
* ``learning_curve.csv``, ``fold_metrics.csv`` — per training fraction, and per split
* ``coefficients.csv`` — feature weights (feature model only)
* ``utilities.png``, ``strength_vs_utility_gap.png`` (with a strength column), ``accuracy_by_training_fraction.png``
* ``report.md`` — all of the above in words, with definitions
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.stats

from responserank.errors import AnalysisError
from responserank.reporting import (
    BT_COLOR,
    RR_COLOR,
    RT_REGRESSION_COLOR,
    check_output_dir,
    configure_matplotlib,
    format_p_value,
    replaced_directory,
    save_figure,
)

MARGIN_BT_COLOR = "#5D6D7E"
METHOD_STYLE = {
    "bt": ("BT", BT_COLOR, "o"),
    "responserank": ("ResponseRank", RR_COLOR, "s"),
    "rt_regression": ("RT regression", RT_REGRESSION_COLOR, "^"),
    "margin_bt": ("Margin BT", MARGIN_BT_COLOR, "D"),
    "ez": ("EZ + ratio", "#7F8C8D", "v"),
    "ddm": ("DDM", "#6C3483", "P"),
}
MAX_ITEMS_SHOWN = 60
OUTPUT_FILES = (
    "utilities.csv",
    "metrics.csv",
    "paired_comparison.csv",
    "learning_curve.csv",
    "fold_metrics.csv",
    "coefficients.csv",
    "utilities.png",
    "strength_vs_utility_gap.png",
    "accuracy_by_training_fraction.png",
    "report.md",
)


def label(method: str) -> str:
    return METHOD_STYLE.get(method, (method, "k", "o"))[0]


# --------------------------------------------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------------------------------------------


def plot_utilities(result, path_without_suffix: Path) -> Path:
    """Dot plot of each item's utility ± its jackknife SE, one marker per method, items sorted by BT utility."""
    import matplotlib.pyplot as plt

    table = result.utilities
    methods = list(dict.fromkeys(table["method"]))
    bt = table[table["method"] == "bt"].set_index("item")["utility"].sort_values()
    items = list(bt.index)
    note = ""
    if len(items) > MAX_ITEMS_SHOWN:
        half = MAX_ITEMS_SHOWN // 2
        items = items[:half] + items[-half:]
        note = f" ({MAX_ITEMS_SHOWN} of {len(bt)} items: the {half} lowest and {half} highest by BT)"
    height = max(2.5, 0.22 * len(items) + 1.2)
    fig, ax = plt.subplots(figsize=(6.0, height))
    offsets = np.linspace(-0.25, 0.25, len(methods)) if len(methods) > 1 else np.zeros(1)
    y = np.arange(len(items))
    for offset, method in zip(offsets, methods, strict=True):
        rows = table[table["method"] == method].set_index("item").loc[items]
        name, color, marker = METHOD_STYLE.get(method, (method, "k", "o"))
        ax.errorbar(
            rows["utility"], y + offset, xerr=rows["utility_sd"], fmt=marker, ms=3.5, color=color,
            elinewidth=0.9, capsize=1.5, label=name,
        )  # fmt: skip
    if note:  # mark where the omitted middle of the ranking would be
        ax.axhline(MAX_ITEMS_SHOWN // 2 - 0.5, color="0.5", lw=0.8, ls="--")
        ax.text(
            0.01, (MAX_ITEMS_SHOWN // 2 - 0.5 + 0.7) / len(items), f"{len(bt) - len(items)} items not shown",
            transform=ax.transAxes, fontsize=7, color="0.4", va="center",
        )  # fmt: skip
    ax.set_yticks(y, items, fontsize=7 if len(items) > 30 else 9)
    ax.set_ylim(-0.7, len(items) - 0.3)
    ax.axvline(0.0, color="0.7", lw=0.6, zorder=0)
    ax.set_xlabel("utility (centred; error bar: $\\pm$ jackknife standard error)")
    ax.set_title("Learned utilities, sorted by BT" + note, fontsize=10)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.grid(axis="x", color="0.92", lw=0.6)
    return save_figure(fig, path_without_suffix, formats=("png",))[0]


def plot_strength_vs_gap(result, path_without_suffix: Path) -> Path:
    """Strength of each comparison against ``|Δu|`` of the choice-only BT fit, with binned medians."""
    import matplotlib.pyplot as plt

    comparisons = result.comparisons
    utility = result.full_fit["bt"]
    gap = np.abs(utility[comparisons.item_a] - utility[comparisons.item_b])
    strength = comparisons.strength
    rho = scipy.stats.spearmanr(gap, strength).statistic
    fig, ax = plt.subplots(figsize=(5.2, 3.6))
    ax.scatter(gap, strength, s=4, color="0.6", alpha=0.35, linewidths=0, label="comparison", rasterized=True)
    edges = np.unique(np.quantile(gap, np.linspace(0, 1, 11)))
    if edges.size >= 3:
        bins = np.clip(np.searchsorted(edges, gap, side="right") - 1, 0, edges.size - 2)
        frame = pd.DataFrame({"bin": bins, "gap": gap, "strength": strength}).groupby("bin")
        centre_gap = frame["gap"].median()
        ax.fill_between(
            centre_gap, frame["strength"].quantile(0.25), frame["strength"].quantile(0.75),
            color=RR_COLOR, alpha=0.2, lw=0, label="interquartile range per decile of $|\\Delta u|$",
        )  # fmt: skip
        ax.plot(centre_gap, frame["strength"].median(), "-o", color=RR_COLOR, ms=3, label="median")
    low, high = np.quantile(strength, [0.002, 0.998])
    outside = int(((strength < low) | (strength > high)).sum())
    if outside:
        ax.text(
            0.01, 0.01, f"{outside} extreme comparisons (outside the central 99.6%) not shown",
            transform=ax.transAxes, fontsize=7, color="0.4",
        )  # fmt: skip
    column = comparisons.columns.strength
    if comparisons.strength_is_time:
        ax.set_ylim(low / 1.15, high * 1.15)
        ax.set_yscale("log")
        ax.set_ylabel(f"{column} (log scale; lower = stronger)")
    else:
        pad = 0.05 * (high - low) if high > low else 1.0
        ax.set_ylim(low - pad, high + pad)
        ax.set_ylabel(f"{column} (higher = stronger)")
    ax.set_xlabel("$|\\Delta u|$ from the BT fit (choices only, no strength used)")
    ax.set_title(
        f"Does the strength signal track the utility gap?  Spearman $\\rho$ = {rho:.2f}", fontsize=10
    )
    ax.legend(fontsize=7, frameon=False, loc="upper right")
    return save_figure(fig, path_without_suffix, formats=("png",))[0]


def plot_learning_curve(result, path_without_suffix: Path) -> Path:
    """Held-out accuracy (mean ± CI95 over splits) against the training fraction, one line per method."""
    import matplotlib.pyplot as plt

    curve = result.learning_curve
    fig, ax = plt.subplots(figsize=(5.2, 3.6))
    for method in dict.fromkeys(curve["method"]):
        rows = curve[curve["method"] == method].sort_values("train_fraction")
        name, color, marker = METHOD_STYLE.get(method, (method, "k", "o"))
        x = 100 * rows["train_fraction"]
        mean, ci95 = rows["heldout_accuracy"], rows["heldout_accuracy_ci95"]
        ax.plot(x, mean, marker=marker, ms=4, color=color, label=name)
        ax.fill_between(x, mean - ci95, mean + ci95, color=color, alpha=0.15, lw=0)
    n_full = curve.loc[curve["train_fraction"] == 1.0, "n_train"].iloc[0]
    ax.set_xlabel(f"training fraction (% of each fold's training set; 100% = {n_full:.0f} comparisons)")
    ax.set_ylabel("held-out choice accuracy")
    splits = int(curve["n_splits"].max())
    ax.set_title(
        f"Accuracy by training fraction (mean $\\pm$ corrected 95% CI, {splits} splits)", fontsize=10
    )
    ax.legend(fontsize=8, frameon=False)
    ax.grid(color="0.92", lw=0.6)
    return save_figure(fig, path_without_suffix, formats=("png",))[0]


# --------------------------------------------------------------------------------------------------------------
# report.md
# --------------------------------------------------------------------------------------------------------------


def _markdown_table(frame: pd.DataFrame, floatfmt: str = ".4f") -> str:
    def cell(value) -> str:
        if isinstance(value, float | np.floating):
            return "n/a" if np.isnan(value) else format(value, floatfmt)
        return str(value)

    header = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *body])


def _verdict(row: pd.Series) -> str:
    metric = "held-out accuracy" if row["metric"] == "heldout_accuracy" else "held-out log-likelihood"
    text = f"{label(row['method'])} − BT, {metric}: {row['mean_difference']:+.4f}"
    if np.isnan(row["p_value"]):
        return text + " (too few splits for a test)."
    significant = "significant" if row["p_value"] < 0.05 else "not significant"
    return (
        f"{text} (95% CI {row['ci95_low']:+.4f} … {row['ci95_high']:+.4f}, corrected t-test "
        f"p = {format_p_value(row['p_value'])}: {significant} at the 5% level)."
    )


def render_report(result, figures: dict[str, str], command: str | None) -> str:
    """``report.md``: one section per function below, in order."""
    lines = ["# `responserank fit` report", ""]
    if command:
        lines += ["Command:", "", "```", command, "```", ""]
    lines += _data_section(result) + _scores_section(result.metrics, result.settings)
    lines += _paired_section(result.paired) + _curve_section(
        result.learning_curve, result.settings["methods"]
    )
    lines += ["## Figures", "", *(f"![{name}]({file})" for name, file in figures.items()), ""]
    return "\n".join(lines + _utilities_section(result) + _definitions_section(result.settings))


def _data_section(result) -> list[str]:
    comparisons, settings = result.comparisons, result.settings
    columns = comparisons.columns
    strength = "none (BT only)"
    if columns.strength:
        higher = columns.strength_higher_is_stronger
        kind = "higher = stronger" if higher else "a response time, lower = stronger"
        strength = f"`{columns.strength}` ({kind})"
    strata = ", ".join(f"`{c}`" for c in columns.stratum) or "none (one global stratum)"
    model = "one utility parameter per item"
    if comparisons.design is not None:
        model = f"linear in {len(comparisons.feature_names)} standardized item features"
    query = f", rows selected by `{settings['query']}`" if settings["query"] else ""
    groups = f" after random groups of {settings['group_size']}" if settings["group_size"] else ""
    return [
        "## Data",
        "",
        f"- table: `{settings['table']}`{query}",
        f"- {comparisons.num_comparisons} comparisons of {comparisons.num_items} items "
        f"(`{columns.item_a}` vs `{columns.item_b}`; `{columns.choice}` = `{columns.a_chosen_value}` means a "
        f"was chosen, a chosen in {comparisons.first_chosen.mean():.1%})",
        f"- strength: {strength}; strata: {strata}; {comparisons.num_strata} strata{groups}",
        f"- model: {model}; {int(comparisons.component.max()) + 1} connected group(s) of items",
        *(f"- **warning:** {message}" for message in result.warnings),
        "",
    ]


def _mean_sd(metrics: pd.DataFrame, name: str) -> list[str]:
    return [f"{m:.4f} ± {s:.4f}" for m, s in zip(metrics[name], metrics[f"{name}_sd"], strict=True)]


def _scores_section(metrics: pd.DataFrame, settings: dict) -> list[str]:
    shown = pd.DataFrame({"method": [label(m) for m in metrics["method"]]})
    shown["held-out accuracy"] = _mean_sd(metrics, "heldout_accuracy")
    shown["held-out log-likelihood"] = _mean_sd(metrics, "heldout_log_likelihood")
    lines = [
        "## Held-out scores",
        "",
        f"{settings['repeats']} × {settings['folds']}-fold cross-validation (stratified by stratum), training "
        "on all other folds; means ± SD over the splits.",
        "",
        _markdown_table(shown),
        "",
    ]
    unseen = float(metrics["unseen_share"].max())
    if unseen > 0:
        lines += [
            f"{unseen:.1%} of held-out comparisons involve an item that is absent from their training split; "
            "they are scored with the prior utility (0 before centring).",
            "",
        ]
    return lines


def _paired_section(paired: pd.DataFrame) -> list[str]:
    if not len(paired):
        return ["## Paired comparison against BT", "", "No strength column, so only BT was fitted.", ""]
    table = paired[["metric", "mean_difference"]].rename(columns={"mean_difference": "mean difference"})
    table.insert(0, "method", [label(m) for m in paired["method"]])
    table["95% CI"] = [
        f"{lo:+.4f} … {hi:+.4f}" for lo, hi in zip(paired["ci95_low"], paired["ci95_high"], strict=True)
    ]
    table["p (corrected t)"] = [format_p_value(p) for p in paired["p_value"]]
    table["p (Wilcoxon)"] = [format_p_value(p) for p in paired["p_wilcoxon"]]
    table["splits"] = paired["n_splits"]
    return [
        "## Paired comparison against BT",
        "",
        _markdown_table(table, floatfmt="+.4f"),
        "",
        *(f"- {_verdict(row)}" for _, row in paired.iterrows() if row["method"] == "responserank"),
        "",
        "Differences are method − BT per split. Splits share training data, so the p-value and CI come from "
        "the corrected resampled t-test (Nadeau & Bengio 2003); Wilcoxon signed-rank p-values are "
        "uncorrected and shown as a cross-check. With few splits neither test has much power: use "
        "`--repeats 10` or more before drawing conclusions.",
        "",
    ]


def _curve_section(curve: pd.DataFrame, methods) -> list[str]:
    wide = curve.pivot_table(index="train_fraction", columns="method", values="heldout_accuracy", sort=False)
    wide = wide[[m for m in methods if m in wide.columns]]
    wide.columns = [label(m) for m in wide.columns]
    wide.insert(0, "training comparisons (mean)", curve.groupby("train_fraction")["n_train"].mean().round(1))
    wide = wide.reset_index().rename(columns={"train_fraction": "fraction"})
    wide["fraction"] = [f"{f:.0%}" for f in wide["fraction"]]
    wide["training comparisons (mean)"] = [f"{n:.1f}" for n in wide["training comparisons (mean)"]]
    return ["## Accuracy by training fraction", "", _markdown_table(wide), ""]


def _utilities_section(result) -> list[str]:
    lines = ["## Utilities", ""]
    if result.comparisons.num_items <= 40:
        wide = result.utilities.pivot_table(index="item", columns="method", values="utility", sort=False)
        wide = wide[list(result.settings["methods"])].sort_values("bt", ascending=False)
        wide.columns = [label(m) for m in wide.columns]
        lines += [_markdown_table(wide.reset_index(), floatfmt="+.3f"), ""]
    return [
        *lines,
        "Full table with standard errors: `utilities.csv`. Utilities come from the fit on all comparisons and are "
        "centred to mean 0 within each connected group of items (they are identified only up to such a shift). "
        "`utility_sd` is the grouped-jackknife standard error over the folds: "
        "`sqrt((K−1)/K · Σ_k (u_k − ū)²)`, averaged over repeats.",
        "",
    ]


def _definitions_section(settings: dict) -> list[str]:
    fractions = ", ".join(f"{f:g}" for f in settings["train_fractions"])
    return [
        "## Definitions",
        "",
        "- Held-out accuracy: share of held-out choices the utilities predict (ties count ½).",
        "- Held-out log-likelihood: mean `log σ(±Δu)` of the observed held-out choices, the BT likelihood, for "
        "every method (ResponseRank's anchor puts its utilities on the BT scale; RT-regression utilities are "
        "scaled by the assumed RT link, so their log-likelihood also tests that scale).",
        f"- Fitting: MAP with an L2 prior of precision {settings['l2']} per parameter, full-batch L-BFGS; ties "
        f"in the strength: {settings['ties']}; margin-BT margin scale {settings['margin_scale']}; RT-regression "
        f"link max_rt = {settings['rt_link_max'] or 'the 95th percentile response time'}.",
        f"- Seed {settings['seed']}; training fractions {fractions} "
        "of each fold's training comparisons (nested subsamples per stratum).",
        "",
    ]


def check_results_folder(out: str | os.PathLike) -> Path:
    """Before any work: ``out`` must be creatable and writable, and, if it exists, hold nothing but the files of
    an earlier fit (they are replaced as a whole, so anything else would be deleted). One-line
    :class:`~responserank.fitting.table.FitError` otherwise; returns ``out``."""
    from responserank.errors import FitError

    try:
        out = check_output_dir(out, "--out")
    except AnalysisError as error:
        raise FitError(str(error)) from None
    resolved, cwd = out.resolve(), Path.cwd().resolve()
    if resolved == cwd or resolved in cwd.parents:
        raise FitError(f"--out {out} is the current folder or one above it; name a results subfolder")
    if out.is_dir():
        foreign = sorted(p.name for p in out.iterdir() if p.name not in OUTPUT_FILES)
        if foreign:
            shown = ", ".join(foreign[:5]) + (", ..." if len(foreign) > 5 else "")
            raise FitError(
                f"--out {out} holds files that are not results of responserank fit ({shown}); the results "
                "folder is replaced as a whole, so choose a new or empty folder"
            )
    return out


def write_results(result, out: str | os.PathLike, command: str | None = None) -> Path:
    """Write the results folder ``out``: built in a staging folder that replaces ``out`` as a whole on success
    (stale staging folders of killed runs are removed first); returns ``out``."""
    out = check_results_folder(out)
    configure_matplotlib()
    with replaced_directory(out) as staging:
        result.utilities.to_csv(staging / "utilities.csv", index=False)
        result.metrics.to_csv(staging / "metrics.csv", index=False)
        result.paired.to_csv(staging / "paired_comparison.csv", index=False)
        result.learning_curve.to_csv(staging / "learning_curve.csv", index=False)
        result.fold_metrics.to_csv(staging / "fold_metrics.csv", index=False)
        if len(result.coefficients):
            result.coefficients.to_csv(staging / "coefficients.csv", index=False)
        figures = {"utilities": plot_utilities(result, staging / "utilities").name}
        if result.comparisons.strength is not None:
            figures["strength vs utility gap"] = plot_strength_vs_gap(
                result, staging / "strength_vs_utility_gap"
            ).name
        figures["accuracy by training fraction"] = plot_learning_curve(
            result, staging / "accuracy_by_training_fraction"
        ).name
        (staging / "report.md").write_text(render_report(result, figures, command), encoding="utf-8")
    return out

"""Do response times help to learn a person's snack utilities? BT vs ResponseRank on Clithero (2018).

31 subjects chose between every pair of 17 snacks once (136 two-alternative choices each, with response times)
and, separately, said yes/no to eating each snack ten times. P(yes) per subject and snack is an independent
measure of the snack's value; so is the per-snack drift of a drift-diffusion model fitted to the yes/no task only
(``Clithero_subjectIdx_2_params.csv``, used when it lies beside the data file).

For each subject separately (items = subject × snack, strata = subject, optionally cut into random groups of
``--group-size`` comparisons), a training fraction f ∈ {10 %, …, 100 %} of the subject's 136 pairs is drawn at
random (``--repeats`` times, nested across fractions) and the utilities are fitted with BT (choices only),
ResponseRank (choices + RT order within the stratum) and, by default, the RT-regression and margin-BT baselines.
Metrics per subject and split:

* held-out accuracy: choices among the subject's *other* pairs (the ``(1 − f)·136`` not trained on); undefined
  at f = 100 %, where there is no held-out pair;
* Spearman correlation of the 17 learned utilities with P(yes) (and with the DDM drift, if available);
* PDC: Pearson correlation of ``|Δu|`` with ``|ΔP(yes)|`` over all 136 snack pairs (how well the learned
  utilities know the *strength* of each preference).

Scores are averaged over repeats per subject; methods are compared across the 31 subjects (the independent
units) with paired tests (``scipy.stats.wilcoxon`` and ``scipy.stats.ttest_rel``). Also reported: the pooled fit
(one utility per snack over all subjects) against the mean P(yes).

Run (about 3 minutes on two CPU cores)::

    python examples/clithero_snacks.py --out results/clithero

Without a file argument the data come from :func:`responserank.datasets.load_clithero` (downloaded once into the
user cache folder, SHA-256 checked; ``RESPONSERANK_CLITHERO=<file>`` points at a local copy). A path as first
argument reads that copy of ``ClitheroDataset.csv`` instead.

Writes ``OUT/per_subject.csv`` (one row per method × fraction × repeat × subject), ``OUT/summary.csv``,
``OUT/paired.csv``, ``OUT/summary.md`` and ``OUT/clithero.png``.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.stats
from tqdm.auto import tqdm

from responserank.datasets import load_clithero, load_clithero_ddm_params
from responserank.errors import AnalysisError, DatasetError
from responserank.fitting import Columns, Settings, centre, fit_utilities, prepare_comparisons
from responserank.fitting.engine import Problem
from responserank.fitting.report import METHOD_STYLE, label
from responserank.fitting.splits import position_in_stratum
from responserank.fitting.table import split_strata_into_random_groups
from responserank.metrics import choice_accuracy, pearson_distance_correlation, utility_correlation
from responserank.reporting import (
    atomic_directory,
    configure_matplotlib,
    format_p_value,
    save_figure,
    summarize,
)

FRACTIONS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
METHODS = ("bt", "responserank", "rt_regression", "margin_bt", "ez", "ddm")
METRICS = {
    "accuracy": "held-out accuracy",
    "spearman_pyes": "Spearman(u, P(yes))",
    "pdc_pyes": "PDC vs |ΔP(yes)|",
    "spearman_drift": "Spearman(u, DDM drift)",
}


# --------------------------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------------------------


def load(data: Path | None, num_subjects: int | None = None):
    """Two-alternative choices (one row per choice), P(yes) ``[S, 17]`` and DDM drifts ``[S, 17]`` (or None).

    ``data=None`` fetches both files through :mod:`responserank.datasets`; a path reads that copy and the DDM
    parameters beside it, if present.
    """
    if data is None:
        frame, params = load_clithero(), load_clithero_ddm_params()
    else:
        frame = load_clithero(path=data)
        beside = data.with_name("Clithero_subjectIdx_2_params.csv")
        params = load_clithero_ddm_params(path=beside) if beside.is_file() else None
    subjects = np.sort(frame["subj"].unique())
    drift = None
    if params is not None:  # rows follow the sorted subject ids
        if len(params) != len(subjects):
            raise AnalysisError(f"DDM parameters have {len(params)} rows for {len(subjects)} subjects")
        drift = params[[f"nu {i}" for i in range(1, 18)]].to_numpy()
        drift = pd.DataFrame(drift, index=subjects, columns=range(1, 18))
    if num_subjects is not None:
        subjects = subjects[:num_subjects]
        frame = frame[frame["subj"].isin(subjects)]
    yes_no = frame[frame["YesNo"] == 1]
    p_yes = yes_no.groupby(["subj", "Item"])["response"].mean().unstack().loc[subjects]
    choices = frame[frame["YesNo"] == 0].copy()
    for side in ("l", "r"):  # one item per (subject, snack): per-subject utilities
        choices[f"key_{side}"] = (
            choices["subj"].astype(int).astype(str) + ":" + choices[f"Item_{side}"].astype(int).astype(str)
        )
    drift = None if drift is None else drift.loc[subjects].to_numpy()
    return choices, p_yes.to_numpy(), drift, subjects


# --------------------------------------------------------------------------------------------------------------
# Metrics (vectorized over repeats and subjects)
# --------------------------------------------------------------------------------------------------------------


def heldout_accuracy_by_subject(utility, comparisons, subject, heldout, num_subjects) -> np.ndarray:
    """``[R, S]`` accuracy on each subject's held-out pairs (NaN without any)."""
    result = np.full((utility.shape[0], num_subjects), np.nan)
    for r in range(utility.shape[0]):  # loop over repeats; subjects are batched below
        index = np.flatnonzero(heldout[r])
        if index.size == 0:
            continue
        index = index[np.argsort(subject[index], kind="stable")]
        counts = np.bincount(subject[index], minlength=num_subjects)
        if np.all(counts == counts[0]):  # every subject has equally many held-out pairs: one batched call
            shape = (num_subjects, counts[0])
            ua = utility[r, comparisons.item_a[index]].reshape(shape)
            ub = utility[r, comparisons.item_b[index]].reshape(shape)
            result[r] = choice_accuracy(ua, ub, comparisons.first_chosen[index].reshape(shape))
        else:
            for s in np.flatnonzero(counts):
                rows = index[subject[index] == s]
                ua, ub = utility[r, comparisons.item_a[rows]], utility[r, comparisons.item_b[rows]]
                result[r, s] = choice_accuracy(ua, ub, comparisons.first_chosen[rows])
    return result


def value_metrics(
    utility_grid: np.ndarray, p_yes: np.ndarray, drift: np.ndarray | None
) -> dict[str, np.ndarray]:
    """Spearman with P(yes) / drift and PDC vs |ΔP(yes)| for utilities ``[R, S, 17]``; each ``[R, S]``."""
    first, second = np.array(list(combinations(range(p_yes.shape[1]), 2))).T
    metrics = {
        "spearman_pyes": utility_correlation(p_yes, utility_grid, method="spearman"),
        "pdc_pyes": pearson_distance_correlation(
            p_yes[:, first] - p_yes[:, second], utility_grid[..., first] - utility_grid[..., second]
        ),
    }
    if drift is not None:
        metrics["spearman_drift"] = utility_correlation(drift, utility_grid, method="spearman")
    return metrics


# --------------------------------------------------------------------------------------------------------------
# The study
# --------------------------------------------------------------------------------------------------------------


def run(
    data: Path | None,
    *,
    repeats: int = 20,
    fractions: Sequence[float] = FRACTIONS,
    methods: Sequence[str] = METHODS,
    group_size: int | None = None,
    num_subjects: int | None = None,
    l2: float = 0.1,
    seed: int = 0,
    progress: bool | None = None,
) -> dict[str, pd.DataFrame]:
    """Run the study; returns ``per_subject``, ``summary``, ``paired`` and ``pooled`` tables."""
    choices, p_yes, drift, subjects = load(data, num_subjects)
    columns = Columns("key_l", "key_r", "choice", 1, strength="rt", stratum=("subj",))
    comparisons = prepare_comparisons(choices, columns)
    # Subject (0 … S−1, sorted ids) of every comparison; strata are subjects until split into random groups.
    subject_index = pd.Index(subjects.astype(int).astype(str))
    subject = subject_index.get_indexer(comparisons.strata)[comparisons.stratum]
    if group_size is not None:
        comparisons = split_strata_into_random_groups(comparisons, group_size, seed)

    # Item grid [S, 17]: the item index of (subject, snack).
    position = pd.Index(comparisons.items)
    grid = np.array([[position.get_loc(f"{int(s)}:{i}") for i in range(1, 18)] for s in subjects])

    # Nested random training subsets per subject: the first ceil(f · 136) pairs in a random order.
    rng = np.random.default_rng(seed)
    keys = rng.random((repeats, comparisons.num_comparisons))
    order_in_subject = np.stack([position_in_stratum(subject, key)[0] for key in keys])  # [R, N]
    subject_size = np.bincount(subject)[subject]

    problem = Problem(
        comparisons.item_a,
        comparisons.item_b,
        comparisons.first_chosen,
        comparisons.num_items,
        rank=comparisons.rank,
        stratum=comparisons.stratum,
        strength=comparisons.strength,
    )
    settings = Settings(l2=l2)
    rows = []
    bar = tqdm(
        total=len(methods) * len(fractions),
        desc="clithero",
        disable=None if progress is None else not progress,
    )
    with bar:
        for method in methods:
            for fraction in fractions:
                bar.set_postfix_str(f"{method} @ {fraction:.0%}")
                train = order_in_subject < np.ceil(fraction * subject_size - 1e-9)
                utility, _ = fit_utilities(problem, train, method, settings)
                utility = centre(utility, comparisons.component)
                scores = {
                    "accuracy": heldout_accuracy_by_subject(
                        utility, comparisons, subject, ~train, len(subjects)
                    )
                }
                scores |= value_metrics(utility[:, grid], p_yes, drift)
                frame = pd.DataFrame(
                    {
                        "method": method,
                        "train_fraction": fraction,
                        "repeat": np.repeat(np.arange(repeats), len(subjects)),
                        "subject": np.tile(subjects.astype(int), repeats),
                        "n_train": np.tile(np.bincount(subject, weights=train[0]), repeats),
                    }
                    | {name: values.reshape(-1) for name, values in scores.items()}
                )
                rows.append(frame)
                bar.update()
    per_subject = pd.concat(rows, ignore_index=True)
    summary, paired = summarize_study(per_subject)
    return {
        "per_subject": per_subject,
        "summary": summary,
        "paired": paired,
        "pooled": pooled_fit(choices, p_yes, methods, l2),
        "rt_signal": pd.DataFrame(
            {"mean_spearman_rt_vs_abs_delta_p_yes": [rt_signal(choices, p_yes, subjects)]}
        ),
    }


def summarize_study(per_subject: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Means over repeats per subject, then mean ± CI95 across subjects and paired tests vs BT."""
    metrics = [m for m in METRICS if m in per_subject.columns]
    by_subject = per_subject.groupby(["method", "train_fraction", "subject"], sort=False)[metrics].mean()
    summary_rows, paired_rows = [], []
    for (method, fraction), group in by_subject.groupby(level=["method", "train_fraction"], sort=False):
        row = {"method": method, "train_fraction": fraction, "subjects": len(group)}
        for metric in metrics:
            s = summarize(group[metric])
            row |= {metric: s.mean, f"{metric}_sd": s.sd, f"{metric}_ci95": s.ci95}
        summary_rows.append(row)
        if method == "bt":
            continue
        baseline = by_subject.loc[("bt", fraction)]
        for metric in metrics:
            both = pd.concat(
                [group.droplevel([0, 1])[metric], baseline[metric]], axis=1, keys=["m", "bt"]
            ).dropna()
            difference = both["m"] - both["bt"]
            result = {"method": method, "train_fraction": fraction, "metric": metric, "subjects": len(both)}
            if len(both) >= 2 and np.any(difference != 0):
                s = summarize(difference)
                result |= {
                    "mean_difference": s.mean,
                    "ci95": s.ci95,
                    "p_wilcoxon": float(scipy.stats.wilcoxon(both["m"], both["bt"]).pvalue),
                    "p_ttest": float(scipy.stats.ttest_rel(both["m"], both["bt"]).pvalue),
                    "subjects_better": int((difference > 0).sum()),
                }
            paired_rows.append(result)
    return pd.DataFrame(summary_rows), pd.DataFrame(paired_rows)


def rt_signal(choices: pd.DataFrame, p_yes: np.ndarray, subjects: np.ndarray) -> float:
    """Mean over subjects of Spearman(RT, |ΔP(yes)|) over the subject's 136 choices: is RT a strength signal?"""
    row = pd.Index(subjects).get_indexer(choices["subj"])
    gap = np.abs(
        p_yes[row, choices["Item_l"].astype(int) - 1] - p_yes[row, choices["Item_r"].astype(int) - 1]
    )
    ranks = pd.DataFrame({"subject": row, "rt": choices["rt"].to_numpy(), "gap": gap})
    ranks = ranks.groupby("subject")[["rt", "gap"]].rank()  # Spearman = Pearson of within-subject ranks
    ranks["subject"] = row
    correlations = ranks.groupby("subject").apply(lambda g: g["rt"].corr(g["gap"]), include_groups=False)
    return float(correlations.mean())


def pooled_fit(choices: pd.DataFrame, p_yes: np.ndarray, methods: Sequence[str], l2: float) -> pd.DataFrame:
    """One utility per snack over all subjects (RR strata = subject); Spearman with the mean P(yes)."""
    columns = Columns("Item_l", "Item_r", "choice", 1, strength="rt", stratum=("subj",))
    comparisons = prepare_comparisons(choices, columns)
    problem = Problem(
        comparisons.item_a, comparisons.item_b, comparisons.first_chosen, comparisons.num_items,
        rank=comparisons.rank, stratum=comparisons.stratum, strength=comparisons.strength,
    )  # fmt: skip
    snack = np.array([int(i) for i in comparisons.items])
    mean_p_yes = p_yes.mean(axis=0)[snack - 1]
    rows = []
    for method in methods:
        utility, _ = fit_utilities(
            problem, np.ones((1, comparisons.num_comparisons), bool), method, Settings(l2=l2)
        )
        rho = float(scipy.stats.spearmanr(utility[0], mean_p_yes).statistic)
        rows.append({"method": method, "spearman_mean_pyes": rho})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------------------------
# Outputs
# --------------------------------------------------------------------------------------------------------------


def markdown_table(summary: pd.DataFrame, paired: pd.DataFrame, versus: str = "responserank") -> str:
    """One row per training fraction: accuracy, Spearman and PDC of BT and ``versus``, Δ (Wilcoxon p)."""
    short = {"accuracy": "acc.", "spearman_pyes": "ρ P(yes)", "pdc_pyes": "PDC"}
    ours = "RR" if versus == "responserank" else label(versus)
    header = ["train pairs"]
    for metric in short.values():
        header += [f"{metric} BT", f"{metric} {ours}", f"{metric} Δ (p)"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    bt = summary[summary["method"] == "bt"].set_index("train_fraction")
    other = summary[summary["method"] == versus].set_index("train_fraction")
    tests = paired[paired["method"] == versus].set_index(["train_fraction", "metric"])
    for fraction in bt.index:
        cells = [f"{fraction:.0%}"]
        for metric in short:
            if np.isnan(bt.loc[fraction, metric]):
                cells += ["–", "–", "–"]
                continue
            test = tests.loc[(fraction, metric)]
            cells += [
                f"{bt.loc[fraction, metric]:.3f}",
                f"{other.loc[fraction, metric]:.3f}",
                f"{test['mean_difference']:+.3f} ({format_p_value(test['p_wilcoxon'])})",
            ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def methods_in(summary: pd.DataFrame) -> list[str]:
    """The methods of the study other than BT, in the order they were run."""
    return [m for m in dict.fromkeys(summary["method"]) if m != "bt"]


def all_methods_table(summary: pd.DataFrame) -> str:
    """One row per training fraction: every method's mean accuracy, Spearman with P(yes) and PDC."""
    methods = list(dict.fromkeys(summary["method"]))
    short = {"accuracy": "acc.", "spearman_pyes": "ρ P(yes)", "pdc_pyes": "PDC"}
    header = ["train pairs"] + [f"{name} {label(m)}" for name in short.values() for m in methods]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    wide = summary.set_index(["train_fraction", "method"])
    for fraction in dict.fromkeys(summary["train_fraction"]):
        cells = [f"{fraction:.0%}"]
        for metric in short:
            values = [wide.loc[(fraction, m), metric] for m in methods]
            best = np.nanmax(values) if not np.all(np.isnan(values)) else np.nan
            cells += ["–" if np.isnan(v) else (f"**{v:.3f}**" if v == best else f"{v:.3f}") for v in values]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot(summary: pd.DataFrame, path_without_suffix: Path, repeats: int) -> Path:
    """Three panels against the training fraction: held-out accuracy, Spearman with P(yes), PDC."""
    import matplotlib.pyplot as plt

    configure_matplotlib()
    panels = [
        ("accuracy", "held-out choice accuracy"),
        ("spearman_pyes", "Spearman$(u, P(\\mathrm{yes}))$"),
        ("pdc_pyes", "PDC: corr$(|\\Delta u|, |\\Delta P(\\mathrm{yes})|)$"),
    ]
    fig, axes = plt.subplots(1, 3, figsize=(11.0, 3.4))
    for ax, (metric, title) in zip(axes, panels, strict=True):
        for method in dict.fromkeys(summary["method"]):
            rows = summary[summary["method"] == method].dropna(subset=[metric]).sort_values("train_fraction")
            name, color, marker = METHOD_STYLE[method]
            x = 100 * rows["train_fraction"]
            ax.plot(x, rows[metric], marker=marker, ms=3.5, color=color, label=name, lw=1.3)
            ax.fill_between(
                x, rows[metric] - rows[f"{metric}_ci95"], rows[metric] + rows[f"{metric}_ci95"],
                color=color, alpha=0.13, lw=0,
            )  # fmt: skip
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("training pairs per subject (% of 136)")
        ax.grid(color="0.92", lw=0.6)
        ax.set_xticks([10, 30, 50, 70, 90, 100])
        ax.set_xlim(5, 105)
    axes[0].text(
        0.98, 0.04, "held out: the subject's other pairs\n(none at 100%)", transform=axes[0].transAxes,
        ha="right", va="bottom", fontsize=7, color="0.35",
    )  # fmt: skip
    axes[1].legend(fontsize=8, frameon=False, loc="lower right")
    subjects = int(summary["subjects"].max())
    fig.suptitle(
        f"Clithero snack choices: per-subject utilities, {subjects} subjects $\\times$ {repeats} random splits; "
        "mean and 95% CI across subjects (method differences are paired: see the table)",
        fontsize=10,
    )
    fig.tight_layout()
    return save_figure(fig, path_without_suffix, formats=("png",))[0]


def write(results: dict[str, pd.DataFrame], out: Path, command: str, repeats: int) -> None:
    with atomic_directory(out) as staging:
        for name in ("per_subject", "summary", "paired", "pooled", "rt_signal"):
            results[name].to_csv(staging / f"{name}.csv", index=False)
        plot(results["summary"], staging / "clithero", repeats)
        pooled = ", ".join(
            f"{label(r.method)} {r.spearman_mean_pyes:.3f}" for r in results["pooled"].itertuples(index=False)
        )
        text = [
            "# Clithero snack choices: BT vs ResponseRank, the baselines, EZ and the DDM",
            "",
            "```",
            command,
            "```",
            "",
            *(
                line
                for versus in methods_in(results["summary"])
                for line in (
                    f"{label(versus)} vs BT:",
                    "",
                    markdown_table(results["summary"], results["paired"], versus),
                    "",
                )
            ),
            "Means across subjects of per-subject means over the random splits. Δ = method − BT; p: Wilcoxon "
            "signed-rank test across subjects (`paired.csv` also has paired t-tests).",
            "",
            "All methods (means across subjects; best per metric in bold):",
            "",
            all_methods_table(results["summary"]),
            "",
            f"Pooled utilities (one per snack, all subjects) vs mean P(yes), Spearman: {pooled}.",
            "",
            "Is RT a strength signal here? Spearman(RT, |ΔP(yes)|) within subject, mean over subjects: "
            f"{results['rt_signal'].iloc[0, 0]:.3f} (negative = faster for larger value gaps).",
            "",
            "![Clithero](clithero.png)",
            "",
        ]
        (staging / "summary.md").write_text("\n".join(text), encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "data",
        type=Path,
        nargs="?",
        default=None,
        help="a local copy of ClitheroDataset.csv (default: responserank.datasets.load_clithero(), downloaded once)",
    )
    parser.add_argument("--out", type=Path, required=True, help="results folder")
    parser.add_argument(
        "--repeats", type=int, default=20, help="random splits per training fraction (default 20)"
    )
    parser.add_argument(
        "--fractions", type=float, nargs="+", default=list(FRACTIONS), help="training fractions"
    )
    parser.add_argument(
        "--methods", nargs="+", choices=METHODS, default=list(METHODS), help="methods (bt always)"
    )
    parser.add_argument(
        "--group-size", type=int, help="split each subject into random groups of K comparisons"
    )
    parser.add_argument("--subjects", type=int, help="use only the first N subjects (sorted ids)")
    parser.add_argument("--l2", type=float, default=0.1, help="L2 prior precision (default 0.1)")
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the splits and random groups (default 0)"
    )
    args = parser.parse_args(argv)
    methods = list(dict.fromkeys(["bt", *args.methods]))
    if any(not 0 < f <= 1 for f in args.fractions) or args.repeats < 1:
        print("error: fractions must lie in (0, 1] and repeats must be >= 1", file=sys.stderr)
        return 1
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # matplotlib font fallbacks
            results = run(
                args.data,
                repeats=args.repeats,
                fractions=sorted(args.fractions),
                methods=methods,
                group_size=args.group_size,
                num_subjects=args.subjects,
                l2=args.l2,
                seed=args.seed,
            )
            command = "python examples/clithero_snacks.py " + " ".join(sys.argv[1:] if argv is None else argv)
            write(results, args.out, command, args.repeats)
    except (AnalysisError, DatasetError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for versus in methods_in(results["summary"]):
        print(f"{label(versus)} vs BT:")
        print(markdown_table(results["summary"], results["paired"], versus))
    print(f"wrote {args.out}/ (summary.md, summary.csv, paired.csv, per_subject.csv, clithero.png)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

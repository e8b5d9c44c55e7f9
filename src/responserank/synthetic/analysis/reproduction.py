"""Reproduction report: our collected caches next to the paper's, as Markdown (the report in ``docs/synthetic.md``).

    python -m responserank.synthetic.reproduction results/synthetic [--reference <folder of the paper's caches>]

Reads ``<config>.json`` caches (spec §6 format, written by ``analysis.cli collect``) with
:func:`~responserank.synthetic.analysis.cache.load_caches` and prints

1. accuracy and PDC (mean and SD over trials) per learner at 50 % and 100 % of the data, ours next to the paper's;
2. the data-efficiency crossing: the size at which ResponseRank's mean accuracy (PDC) reaches BT's 100 % mean
   (:func:`responserank.synthetic.analysis.statistics.rr_vs_bt`);
3. the qualitative claims of the paper, each checked against our numbers (``yes`` / ``NO`` with the numbers).

Without ``--reference`` only our numbers are shown.

Statistical mode (many trials; :mod:`responserank.synthetic.analysis.reproduction_stats`)::

    python -m responserank.synthetic.reproduction --statistical <caches folder | summary .json> [more ...]
        [--reference <paper caches folder | summary .json>] [--save-summary <path .json>]
    python -m responserank.synthetic.reproduction --statistical --run 1000 [--runs-dir outputs/reproduction]
        [--configs stochastic ...] [--override learners.bt.num_epochs=100 ...] [--save-summary <path .json>]

reads collected caches (or a summary written by ``--save-summary``; with several sources, each config comes from
the first source that has it), or first runs
``experiment_runner dataset=<config> num_trials=<N> save_datasets=false`` for each config into
``<runs-dir>/<config>`` (an existing folder is resumed) and collects them into ``<runs-dir>/caches``. It prints, per
dataset × learner × size, our mean ± 95 % CI next to the paper's, the difference with its Welch interval and p
value, the crossing points with percentile-bootstrap intervals (``--bootstrap-resamples``, ``--bootstrap-seed``),
and a verdict per qualitative claim. The paper's side defaults to the summary of its 100-trial caches that ships
with the package, so no command needs the caches themselves.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import numpy as np

from responserank.errors import AnalysisError
from responserank.reporting import run_cli, summarize
from responserank.synthetic.analysis import reproduction_stats as stats
from responserank.synthetic.analysis.cache import DatasetResults, load_caches
from responserank.synthetic.analysis.collect import collect
from responserank.synthetic.analysis.names import DATASET_CONFIGS, LEARNERS, SHORT_DATASET, TRIPLETS
from responserank.synthetic.analysis.statistics import rr_vs_bt, size_summaries

METRICS = {"acc": "choice_accuracy", "pdc": "pearson_distance_correlation"}
Caches = dict[str, DatasetResults]

# --------------------------------------------------------------------------------------------------------------
# The quick report: means and SDs of a few caches
# --------------------------------------------------------------------------------------------------------------


def _means(results: DatasetResults, metric: str) -> dict[str, np.ndarray]:
    """learner → mean over trials per size ``[S]`` (``metric``: "acc" or "pdc")."""
    summaries = size_summaries(results, METRICS[metric])
    return {learner: np.array([s.mean for s in per_size]) for learner, per_size in summaries.items()}


def _cell(results: DatasetResults | None, learner: str, metric: str, size: float) -> str:
    """Mean over trials, with the SD in parentheses at 100 %; "–" without results."""
    if results is None:
        return "–"
    summary = summarize(results.metrics[METRICS[metric]][learner][results.size_index(size)])
    return f"{summary.mean:.3f}" + (f" ({summary.sd:.3f})" if size == 1.0 else "")


def accuracy_pdc_table(ours: Caches, paper: Caches) -> str:
    lines = [
        "| dataset | learner | acc 50 % ours | paper | acc 100 % ours | paper | PDC 50 % ours | paper "
        "| PDC 100 % ours | paper |\n|---|---|---|---|---|---|---|---|---|---|"
    ]
    for config, results in ours.items():
        for learner, name in LEARNERS.items():
            cells = [
                _cell(side, learner, metric, size)
                for metric in METRICS
                for size in (0.5, 1.0)
                for side in (results, paper.get(config))
            ]
            lines.append(f"| {SHORT_DATASET[config]} | {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _rr_vs_bt_cells(results: DatasetResults | None, metric: str) -> tuple[str, str]:
    """RR@100 − BT@100 (in pp for accuracy) and the size at which RR reaches BT@100; dashes without results."""
    if results is None:
        return "–", "–"
    rr_bt = rr_vs_bt(results, METRICS[metric])
    gap = f"{100 * rr_bt.difference:+.1f} pp" if metric == "acc" else f"{rr_bt.difference:+.3f}"
    return gap, "never" if rr_bt.crossing is None else f"{rr_bt.crossing:.1f} %"


def crossing_table(ours: Caches, paper: Caches) -> str:
    lines = [
        "| dataset | acc: RR@100 − BT@100 ours | paper | RR reaches BT@100 acc at, ours | paper "
        "| PDC: RR@100 − BT@100 ours | paper | … PDC at, ours | paper |\n|---|---|---|---|---|---|---|---|---|"
    ]
    for config, results in ours.items():
        cells = []
        for metric in METRICS:
            ours_cells, paper_cells = (
                _rr_vs_bt_cells(results, metric),
                _rr_vs_bt_cells(paper.get(config), metric),
            )
            cells += [ours_cells[0], paper_cells[0], ours_cells[1], paper_cells[1]]
        lines.append(f"| {SHORT_DATASET[config]} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _verdict(ok) -> str:
    return "yes" if ok else "**NO**"


def _fmt(values) -> str:
    return " ".join(f"{v:.3f}" for v in values)


def _variability_claims(name: str, results: DatasetResults) -> list[str]:
    """With variability: RR beats BT and every other learner; the controls and RtRegression lie below BT."""
    lines = []
    for metric in METRICS:
        means = _means(results, metric)
        rr, bt = means["rr"], means["bt"]
        best = np.all(rr >= np.max([means[learner] for learner in LEARNERS], axis=0))
        lines.append(
            f"- {name} {metric}: RR > BT at every size: {_verdict(np.all(rr > bt))}; "
            f"RR highest of all six at every size: {_verdict(best)} (RR {_fmt(rr)} vs BT {_fmt(bt)})"
        )
    acc = _means(results, "acc")
    below = {learner: _verdict(np.all(acc[learner] < acc["bt"])) for learner in LEARNERS}
    lines.append(
        f"- {name} accuracy below BT at every size — RR-Pool: {below['rr_pooled']}, RR-Perm: {below['rr_perm']}, "
        f"RtRegression-Perm: {below['rt_regression_perm']}, RtRegression (collapses): {below['rt_regression']}"
    )
    return lines


def _no_variability_claims(name: str, results: DatasetResults) -> list[str]:
    """Without variability: the rank of RtRegression and RR per size (1 = best of the six), RR-Pool vs RR."""
    lines = []
    for metric in METRICS:
        means = _means(results, metric)
        six = np.array([means[learner] for learner in LEARNERS])  # [6, S]
        order = np.argsort(-six, axis=0, kind="stable")  # [rank, S] → learner; ties keep the table order
        ranks = dict(zip(LEARNERS, (np.argsort(order, axis=0) + 1).tolist(), strict=True))  # learner → [S]
        gaps = six.max(axis=0) - means["rt_regression"]
        full = results.size_index(1.0)
        lines.append(
            f"- {name} {metric}: rank of RtRegression per size {ranks['rt_regression']} (gap to the best "
            f"{_fmt(gaps)}); rank of RR {ranks['rr']}; "
            f"RR-Pool − RR at 100 %: {means['rr_pooled'][full] - means['rr'][full]:+.3f}"
        )
    return lines


def claims(ours: Caches) -> list[str]:
    """The paper's qualitative claims (spec §7), each with a verdict and the numbers behind it."""
    lines = []
    for config in (*TRIPLETS["with_variability"], *TRIPLETS["no_variability"]):
        if config in ours:
            claims_of = (
                _no_variability_claims if config in TRIPLETS["no_variability"] else _variability_claims
            )
            lines += claims_of(SHORT_DATASET[config], ours[config])
    gains = {config: rr_vs_bt(results, "choice_accuracy").difference for config, results in ours.items()}
    if gains:
        smallest = min(gains, key=gains.get)
        lines.append(
            "- RR − BT accuracy at 100 % per dataset: "
            + ", ".join(f"{SHORT_DATASET[c]} {100 * g:+.1f} pp" for c, g in gains.items())
            + f"; smallest on {SHORT_DATASET[smallest]}"
        )
    return lines


def report(ours: Caches, paper: Caches) -> str:
    """The quick report of ``ours`` (and ``paper``, if not empty) as Markdown."""
    trials = sorted({results.num_trials for results in ours.values()})
    return "\n".join(
        [
            f"Our caches: {', '.join(ours)} ({'/'.join(map(str, trials))} trials).\n",
            "### Accuracy and PDC at 50 % and 100 % (mean, SD over trials in parentheses)\n",
            accuracy_pdc_table(ours, paper),
            "\n### Data efficiency: RR vs BT at 100 % and where RR reaches BT's 100 % level\n",
            crossing_table(ours, paper),
            "\n### The paper's qualitative claims, checked on our numbers\n",
            *claims(ours),
        ]
    )


# --------------------------------------------------------------------------------------------------------------
# Statistical mode: many trials, summaries, intervals
# --------------------------------------------------------------------------------------------------------------


def run_experiments(
    num_trials: int, runs_dir: Path, configs: list[str], overrides: list[str]
) -> dict[str, Path]:
    """Run ``experiment_runner`` once per config into ``runs_dir/<config>`` (resuming a folder that exists)."""
    experiments = {}
    for config in configs:
        folder = runs_dir / config
        command = [
            sys.executable, "-m", "responserank.synthetic.experiment_runner", f"dataset={config}",
            f"num_trials={num_trials}", "save_datasets=false", *overrides,
            f"resume={folder}" if (folder / "metadata.json").is_file() else f"hydra.run.dir={folder}",
        ]  # fmt: skip
        print(f"running: {' '.join(command[1:])}", file=sys.stderr)
        if subprocess.run(command, check=False).returncode != 0:
            raise AnalysisError(f"experiment_runner failed for dataset={config} (its message is above)")
        experiments[config] = folder
    return experiments


def _summary_of(sources: list[Path], args: argparse.Namespace) -> stats.ReproductionSummary:
    """Summaries of caches folders or summary files; a config comes from the first source that has it."""
    summaries = [
        stats.load_summary(source)
        if source.is_file()
        else stats.summarize_results(
            load_caches(source), args.bootstrap_resamples, args.bootstrap_seed, str(source)
        )
        for source in sources
    ]
    return stats.merge_summaries(summaries)


def _trials_text(summary: stats.ReproductionSummary) -> str:
    trials = summary.cells.groupby("config", sort=False)["n"].max()
    return ", ".join(f"{SHORT_DATASET[config]} {n}" for config, n in trials.items())


def statistical_report(ours: stats.ReproductionSummary, paper: stats.ReproductionSummary, args) -> str:
    comparison = stats.compare(ours, paper)
    parts = [
        f"Ours: {ours.metadata.get('source') or 'summary'} (trials: {_trials_text(ours)}); paper: "
        f"{paper.metadata.get('source') or 'summary'} (trials: {_trials_text(paper)}). Intervals are 95 %: "
        "Student t for means, Welch for differences, percentile bootstrap over trials for crossing points "
        f"({ours.metadata.get('bootstrap_resamples')} resamples, seed {ours.metadata.get('bootstrap_seed')}).",
        stats.agreement_line(comparison),
    ]
    for metric, title in (("choice_accuracy", "Accuracy"), ("pearson_distance_correlation", "PDC")):
        parts.append(f"### {title}: ours vs the paper per dataset × learner × size")
        parts.append(
            stats.comparison_markdown(comparison, metric, args.learners or list(LEARNERS), args.sizes)
        )
    parts.append("### Data efficiency: where RR's mean reaches BT's mean at 100 %")
    parts.append(stats.crossings_markdown(ours, paper))
    parts.append("### The paper's qualitative claims (95 % Welch intervals between learners)")
    parts.append(stats.claims_markdown(ours, paper))
    parts.append(stats.sd_line(ours))
    return "\n\n".join(parts)


def _statistical(args: argparse.Namespace) -> None:
    if args.bootstrap_resamples < 1:
        raise AnalysisError(f"--bootstrap-resamples must be >= 1, got {args.bootstrap_resamples}")
    if args.run is not None:
        if args.run < 2:
            raise AnalysisError(f"--run needs at least 2 trials, got {args.run}")
        experiments = run_experiments(args.run, args.runs_dir, args.configs, args.override)
        collect(args.runs_dir / "caches", experiments)
        args.source = [args.runs_dir / "caches", *args.source]
    if not args.source:
        raise AnalysisError("--statistical needs a caches folder or summary file, or --run N")
    ours = _summary_of(args.source, args)
    paper = _summary_of([args.reference], args) if args.reference else stats.paper_summary()
    if args.save_summary:
        stats.save_summary(ours, args.save_summary)
    print(statistical_report(ours, paper, args))


# --------------------------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m responserank.synthetic.reproduction", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "source",
        type=Path,
        nargs="*",
        help="folder with our <config>.json caches (statistical mode: caches folders or summary files; "
        "each config is taken from the first that has it)",
    )
    parser.add_argument(
        "--reference", type=Path, help="folder with the paper's caches (statistical mode: or a summary)"
    )
    group = parser.add_argument_group("statistical mode")
    group.add_argument("--statistical", action="store_true", help="confidence intervals, tests and verdicts")
    group.add_argument("--run", type=int, default=None, metavar="N", help="first run N trials of each config")
    group.add_argument(
        "--runs-dir", type=Path, default=Path("outputs/reproduction"), help="run folders of --run"
    )
    configs = list(DATASET_CONFIGS)
    group.add_argument("--configs", nargs="+", default=configs, choices=configs, help="configs for --run")
    group.add_argument("--override", action="append", default=[], metavar="KEY=VALUE", help="runner override")
    group.add_argument("--save-summary", type=Path, default=None, help="write our summary (JSON) here")
    group.add_argument("--bootstrap-resamples", type=int, default=stats.BOOTSTRAP_RESAMPLES)
    group.add_argument("--bootstrap-seed", type=int, default=stats.BOOTSTRAP_SEED)
    group.add_argument("--learners", nargs="+", choices=list(LEARNERS), help="learners shown in the tables")
    group.add_argument("--sizes", nargs="+", type=float, help="sizes shown in the tables, e.g. 0.5 1.0")

    def handler(args: argparse.Namespace) -> None:
        if args.statistical:
            _statistical(args)
            return
        if len(args.source) != 1:
            parser.error("give one cache folder (several sources only with --statistical)")
        print(report(load_caches(args.source[0]), load_caches(args.reference) if args.reference else {}))

    parser.set_defaults(handler=handler)
    return parser


def main(argv: list[str] | None = None) -> int:
    return run_cli(build_parser(), argv)

"""Reproduction report: our collected caches next to the paper's, as Markdown (the report in ``docs/synthetic.md``).

    python -m responserank.synthetic.reproduction results/synthetic [--reference <folder of the paper's caches>]

Reads ``<config>.json`` caches (spec §6 format, written by ``analysis.cli collect``) and prints

1. accuracy and PDC (mean and SD over trials) per learner at 50 % and 100 % of the data, ours next to the paper's;
2. the data-efficiency crossing: the size at which ResponseRank's mean accuracy (PDC) reaches BT's 100 % mean
   (:func:`responserank.reporting.crossing_point`);
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
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from responserank.errors import AnalysisError
from responserank.reporting import crossing_point, summarize
from responserank.synthetic.analysis import cache as analysis_cache
from responserank.synthetic.analysis import reproduction_stats as stats
from responserank.synthetic.analysis.collect import collect

WITH_VARIABILITY = ("deterministic_all", "stochastic", "drift_diffusion")
SHORT = {
    "deterministic_all": "Det",
    "stochastic": "Stoch",
    "drift_diffusion": "DDM",
    "deterministic_all_no_variability": "Det-NoVar",
    "stochastic_no_variability": "Stoch-NoVar",
    "drift_diffusion_no_variability": "DDM-NoVar",
}
CONFIGS = tuple(SHORT)
LEARNERS = {
    "bt": "BT",
    "rt_regression": "RtRegression",
    "rt_regression_perm": "RtRegression-Perm",
    "rr": "ResponseRank",
    "rr_pooled": "RR-Pool",
    "rr_perm": "RR-Perm",
}
METRICS = {"acc": "choice_accuracy", "pdc": "pearson_distance_correlation"}


class Cache:
    """One collected cache: ``values(learner, metric)`` → ``{size: array over trials}``."""

    def __init__(self, path: Path):
        try:
            self.data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as error:
            raise AnalysisError(f"{path}: cannot read cache ({error})") from None
        self.path = path

    def values(self, learner: str, metric: str) -> dict[float, np.ndarray]:
        try:
            sizes = self.data[learner]["sizes"]
        except KeyError:
            raise AnalysisError(f"{self.path}: no learner {learner!r}") from None
        return {
            float(size): np.array(
                [entry["value"] for entry in block["summary_metrics"][METRICS[metric]]], dtype=np.float64
            )
            for size, block in sorted(sizes.items(), key=lambda item: float(item[0]))
        }

    def means(self, learner: str, metric: str) -> dict[float, float]:
        return {size: summarize(v).mean for size, v in self.values(learner, metric).items()}

    def num_trials(self) -> int:
        return len(next(iter(self.values("bt", "acc").values())))


def load_caches(folder: Path) -> dict[str, Cache]:
    caches = {
        config: Cache(folder / f"{config}.json") for config in CONFIGS if (folder / f"{config}.json").exists()
    }
    if not caches:
        raise AnalysisError(f"{folder}: no <config>.json caches ({', '.join(CONFIGS)})")
    return caches


def _cell(cache: Cache | None, learner: str, metric: str, size: float, with_sd: bool) -> str:
    if cache is None:
        return "–"
    summary = summarize(cache.values(learner, metric)[size])
    text = f"{summary.mean:.3f}"
    return f"{text} ({summary.sd:.3f})" if with_sd else text


def accuracy_pdc_table(ours: dict[str, Cache], paper: dict[str, Cache]) -> str:
    header = (
        "| dataset | learner | acc 50 % ours | paper | acc 100 % ours | paper | PDC 50 % ours | paper "
        "| PDC 100 % ours | paper |\n|---|---|---|---|---|---|---|---|---|---|"
    )
    rows = []
    for config, cache in ours.items():
        reference = paper.get(config)
        for learner, name in LEARNERS.items():
            cells = []
            for metric in ("acc", "pdc"):
                for size in (0.5, 1.0):
                    with_sd = size == 1.0
                    cells += [
                        _cell(cache, learner, metric, size, with_sd),
                        _cell(reference, learner, metric, size, with_sd),
                    ]
            rows.append(f"| {SHORT[config]} | {name} | " + " | ".join(cells) + " |")
    return header + "\n" + "\n".join(rows)


def crossing(cache: Cache, metric: str) -> tuple[float, float | None]:
    """(RR@100 − BT@100, size in % at which RR's mean reaches BT's 100 % mean or None)."""
    bt, rr = cache.means("bt", metric), cache.means("rr", metric)
    threshold = bt[max(bt)]
    sizes = sorted(rr)
    point = crossing_point([100 * s for s in sizes], [rr[s] for s in sizes], threshold)
    return rr[max(rr)] - threshold, point


def _crossing_text(point: float | None) -> str:
    return "never" if point is None else f"{point:.1f} %"


def crossing_table(ours: dict[str, Cache], paper: dict[str, Cache]) -> str:
    header = (
        "| dataset | acc: RR@100 − BT@100 ours | paper | RR reaches BT@100 acc at, ours | paper "
        "| PDC: RR@100 − BT@100 ours | paper | … PDC at, ours | paper |\n|---|---|---|---|---|---|---|---|---|"
    )
    rows = []
    for config, cache in ours.items():
        cells = []
        for metric in ("acc", "pdc"):
            scale, unit = (100, " pp") if metric == "acc" else (1, "")
            ours_gap, ours_point = crossing(cache, metric)
            if config in paper:
                paper_gap, paper_point = crossing(paper[config], metric)
                paper_cells = [
                    f"{scale * paper_gap:+.{1 if metric == 'acc' else 3}f}{unit}",
                    _crossing_text(paper_point),
                ]
            else:
                paper_cells = ["–", "–"]
            cells += [f"{scale * ours_gap:+.{1 if metric == 'acc' else 3}f}{unit}", paper_cells[0]]
            cells += [_crossing_text(ours_point), paper_cells[1]]
        rows.append(f"| {SHORT[config]} | " + " | ".join(cells) + " |")
    return header + "\n" + "\n".join(rows)


def _fmt(values: dict[float, float]) -> str:
    return " ".join(f"{v:.3f}" for _, v in sorted(values.items()))


def claims(ours: dict[str, Cache]) -> list[str]:
    """The paper's qualitative claims (spec §7), each with a verdict and the numbers behind it."""
    lines = []

    def verdict(ok: bool) -> str:
        return "yes" if ok else "**NO**"

    for config in WITH_VARIABILITY:
        if config not in ours:
            continue
        cache = ours[config]
        for metric in ("acc", "pdc"):
            rr, bt = cache.means("rr", metric), cache.means("bt", metric)
            best = all(rr[s] >= max(cache.means(learner, metric)[s] for learner in LEARNERS) for s in rr)
            lines.append(
                f"- {SHORT[config]} {metric}: RR > BT at every size: {verdict(all(rr[s] > bt[s] for s in rr))}; "
                f"RR highest of all six at every size: {verdict(best)} (RR {_fmt(rr)} vs BT {_fmt(bt)})"
            )
        acc = {learner: cache.means(learner, "acc") for learner in LEARNERS}
        below_bt = {
            learner: all(acc[learner][s] < acc["bt"][s] for s in acc["bt"])
            for learner in ("rr_pooled", "rr_perm", "rt_regression_perm", "rt_regression")
        }
        lines.append(
            f"- {SHORT[config]} accuracy below BT at every size — RR-Pool: {verdict(below_bt['rr_pooled'])}, "
            f"RR-Perm: {verdict(below_bt['rr_perm'])}, RtRegression-Perm: {verdict(below_bt['rt_regression_perm'])}, "
            f"RtRegression (collapses): {verdict(below_bt['rt_regression'])}"
        )
    for config in (
        "deterministic_all_no_variability",
        "stochastic_no_variability",
        "drift_diffusion_no_variability",
    ):
        if config not in ours:
            continue
        cache = ours[config]
        for metric in ("acc", "pdc"):
            means = {learner: cache.means(learner, metric) for learner in LEARNERS}
            sizes = sorted(means["bt"])
            ranks, gaps = [], []
            for s in sizes:
                order = sorted(LEARNERS, key=lambda learner: -means[learner][s])
                ranks.append(order.index("rt_regression") + 1)
                gaps.append(means[order[0]][s] - means["rt_regression"][s])
            best_rr = means["rr"]
            rr_rank = [
                sorted(LEARNERS, key=lambda learner: -means[learner][s]).index("rr") + 1 for s in sizes
            ]
            lines.append(
                f"- {SHORT[config]} {metric}: rank of RtRegression per size {ranks} (gap to the best "
                f"{' '.join(f'{g:.3f}' for g in gaps)}); rank of RR {rr_rank}; "
                f"RR-Pool − RR at 100 %: {means['rr_pooled'][1.0] - best_rr[1.0]:+.3f}"
            )
    gains = {}
    for config in CONFIGS:
        if config in ours:
            gains[config] = crossing(ours[config], "acc")[0]
    if gains:
        smallest = min(gains, key=gains.get)
        lines.append(
            "- RR − BT accuracy at 100 % per dataset: "
            + ", ".join(f"{SHORT[c]} {100 * g:+.1f} pp" for c, g in gains.items())
            + f"; smallest on {SHORT[smallest]}"
        )
    return lines


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
    summaries = []
    for source in sources:
        if source.is_file():
            summaries.append(stats.load_summary(source))
        else:
            caches = analysis_cache.load_caches(source)
            summaries.append(
                stats.summarize_results(caches, args.bootstrap_resamples, args.bootstrap_seed, str(source))
            )
    return stats.merge_summaries(summaries)


def _trials_text(summary: stats.ReproductionSummary) -> str:
    trials = summary.cells.groupby("config", sort=False)["n"].max()
    return ", ".join(f"{stats.SHORT_DATASET[config]} {n}" for config, n in trials.items())


def statistical_report(ours: stats.ReproductionSummary, paper: stats.ReproductionSummary, args) -> str:
    comparison = stats.compare(ours, paper)
    learners = args.learners or list(stats.LEARNERS)
    parts = [
        f"Ours: {ours.metadata.get('source') or 'summary'} (trials: {_trials_text(ours)}); paper: "
        f"{paper.metadata.get('source') or 'summary'} (trials: {_trials_text(paper)}). Intervals are 95 %: "
        "Student t for means, Welch for differences, percentile bootstrap over trials for crossing points "
        f"({ours.metadata.get('bootstrap_resamples')} resamples, seed {ours.metadata.get('bootstrap_seed')}).",
        stats.agreement_line(comparison),
    ]
    for metric, title in (("choice_accuracy", "Accuracy"), ("pearson_distance_correlation", "PDC")):
        parts.append(f"### {title}: ours vs the paper per dataset × learner × size")
        parts.append(stats.comparison_markdown(comparison, metric, learners, args.sizes))
    parts.append("### Data efficiency: where RR's mean reaches BT's mean at 100 %")
    parts.append(stats.crossings_markdown(ours, paper))
    parts.append("### The paper's qualitative claims (95 % Welch intervals between learners)")
    parts.append(stats.claims_markdown(ours, paper))
    parts.append(stats.sd_line(ours))
    return "\n\n".join(parts)


def _statistical(args: argparse.Namespace) -> None:
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


def main(argv: list[str] | None = None) -> int:
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
        "--reference",
        type=Path,
        default=None,
        help="folder with the paper's caches (statistical mode: or a summary)",
    )
    group = parser.add_argument_group("statistical mode")
    group.add_argument("--statistical", action="store_true", help="confidence intervals, tests and verdicts")
    group.add_argument("--run", type=int, default=None, metavar="N", help="first run N trials of each config")
    group.add_argument(
        "--runs-dir", type=Path, default=Path("outputs/reproduction"), help="run folders of --run"
    )
    group.add_argument(
        "--configs", nargs="+", default=list(CONFIGS), choices=CONFIGS, help="configs for --run"
    )
    group.add_argument("--override", action="append", default=[], metavar="KEY=VALUE", help="runner override")
    group.add_argument("--save-summary", type=Path, default=None, help="write our summary (JSON) here")
    group.add_argument("--bootstrap-resamples", type=int, default=stats.BOOTSTRAP_RESAMPLES)
    group.add_argument("--bootstrap-seed", type=int, default=stats.BOOTSTRAP_SEED)
    group.add_argument("--learners", nargs="+", choices=list(LEARNERS), help="learners shown in the tables")
    group.add_argument("--sizes", nargs="+", type=float, help="sizes shown in the tables, e.g. 0.5 1.0")
    args = parser.parse_args(argv)
    try:
        if args.statistical:
            if args.bootstrap_resamples < 1:
                raise AnalysisError(f"--bootstrap-resamples must be >= 1, got {args.bootstrap_resamples}")
            _statistical(args)
            return 0
        if len(args.source) != 1:
            parser.error("give one cache folder (several sources only with --statistical)")
        ours = load_caches(args.source[0])
        paper = load_caches(args.reference) if args.reference else {}
        trials = {c.num_trials() for c in ours.values()}
        print(f"Our caches: {', '.join(ours)} ({'/'.join(map(str, sorted(trials)))} trials).\n")
        print("### Accuracy and PDC at 50 % and 100 % (mean, SD over trials in parentheses)\n")
        print(accuracy_pdc_table(ours, paper))
        print("\n### Data efficiency: RR vs BT at 100 % and where RR reaches BT's 100 % level\n")
        print(crossing_table(ours, paper))
        print("\n### The paper's qualitative claims, checked on our numbers\n")
        print("\n".join(claims(ours)))
    except AnalysisError as error:
        print(f"reproduction: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

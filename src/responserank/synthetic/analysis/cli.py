"""Command line of the synthetic analysis: ``find`` → ``collect`` → ``generate``.

::

    python -m responserank.synthetic.analysis.cli find outputs/experiment_runner results/synthetic
    python -m responserank.synthetic.analysis.cli collect results/synthetic --paths-file results/synthetic/experiment_paths.json
    python -m responserank.synthetic.analysis.cli generate results/synthetic paper/figures
    python -m responserank.synthetic.analysis.cli summary results/synthetic

Problems with the inputs are printed as one ``error: …`` line on stderr with exit status 1.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from responserank.errors import AnalysisError
from responserank.reporting import add_generate_command, analysis_parser, print_written, run_cli


def _find(args: argparse.Namespace) -> None:
    from responserank.synthetic.analysis.find import find_experiments, portable_path, write_paths_file

    experiments = find_experiments(args.experiment_dir)
    destination = write_paths_file(experiments, args.out_dir)
    for config, experiment in experiments.items():
        print(f"{config}: {portable_path(experiment.path)} ({experiment.timestamp:%Y-%m-%d %H:%M:%S})")
    print(f"wrote {destination}")


def _collect(args: argparse.Namespace) -> None:
    from responserank.synthetic.analysis.collect import collect, read_paths_file

    experiments = read_paths_file(args.paths_file)
    for config, folder in experiments.items():
        if not folder.is_dir():
            raise AnalysisError(
                f"{args.paths_file}: experiment folder {folder} of {config!r} does not exist "
                f"(relative paths are resolved against the current folder {Path.cwd()})"
            )
    print_written(collect(args.cache_dir, experiments, add_to_existing=args.add_to_existing))


def _summary(args: argparse.Namespace) -> None:
    from rich.console import Console

    from responserank.synthetic.analysis.cache import load_caches
    from responserank.synthetic.analysis.tables import bt_vs_rr_table

    Console(width=max(Console().width, 120)).print(bt_vs_rr_table(load_caches(args.cache_dir), args.size))


def build_parser() -> argparse.ArgumentParser:
    parser, commands = analysis_parser(
        "python -m responserank.synthetic.analysis.cli",
        "Analysis of the synthetic experiments: find runner outputs, collect them into caches, "
        "generate the paper's figures and tables.",
        ("find", "collect", "generate", "summary"),
    )

    find = commands.add_parser(
        "find",
        help="locate the latest experiment per dataset config",
        description="Walk EXPERIMENT_DIR for runner outputs (folders with metadata.json, skipping ABORTED "
        "ones), keep the latest timestamp per dataset config and write OUT_DIR/experiment_paths.json "
        "= {config: folder}. Folders below the current folder are written as relative paths.",
    )
    find.add_argument("experiment_dir", help="runner output root, e.g. outputs/experiment_runner")
    find.add_argument("out_dir", help="folder for experiment_paths.json, e.g. results/synthetic")
    find.set_defaults(handler=_find)

    collect = commands.add_parser(
        "collect",
        help="gather per-run result files into one cache JSON per config",
        description="For each experiment of the paths file, read trial_*/<learner>_frac_<pct>_results.json "
        "and write CACHE_DIR/<config>.json (accuracy and PDC per learner, size and trial; Kendall tau and "
        "confusion matrix per trial). Every trial must hold the same (learner, size) runs.",
    )
    collect.add_argument("cache_dir", help="folder for the <config>.json caches, e.g. results/synthetic")
    collect.add_argument(
        "--paths-file",
        required=True,
        help="experiment_paths.json written by 'find' (relative paths: relative to the current folder)",
    )
    collect.add_argument(
        "--add-to-existing",
        action="store_true",
        help="add the runs' learners (e.g. a ddm-only run) to the existing caches instead of replacing them",
    )
    collect.set_defaults(handler=_collect)

    add_generate_command(
        commands,
        "responserank.synthetic.analysis.generate",
        help="draw every figure and table from the caches",
        description="Read CACHE_DIR/<config>.json for the with-variability triplet (deterministic_all, "
        "stochastic, drift_diffusion) and the no-variability triplet, and write boxplots, "
        "metric-vs-size curves, Kendall tau histograms, confusion matrices (PDF + PNG), LaTeX tables, "
        "the Wilcoxon significance tables and summary.md to FIGURES_DIR. Configs without a cache are "
        "left out. Nothing is written unless everything succeeds.",
        cache_help="folder with the <config>.json caches, e.g. results/synthetic",
    )

    summary = commands.add_parser(
        "summary",
        help="print BT vs ResponseRank per config at one data size",
        description="Print a table with one row per cached config: accuracy and PDC of BT and RR at the "
        "training fraction --size (mean ± SD over trials, trial count).",
    )
    summary.add_argument("cache_dir", help="folder with the <config>.json caches, e.g. results/synthetic")
    summary.add_argument("--size", type=float, default=1.0, help="training fraction (default 1.0 = 100 %%)")
    summary.set_defaults(handler=_summary)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return run_cli(build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())

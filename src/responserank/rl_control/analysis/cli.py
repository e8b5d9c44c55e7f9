"""Command line of the RL-control analysis: ``collect`` (wandb → CSVs) and ``generate`` (CSVs → figures).

::

    python -m responserank.rl_control.analysis.cli collect results/rl_control_ours --mujoco-project rr-rl-control-mujoco --highway-project rr-rl-control-highway
    python -m responserank.rl_control.analysis.cli generate results/rl_control paper/figures

Problems with the inputs (and wandb being unavailable) are printed as one ``error: …`` line on stderr with exit
status 1. ``generate`` never touches the network.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from responserank import reporting


def _collect(args: argparse.Namespace) -> None:
    from responserank.rl_control.analysis.collect import collect
    from responserank.wandb_api import open_api

    reporting.refuse_published_cache(args.cache_dir, args.force)
    api = open_api(timeout=args.timeout)
    written, notes = collect(
        args.cache_dir, args.mujoco_project, args.highway_project, api, entity=args.entity, force=args.force
    )
    reporting.print_written(written, notes)


def build_parser() -> argparse.ArgumentParser:
    parser, commands = reporting.analysis_parser(
        "python -m responserank.rl_control.analysis.cli",
        "Analysis of the RL-control experiments (BT vs ResponseRank reward models, then PPO): "
        "export runs from wandb into CSVs, generate the paper's figures and tables from them.",
        ("collect", "generate"),
    )

    collect = commands.add_parser(
        "collect",
        help="export PPO and reward-model runs from wandb into the four CSVs",
        description="Query the two wandb projects (needs 'wandb login') and write CACHE_DIR/"
        "{mujoco,highway}_runs.csv and {mujoco,highway}_rew_model_data.csv.",
    )
    collect.add_argument(
        "cache_dir",
        help="output folder for the CSVs, e.g. results/rl_control_ours (results/rl_control holds the paper's cache)",
    )
    collect.add_argument("--mujoco-project", required=True, help="wandb project of the MuJoCo runs")
    collect.add_argument(
        "--highway-project", required=True, help="wandb project of the highway (merge-v0) runs"
    )
    reporting.add_wandb_collect_options(collect, "rl_control")
    collect.set_defaults(handler=_collect)

    reporting.add_generate_command(
        commands,
        "responserank.rl_control.analysis.generate",
        help="draw the figures and tables from the CSVs (offline)",
        description="Read CACHE_DIR/mujoco_runs.csv (required) and the optional highway / reward-model CSVs; "
        "write combined bar and line plots, training curves per environment (PDF + PNG), the max / final "
        "return and reward-model accuracy tables (LaTeX) and summary.md to FIGURES_DIR. Nothing is written "
        "unless everything succeeds.",
        cache_help="folder with the CSVs, e.g. results/rl_control",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return reporting.run_cli(build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())

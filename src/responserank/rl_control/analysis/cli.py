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

from responserank.reporting import add_usetex_argument, refuse_published_cache, run_cli


def _collect(args: argparse.Namespace) -> None:
    from responserank.rl_control.analysis.collect import collect
    from responserank.wandb_api import open_api

    refuse_published_cache(args.cache_dir, args.force)
    api = open_api(timeout=args.timeout)
    written, notes = collect(
        args.cache_dir, args.mujoco_project, args.highway_project, api, entity=args.entity, force=args.force
    )
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    for path in written:
        print(f"wrote {path}")


def _generate(args: argparse.Namespace) -> None:
    from responserank.rl_control.analysis.generate import generate

    written = generate(args.cache_dir, args.figures_dir, usetex=args.usetex)
    print(f"wrote {len(written)} files to {args.figures_dir} (overview: {args.figures_dir}/summary.md)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m responserank.rl_control.analysis.cli",
        description="Analysis of the RL-control experiments (BT vs ResponseRank reward models, then PPO): "
        "export runs from wandb into CSVs, generate the paper's figures and tables from them.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="{collect,generate}")

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
    collect.add_argument("--entity", default=None, help="wandb entity (default: your default entity)")
    collect.add_argument(
        "--force",
        action="store_true",
        help="write even into a folder holding a published cache (a SOURCE.md, like results/"
        + "rl_control"
        + "), replacing its files",
    )
    collect.add_argument("--timeout", type=float, default=30.0, help="seconds per wandb request (default 30)")
    collect.set_defaults(handler=_collect)

    generate = commands.add_parser(
        "generate",
        help="draw the figures and tables from the CSVs (offline)",
        description="Read CACHE_DIR/mujoco_runs.csv (required) and the optional highway / reward-model CSVs; "
        "write combined bar and line plots, training curves per environment (PDF + PNG), the max / final "
        "return and reward-model accuracy tables (LaTeX) and summary.md to FIGURES_DIR. Nothing is written "
        "unless everything succeeds.",
    )
    generate.add_argument("cache_dir", help="folder with the CSVs, e.g. results/rl_control")
    generate.add_argument("figures_dir", help="output folder, e.g. paper/figures")
    add_usetex_argument(generate)
    generate.set_defaults(handler=_generate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return run_cli(build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())

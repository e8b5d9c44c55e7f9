"""Command line of the LLM analysis: ``collect`` (wandb / local runs → cache) and ``generate`` (cache → figures).

::

    python -m responserank.llm.analysis.cli collect results/llm_ours --project-name rr-llm
    python -m responserank.llm.analysis.cli collect results/llm_ours --runs-dir outputs/rr_llm
    python -m responserank.llm.analysis.cli generate results/llm paper/figures

Problems with the inputs (and wandb being unavailable) are printed as one ``error: …`` line on stderr with exit
status 1. ``generate`` never touches the network.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from responserank.errors import AnalysisError
from responserank.reporting import (
    add_generate_command,
    add_wandb_collect_options,
    analysis_parser,
    print_written,
    refuse_published_cache,
    run_cli,
)
from responserank.resources import llm_registry_path

#: Our experiment registry, shipped as package data (``conf/llm/registry.yaml`` in the repository).
DEFAULT_REGISTRY = llm_registry_path()


def _collect(args: argparse.Namespace) -> None:
    from responserank.llm.analysis.collect import collect
    from responserank.llm.analysis.registry import load_registry

    if args.project_name is None and args.runs_dir is None:
        raise AnalysisError("nothing to collect: give --project-name (wandb) and/or --runs-dir (local runs)")
    refuse_published_cache(args.cache_dir, args.force)
    registry_path = Path(args.registry) if args.registry else DEFAULT_REGISTRY
    registry = load_registry(registry_path)
    api = None
    if args.project_name is not None:
        from responserank.wandb_api import open_api

        api = open_api(timeout=args.timeout)
    written, notes = collect(
        args.cache_dir,
        registry,
        project=args.project_name,
        entity=args.entity,
        api=api,
        runs_dir=args.runs_dir,
        seed_filter=args.seed_filter,
        registry_path=registry_path,
        force=args.force,
    )
    print_written(written, notes)


def build_parser() -> argparse.ArgumentParser:
    parser, commands = analysis_parser(
        "python -m responserank.llm.analysis.cli",
        "Analysis of the LLM reward-model experiments: collect runs (wandb or local run records) "
        "into a cache folder, generate the paper's figures and tables from it.",
        ("collect", "generate"),
    )

    collect = commands.add_parser(
        "collect",
        help="gather runs from wandb and/or a local run store into CACHE_DIR",
        description="Write CACHE_DIR/runs.csv, registry.yaml and meta.json from the runs of the registry's "
        "experiments: from wandb (--project-name, needs 'wandb login') and/or from the run_record.json files "
        "below --runs-dir. Local runs match an experiment by egid or, failing that, by preset name.",
    )
    collect.add_argument(
        "cache_dir", help="output folder, e.g. results/llm_ours (results/llm holds the paper's cache)"
    )
    collect.add_argument("--project-name", default=None, help="wandb project, e.g. rr-llm")
    collect.add_argument("--runs-dir", default=None, help="local run store, e.g. outputs/rr_llm")
    collect.add_argument(
        "--registry",
        default=None,
        help="experiment registry YAML (default: the shipped registry, conf/llm/registry.yaml)",
    )
    collect.add_argument(
        "--seed-filter",
        type=int,
        nargs="+",
        default=None,
        metavar="N",
        help="keep only runs with these seeds",
    )
    add_wandb_collect_options(collect, "llm")
    collect.set_defaults(handler=_collect)

    add_generate_command(
        commands,
        "responserank.llm.analysis.generate",
        help="draw the figures and tables from CACHE_DIR (offline)",
        description="Read CACHE_DIR/runs.csv and registry.yaml (finished runs only) and write the data-size "
        "curves, RewardBench v2 per category, ablation / sensitivity bar plots (PDF + PNG), the LaTeX "
        "data-size tables, stats.tex (seed-paired tests) and summary.md to FIGURES_DIR. Nothing is written "
        "unless everything succeeds.",
        cache_help="cache folder, e.g. results/llm or ../shared/reference-results/llm",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return run_cli(build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())

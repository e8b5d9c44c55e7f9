"""``responserank`` command line (also ``python -m responserank``).

Subcommands:

* ``fit`` — learn utilities from a comparison table with BT and ResponseRank, scored on held-out folds
  (see ``responserank fit --help`` and ``docs/fit.md``).
* ``datasets`` — download (once) and check a public dataset, e.g. ``responserank datasets clithero``
  (see :mod:`responserank.datasets`).

Problems with the inputs are printed as one ``error: …`` line on stderr with exit status 1.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from responserank.datasets import DatasetError
from responserank.reporting import AnalysisError


def build_parser() -> argparse.ArgumentParser:
    from responserank.datasets import add_datasets_parser
    from responserank.fitting.cli import add_fit_parser

    parser = argparse.ArgumentParser(
        prog="responserank",
        description="ResponseRank: utilities from pairwise choices plus a preference-strength signal.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="{fit,datasets}")
    add_fit_parser(commands)
    add_datasets_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    args.argv = argv
    try:
        args.handler(args)
    except (AnalysisError, DatasetError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

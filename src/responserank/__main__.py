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

from responserank.reporting import run_cli


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
    return run_cli(build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())

"""The ``responserank fit`` subcommand (argparse); the work is done by :func:`responserank.fitting.fit`."""

from __future__ import annotations

import argparse
import inspect
import shlex
import sys
import warnings

from responserank.fitting.engine import DDM_SCOPES, DEFAULTS, METHODS, TIES

DESCRIPTION = """\
Learn item utilities from a table of pairwise choices (CSV/TSV/Parquet/JSONL, one row per choice) with
Bradley-Terry and ResponseRank (plus RT regression and margin-BT when a strength column allows), score them on
held-out folds, and write DIR/utilities.csv, metrics.csv, paired_comparison.csv, learning_curve.csv,
fold_metrics.csv, report.md and PNG figures. Nothing is written if anything fails.

example:
  responserank fit choices.csv --item-a left --item-b right --choice choice --a-chosen-value 1 \\
      --strength rt --stratum subject --folds 5 --repeats 10 --seed 0 --out results/fit
"""


def add_fit_parser(commands) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        "fit",
        help="learn utilities from a comparison table (BT vs ResponseRank)",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    # one option a line, as a table
    # fmt: off
    parser.add_argument("table", help="comparison table: .csv, .tsv (optionally compressed), .parquet or .jsonl")
    add = parser.add_argument_group("columns").add_argument
    add("--item-a", required=True, metavar="COL", help="column with the id of option a")
    add("--item-b", required=True, metavar="COL", help="column with the id of option b")
    add("--choice", required=True, metavar="COL", help="column saying which option was chosen")
    add("--a-chosen-value", required=True, metavar="V",
        help="value of the choice column meaning 'option a chosen' (exactly one other value = b chosen)")
    add("--strength", metavar="COL", help="preference-strength column, by default a response time (> 0)")
    add("--strength-higher-is-stronger", action="store_true",
        help="the strength column is a score where higher = stronger (default: lower = stronger, like RT)")
    add("--stratum", nargs="+", default=[], metavar="COL",
        help="column(s) whose values delimit comparable strengths, e.g. subject (default: one stratum)")
    add("--group-size", type=int, metavar="K", help="also split each stratum into random groups of K comparisons (seeded)")
    add("--query", metavar="EXPR",
        help='rows to use: comparisons of columns with literals joined by and/or/not, e.g. "YesNo == 0 and rt < 5"')
    add = parser.add_argument_group("feature model (default: one utility parameter per item)").add_argument
    add("--item-features", metavar="TABLE", help="table with one row of numeric features per item")
    add("--item-key", metavar="COL", help="item-id column of the features table")
    add("--feature", nargs="+", metavar="COL", help="feature columns (default: all but the item key)")
    fitting = parser.add_argument_group("fitting and evaluation")
    fitting.add_argument("--methods", nargs="+", choices=METHODS, metavar="M",
                         help=f"subset of {', '.join(METHODS)} (default: all but ddm and ez, where the data allows)")
    for flag, kind, metavar, text in (
        ("--folds", int, "K", "cross-validation folds (default {})"),
        ("--repeats", int, "R", "repetitions of the K-fold split (default {})"),
        ("--train-fractions", float, "F", "shares of each fold's training set for the learning curve (default {})"),
        ("--l2", float, None, "precision of the Gaussian prior on each parameter (default {})"),
        ("--ties", TIES, None, "tied strengths in a stratum (default {})"),
        ("--margin-scale", float, None, "margin of a stratum's strongest comparison in margin_bt (default {})"),
        ("--rt-link-max", float, "T", "max_rt of RT regression's link (default: 95th pct RT)"),
        ("--ddm-boundary", DDM_SCOPES, None, "ddm: one boundary per stratum or one global boundary (default {})"),
        ("--ddm-non-decision-time", DDM_SCOPES, None, "ddm: one non-decision time per stratum or one global (default {})"),
        ("--seed", int, None, "seed of every random draw (default {})"),
    ):
        _add_default_option(fitting, flag, kind, metavar, text)
    fitting.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--out", required=True, metavar="DIR",
                        help="results folder (created, or replaced as a whole if it holds an earlier fit)")
    # fmt: on
    parser.set_defaults(handler=run_fit)
    return parser


def _add_default_option(group, flag: str, kind, metavar: str | None, text: str) -> None:
    """Add ``flag`` with the default of its :data:`~responserank.fitting.engine.DEFAULTS` field, if any, shown
    at ``{}`` in ``text`` (``kind``: a type or a tuple of choices; a tuple default takes one or more values)."""
    default = shown = getattr(DEFAULTS, flag[2:].replace("-", "_"), None)
    options = {"choices": kind} if isinstance(kind, tuple) else {"type": kind, "metavar": metavar}
    if isinstance(default, tuple):
        options["nargs"] = "+"
        default, shown = list(default), " ".join(f"{value:g}" for value in default)
    group.add_argument(flag, default=default, help=text.format(shown), **options)


def run_fit(args: argparse.Namespace) -> None:
    from responserank.fitting.api import fit

    command = "responserank " + shlex.join(sys.argv[1:] if args.argv is None else args.argv)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        parameters = inspect.signature(fit).parameters
        options = {name: value for name, value in vars(args).items() if name in parameters}
        progress = False if args.no_progress else None
        options |= {"feature_columns": args.feature, "progress": progress, "command": command}
        result = fit(**options)
    from responserank.errors import ConvergenceWarning, DataWarning

    for warning in caught:
        if issubclass(warning.category, DataWarning | ConvergenceWarning):
            print(f"warning: {warning.message}", file=sys.stderr)
    metrics = result.metrics
    width = max(len(m) for m in metrics["method"])
    print(f"{'method':<{width}}  held-out accuracy  held-out log-likelihood")
    for row in metrics.itertuples(index=False):
        print(f"{row.method:<{width}}  {row.heldout_accuracy:17.4f}  {row.heldout_log_likelihood:23.4f}")
    paired = result.paired  # empty (no columns) when only BT was fitted
    rr = (
        paired[(paired["method"] == "responserank") & (paired["metric"] == "heldout_accuracy")]
        if len(paired)
        else paired
    )
    if len(rr):
        from responserank.reporting import format_p_value

        row = rr.iloc[0]
        print(
            f"responserank − bt accuracy: {row.mean_difference:+.4f} "
            f"(corrected t-test p = {format_p_value(row.p_value)}, {row.n_splits} splits)"
        )
    print(f"wrote {args.out}/ (report.md, utilities.csv, metrics.csv, figures)")

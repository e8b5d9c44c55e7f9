"""The ``responserank fit`` subcommand (argparse); the work is done by :func:`responserank.fitting.fit`."""

from __future__ import annotations

import argparse
import shlex
import sys
import warnings

from responserank.fitting.engine import DDM_SCOPES, METHODS, TIES

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
    parser.add_argument(
        "table", help="comparison table: .csv, .tsv (optionally compressed), .parquet or .jsonl"
    )
    columns = parser.add_argument_group("columns")
    columns.add_argument("--item-a", required=True, metavar="COL", help="column with the id of option a")
    columns.add_argument("--item-b", required=True, metavar="COL", help="column with the id of option b")
    columns.add_argument(
        "--choice", required=True, metavar="COL", help="column saying which option was chosen"
    )
    columns.add_argument(
        "--a-chosen-value",
        required=True,
        metavar="V",
        help="value of the choice column meaning 'option a chosen' (exactly one other value = b chosen)",
    )
    columns.add_argument(
        "--strength", metavar="COL", help="preference-strength column, by default a response time (> 0)"
    )
    columns.add_argument(
        "--strength-higher-is-stronger",
        action="store_true",
        help="the strength column is a score where higher = stronger (default: lower = stronger, like RT)",
    )
    columns.add_argument(
        "--stratum",
        nargs="+",
        default=[],
        metavar="COL",
        help="column(s) whose values delimit comparable strengths, e.g. subject (default: one stratum)",
    )
    columns.add_argument(
        "--group-size",
        type=int,
        metavar="K",
        help="also split each stratum into random groups of K comparisons (seeded)",
    )
    columns.add_argument(
        "--query",
        metavar="EXPR",
        help='rows to use: comparisons of columns with literals joined by and/or/not, e.g. "YesNo == 0 and rt < 5"',
    )
    features = parser.add_argument_group("feature model (default: one utility parameter per item)")
    features.add_argument(
        "--item-features", metavar="TABLE", help="table with one row of numeric features per item"
    )
    features.add_argument("--item-key", metavar="COL", help="item-id column of the features table")
    features.add_argument(
        "--feature", nargs="+", metavar="COL", help="feature columns (default: all but the item key)"
    )
    fitting = parser.add_argument_group("fitting and evaluation")
    fitting.add_argument(
        "--methods",
        nargs="+",
        choices=METHODS,
        metavar="M",
        help=f"subset of {', '.join(METHODS)} (default: all but ddm and ez, where the data allows)",
    )
    fitting.add_argument(
        "--folds", type=int, default=5, metavar="K", help="cross-validation folds (default 5)"
    )
    fitting.add_argument(
        "--repeats", type=int, default=1, metavar="R", help="repetitions of the K-fold split (default 1)"
    )
    fitting.add_argument(
        "--train-fractions",
        nargs="+",
        type=float,
        default=[0.25, 0.5, 0.75, 1.0],
        metavar="F",
        help="shares of each fold's training set for the learning curve (default 0.25 0.5 0.75 1)",
    )
    fitting.add_argument(
        "--l2",
        type=float,
        default=0.1,
        help="precision of the Gaussian prior on each parameter (default 0.1)",
    )
    fitting.add_argument(
        "--ties", choices=TIES, default="breslow", help="tied strengths in a stratum (default breslow)"
    )
    fitting.add_argument(
        "--margin-scale",
        type=float,
        default=1.0,
        help="margin of a stratum's strongest comparison in margin_bt",
    )
    fitting.add_argument(
        "--rt-link-max", type=float, metavar="T", help="max_rt of RT regression's link (default: 95th pct RT)"
    )
    fitting.add_argument(
        "--ddm-boundary",
        choices=DDM_SCOPES,
        default="stratum",
        help="ddm: one boundary per stratum (default) or one global boundary",
    )
    fitting.add_argument(
        "--ddm-non-decision-time",
        choices=DDM_SCOPES,
        default="stratum",
        help="ddm: one non-decision time per stratum (default) or one global one",
    )
    fitting.add_argument("--seed", type=int, default=0, help="seed of every random draw (default 0)")
    fitting.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument(
        "--out",
        required=True,
        metavar="DIR",
        help="results folder (created, or replaced as a whole if it holds an earlier fit)",
    )
    parser.set_defaults(handler=run_fit)
    return parser


def run_fit(args: argparse.Namespace) -> None:
    from responserank.fitting.api import fit

    command = "responserank " + shlex.join(sys.argv[1:] if args.argv is None else args.argv)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fit(
            args.table,
            item_a=args.item_a,
            item_b=args.item_b,
            choice=args.choice,
            a_chosen_value=args.a_chosen_value,
            strength=args.strength,
            strength_higher_is_stronger=args.strength_higher_is_stronger,
            stratum=args.stratum,
            group_size=args.group_size,
            query=args.query,
            item_features=args.item_features,
            item_key=args.item_key,
            feature_columns=args.feature,
            methods=args.methods,
            folds=args.folds,
            repeats=args.repeats,
            train_fractions=args.train_fractions,
            l2=args.l2,
            ties=args.ties,
            margin_scale=args.margin_scale,
            rt_link_max=args.rt_link_max,
            ddm_boundary=args.ddm_boundary,
            ddm_non_decision_time=args.ddm_non_decision_time,
            seed=args.seed,
            out=args.out,
            progress=False if args.no_progress else None,
            command=command,
        )
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

"""``responserank fit`` end to end: every output file and its columns; bad input → one line, exit 1, no folder."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import REPO_ROOT

from responserank.__main__ import main

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
ARGS = ["--item-a", "left", "--item-b", "right", "--choice", "choice", "--a-chosen-value", "L"]


def run_cli(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    return subprocess.run(
        [sys.executable, "-m", "responserank", "fit", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO_ROOT,
    )


@pytest.fixture(scope="module")
def table_csv(make_table, tmp_path_factory) -> Path:
    frames = []
    for seed in range(3):
        table, _ = make_table(seed, num_items=10, num_comparisons=90)
        frames.append(table.assign(annotator=f"{seed}/" + table["annotator"]))
    path = tmp_path_factory.mktemp("table") / "choices.csv"
    pd.concat(frames, ignore_index=True).to_csv(path, index=False)
    return path


def test_fit_end_to_end_writes_every_file_with_its_columns(table_csv, tmp_path):
    out = tmp_path / "results"
    done = run_cli(
        str(table_csv), *ARGS, "--strength", "rt", "--stratum", "annotator", "--folds", "4", "--seed", "3",
        "--train-fractions", "0.5", "1", "--out", str(out),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "responserank − bt accuracy" in done.stdout and "wrote" in done.stdout
    methods = ["bt", "responserank", "rt_regression", "margin_bt"]

    utilities = pd.read_csv(out / "utilities.csv")
    assert list(utilities.columns[:4]) == ["method", "item", "utility", "utility_sd"]
    assert list(dict.fromkeys(utilities["method"])) == methods
    assert len(utilities) == 4 * 10 and utilities["utility_sd"].gt(0).all()
    np.testing.assert_allclose(utilities.groupby("method")["utility"].mean(), 0.0, atol=1e-9)  # centred

    metrics = pd.read_csv(out / "metrics.csv")
    assert list(metrics.columns[:3]) == ["method", "heldout_accuracy", "heldout_log_likelihood"]
    assert list(metrics["method"]) == methods and metrics["n_splits"].eq(4).all()
    assert metrics["heldout_accuracy"].between(0.5, 1).all() and metrics["heldout_log_likelihood"].lt(0).all()

    paired = pd.read_csv(out / "paired_comparison.csv")
    rr = paired[paired["method"] == "responserank"].set_index("metric")
    assert set(rr.index) == {"heldout_accuracy", "heldout_log_likelihood"}
    for column in ("mean_difference", "ci95_low", "ci95_high", "p_value", "p_wilcoxon"):
        assert column in rr.columns
    assert 0 <= rr.loc["heldout_accuracy", "p_value"] <= 1

    curve = pd.read_csv(out / "learning_curve.csv")
    assert sorted(curve["train_fraction"].unique()) == [0.5, 1.0]
    folds = pd.read_csv(out / "fold_metrics.csv")
    assert len(folds) == 4 * 2 * 4  # methods × fractions × folds

    for name in ("utilities.png", "strength_vs_utility_gap.png", "accuracy_by_training_fraction.png"):
        assert (out / name).read_bytes()[:8] == PNG_SIGNATURE
    report = (out / "report.md").read_text()
    for needle in ("## Held-out scores", "## Paired comparison against BT", "corrected t-test", "utilities.png",
                   "responserank fit", "--stratum annotator"):  # fmt: skip
        assert needle in report
    assert not list(tmp_path.glob(".results.partial-*"))  # no staging folder left behind


def test_console_script_with_parquet_two_stratum_columns_and_groups(table_csv, tmp_path):
    script = shutil.which("responserank", path=str(Path(sys.executable).parent))
    assert script is not None, "pip install --no-deps -e . creates the responserank console script"
    table = pd.read_csv(table_csv)
    table["session"] = np.arange(len(table)) % 2
    path = tmp_path / "choices.parquet"
    table.to_parquet(path)
    out = tmp_path / "out"
    done = subprocess.run(
        [script, "fit", str(path), *ARGS, "--strength", "rt", "--stratum", "annotator", "session",
         "--group-size", "4", "--methods", "responserank", "--folds", "3", "--train-fractions", "1",
         "--out", str(out)],
        capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS="1"),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert list(pd.read_csv(out / "metrics.csv")["method"]) == ["bt", "responserank"]
    assert "after random groups of 4" in (out / "report.md").read_text()


def bad_tables(table: pd.DataFrame) -> dict[str, tuple[pd.DataFrame, list[str], list[str]]]:
    """name → (table, extra CLI args, substrings the one-line error must contain)."""
    unknown = table.copy()
    unknown.loc[7, "choice"] = "?"
    negative = table.copy()
    negative.loc[11, "rt"] = -1.0
    missing = table.copy()
    missing.loc[5, "rt"] = np.nan
    lonely = table.copy()
    lonely.loc[20, "right"] = "new"
    return {
        "missing column": (table, ["--strength", "reaction_time"], ["'reaction_time'", "--strength"]),
        "unknown choice coding": (unknown, ["--strength", "rt"], ["column 'choice'", "row 7", "'?'"]),
        "non-positive rt": (negative, ["--strength", "rt"], ["column 'rt'", "row 11", "positive"]),
        "NaN rt": (missing, ["--strength", "rt"], ["column 'rt'", "row 5", "finite"]),
        "item seen once": (lonely, [], ["column 'right'", "row 20", "'new'", "only one comparison"]),
        "a-chosen value absent": (table, ["--strength", "rt"], ["column 'choice'", "never occurs"]),
    }


BAD_CASES = [
    "missing column", "unknown choice coding", "non-positive rt", "NaN rt", "item seen once", "a-chosen value absent",
]  # fmt: skip


@pytest.mark.parametrize("case", BAD_CASES)
def test_bad_input_prints_one_line_naming_column_and_row_and_writes_nothing(
    table_csv, tmp_path, capsys, case
):
    frame, extra, needles = bad_tables(pd.read_csv(table_csv))[case]
    path = tmp_path / "bad.csv"
    frame.to_csv(path, index=False)
    out = tmp_path / "results"
    args = ARGS if case != "a-chosen value absent" else [*ARGS[:-1], "left"]
    status = main(
        ["fit", str(path), *args, *extra, "--folds", "2", "--train-fractions", "1", "--out", str(out)]
    )
    captured = capsys.readouterr()
    assert status == 1
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), captured.err
    for needle in needles:
        assert needle in lines[0]
    assert not out.exists() and list(tmp_path.iterdir()) == [path]


def test_bad_input_from_a_subprocess_exits_non_zero_without_traceback(table_csv, tmp_path):
    frame = pd.read_csv(table_csv)
    frame.loc[3, "rt"] = 0.0
    path = tmp_path / "bad.csv"
    frame.to_csv(path, index=False)
    done = run_cli(str(path), *ARGS, "--strength", "rt", "--out", str(tmp_path / "results"))
    assert done.returncode == 1
    assert done.stderr.startswith("error: column 'rt'") and "row 3" in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "results").exists()


def test_strata_of_one_comparison_warn_but_fit(table_csv, tmp_path, capsys):
    frame = pd.read_csv(table_csv)
    frame.loc[8, "annotator"] = "solo"
    path = tmp_path / "solo.csv"
    frame.to_csv(path, index=False)
    status = main(
        ["fit", str(path), *ARGS, "--strength", "rt", "--stratum", "annotator", "--methods", "responserank",
         "--folds", "2", "--train-fractions", "1", "--no-progress", "--out", str(tmp_path / "out")]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert status == 0
    assert "warning: column 'annotator'" in err and "row 8" in err
    assert "**warning:**" in (tmp_path / "out" / "report.md").read_text()


def test_bad_options_are_one_line_errors(table_csv, tmp_path, capsys):
    out = tmp_path / "out"
    status = main(["fit", str(table_csv), *ARGS, "--methods", "responserank", "--out", str(out)])
    assert status == 1 and "needs a strength column" in capsys.readouterr().err
    status = main(["fit", str(table_csv), *ARGS, "--folds", "1", "--out", str(out)])
    assert status == 1 and "folds must be an integer >= 2" in capsys.readouterr().err
    assert not out.exists()

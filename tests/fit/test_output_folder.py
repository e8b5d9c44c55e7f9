"""``fit --out``: checked before any work, replaced as a whole, no staging litter; plain values in messages."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from responserank import reporting
from responserank.__main__ import main
from responserank.fitting.report import OUTPUT_FILES

ARGS = ["--item-a", "left", "--item-b", "right", "--choice", "choice", "--a-chosen-value", "L"]
QUICK = ["--folds", "2", "--train-fractions", "1", "--no-progress"]


@pytest.fixture(scope="module")
def tables(make_table, tmp_path_factory) -> tuple[Path, Path]:
    """A comparison table and an item-features table whose first feature carries the true utility."""
    table, utility = make_table(0, num_items=10, num_comparisons=120)
    folder = tmp_path_factory.mktemp("tables")
    table.to_csv(folder / "choices.csv", index=False)
    rng = np.random.default_rng(1)
    features = pd.DataFrame(
        {
            "item": [f"item{i:02d}" for i in range(10)],
            "quality": utility + 0.1 * rng.normal(size=10),
            "noise": rng.normal(size=10),
        }
    )
    features.to_csv(folder / "features.csv", index=False)
    return folder / "choices.csv", folder / "features.csv"


def one_line_error(capsys) -> str:
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    return lines[0]


@pytest.mark.parametrize("case", ["existing file", "under a file", "not writable"])
def test_an_unusable_out_is_one_line_before_any_work(tmp_path, capsys, monkeypatch, case):
    existing = tmp_path / "results.csv"
    existing.write_text("keep me\n")
    out = {"existing file": existing, "under a file": existing / "sub", "not writable": tmp_path / "new"}[
        case
    ]
    if case == "not writable":
        # Tests run as root, for whom chmod 0o555 does not stop writes; the check asks os.access, so a folder
        # without write permission is simulated by denying access to tmp_path.
        real_access = os.access
        monkeypatch.setattr(os, "access", lambda p, m: Path(p) != tmp_path and real_access(p, m))
    # The table does not exist: the output check must come first (it is the message we get).
    status = main(["fit", str(tmp_path / "missing.csv"), *ARGS, "--out", str(out)])
    assert status == 1
    message = one_line_error(capsys)
    assert "--out" in message and str(out) in message
    expected = {
        "existing file": "is not a folder",
        "under a file": "is not a folder",
        "not writable": "writable",
    }
    assert expected[case] in message
    assert existing.read_text() == "keep me\n" and sorted(p.name for p in tmp_path.iterdir()) == [
        "results.csv"
    ]


def test_generate_into_an_existing_file_is_one_line_before_reading_the_cache(tmp_path, capsys):
    from responserank.llm.analysis.cli import main as llm_analysis
    from responserank.rl_control.analysis.cli import main as rl_analysis

    target = tmp_path / "figures"
    target.write_text("not a folder\n")
    for cli in (llm_analysis, rl_analysis):
        assert cli(["generate", str(tmp_path / "no-cache"), str(target)]) == 1
        assert one_line_error(capsys) == f"error: FIGURES_DIR {target} exists and is not a folder"


def test_out_with_an_earlier_run_is_replaced_as_a_whole(tables, tmp_path, capsys):
    choices, features = tables
    out = tmp_path / "res"
    feature_run = ["--item-features", str(features), "--item-key", "item", "--feature", "quality", "noise"]
    assert main(["fit", str(choices), *ARGS, *QUICK, *feature_run, "--out", str(out)]) == 0
    assert (out / "coefficients.csv").is_file()
    first_utilities = (out / "utilities.csv").read_text()

    assert main(["fit", str(choices), *ARGS, *QUICK, "--out", str(out)]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert "coefficients.csv" not in names and set(names) <= set(OUTPUT_FILES)
    assert (out / "utilities.csv").read_text() != first_utilities
    assert "feature" not in (out / "report.md").read_text().split("## Held-out scores")[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["res"]  # no staging or swap folder left
    capsys.readouterr()


def test_out_holding_other_files_is_refused_and_left_alone(tables, tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("mine\n")
    status = main(["fit", str(tables[0]), *ARGS, *QUICK, "--out", str(out)])
    assert status == 1
    message = one_line_error(capsys)
    assert "notes.txt" in message and "new or empty folder" in message
    assert [p.name for p in out.iterdir()] == ["notes.txt"]


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_staging_folders_of_killed_runs_are_removed_on_the_next_run(tables, tmp_path, capsys):
    out = tmp_path / "res"
    stale = tmp_path / f".res.partial-{dead_pid()}-x1y2"
    stale_swap = tmp_path / f".res.old-{dead_pid()}-a1b2"
    live = tmp_path / f".res.partial-{os.getppid()}-live"  # a concurrent, still running process
    for folder in (stale, stale_swap, live):
        folder.mkdir()
        (folder / "utilities.csv").write_text("half written")
    assert main(["fit", str(tables[0]), *ARGS, *QUICK, "--out", str(out)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, "res"])
    capsys.readouterr()


def test_a_killed_fit_leaves_a_partial_folder_that_the_next_fit_removes(tables, tmp_path, capsys):
    """Kill a fit subprocess while it writes its results (paused right inside the staging folder)."""
    out = tmp_path / "res"
    script = (
        "import os, signal, sys\n"
        "import responserank.fitting.report as report\n"
        "original = report.render_report\n"
        "def stop(*args, **kwargs):\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        "report.render_report = stop\n"
        "from responserank.__main__ import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, "fit", str(tables[0]), *ARGS, *QUICK, "--out", str(out)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == -9, done.stderr
    assert [p.name.split("-")[0] for p in tmp_path.iterdir()] == [".res.partial"]
    assert main(["fit", str(tables[0]), *ARGS, *QUICK, "--out", str(out)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["res"]
    capsys.readouterr()


def test_a_failing_write_leaves_nothing(tables, tmp_path, monkeypatch, capsys):
    import responserank.fitting.report as report

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(report, "render_report", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        main(["fit", str(tables[0]), *ARGS, *QUICK, "--out", str(tmp_path / "res")])
    assert list(tmp_path.iterdir()) == []


def test_negative_seed_is_one_line(tables, tmp_path, capsys):
    assert main(["fit", str(tables[0]), *ARGS, "--seed", "-1", "--out", str(tmp_path / "res")]) == 1
    assert one_line_error(capsys) == "error: seed must be an integer >= 0, got -1"
    assert list(tmp_path.iterdir()) == []


def test_messages_show_plain_values_not_numpy_reprs(tmp_path, capsys):
    frame = pd.DataFrame(
        {"left": ["a", "b", "c", "a"] * 3, "right": ["b", "c", "a", "c"] * 3, "choice": [0, 1, 2, 1] * 3}
    )
    path = tmp_path / "ints.csv"
    frame.to_csv(path, index=False)
    columns = ["--item-a", "left", "--item-b", "right", "--choice", "choice"]
    for value in ("0", "7"):
        status = main(["fit", str(path), *columns, "--a-chosen-value", value, "--out", str(tmp_path / "r")])
        assert status == 1
        message = one_line_error(capsys)
        assert "np." not in message, message
    assert "values found: 0, 1, 2" in message


def test_replaced_directory_keeps_the_old_folder_on_failure(tmp_path):
    destination = tmp_path / "out"
    destination.mkdir()
    (destination / "old.csv").write_text("old")
    with pytest.raises(RuntimeError), reporting.replaced_directory(destination) as staging:
        (staging / "new.csv").write_text("new")
        raise RuntimeError("failed")
    assert [p.name for p in tmp_path.iterdir()] == ["out"] and (destination / "old.csv").read_text() == "old"
    with reporting.replaced_directory(destination) as staging:
        (staging / "new.csv").write_text("new")
    assert [p.name for p in destination.iterdir()] == ["new.csv"]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
    mask = os.umask(0)
    os.umask(mask)
    assert destination.stat().st_mode & 0o777 == 0o777 & ~mask


def test_the_current_folder_is_not_a_results_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    for out in (".", ".."):
        assert main(["fit", "missing.csv", *ARGS, "--out", out]) == 1
        assert "is the current folder or one above it" in one_line_error(capsys)
    assert list(tmp_path.iterdir()) == []

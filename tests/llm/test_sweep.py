"""The LLM sweep with a stand-in trainer (tests/llm/fake_train.py, same identity and record store as the trainer):
local and submitit-local backends, skipping finished runs, the table, --dry-run, failures, requeue on time-out."""

from __future__ import annotations

import os
import shlex
import sys
import time
from pathlib import Path

import pytest

from responserank.llm.analysis.run_store import find_run_records, read_run_record
from responserank.llm.sweep import TrainRun, main, run_name_of

FAKE_TRAIN = Path(__file__).with_name("fake_train.py")
GRID = ["experiments=[bt,rr_agree]", "fractions=[0.1]", "seeds=[42]"]


@pytest.fixture
def workdir(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def sweep(capsys, *args: str, fake: bool = True) -> tuple[int, str, str]:
    command = [f"train_command={shlex.quote(shlex.join([sys.executable, str(FAKE_TRAIN)]))}"] if fake else []
    status = main([*command, *args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def records(runs_dir: Path) -> dict[str, str]:
    return {read_run_record(p).run_name: read_run_record(p).run_state for p in find_run_records(runs_dir)}


def expected_names(*grid: tuple[str, float, int]) -> set[str]:
    return {run_name_of([f"experiment={e}", f"experiment.fraction={f}", f"seed={s}"])[0] for e, f, s in grid}


def test_local_backend_runs_the_grid_then_skips_it_as_finished(workdir, capsys):
    status, out, _ = sweep(capsys, *GRID)
    assert status == 0, out
    names = expected_names(("bt", 0.1, 42), ("rr_agree", 0.1, 42))
    assert records(workdir / "outputs" / "rr_llm") == dict.fromkeys(names, "finished")
    for name in names:  # one folder per run identity, the trainer got the grid's overrides
        (attempt,) = (workdir / "outputs" / "rr_llm" / name / "attempts.txt").read_text().splitlines()
        assert "experiment.fraction=0.1" in attempt and "seed=42" in attempt
    assert "2 of 2 run(s) to start" in out and "no run record" in out

    status, out, _ = sweep(capsys, *GRID)
    assert status == 0
    assert "0 of 2 run(s) to start" in out and "nothing to do" in out
    assert out.count("skip") == 2 and out.count("finished (outputs/rr_llm/") == 2
    for name in names:  # not run again
        assert len((workdir / "outputs" / "rr_llm" / name / "attempts.txt").read_text().splitlines()) == 1

    status, out, _ = sweep(capsys, "experiments=[bt,rr_agree]", "fractions=[0.1,1.0]", "seeds=[42]")
    assert status == 0 and "2 of 4 run(s) to start" in out  # only the new fraction runs


def test_slurm_backend_through_submitits_local_executor(workdir, capsys):
    pytest.importorskip("submitit")
    slurm = [
        "backend=slurm",
        "backend.cluster=local",
        "backend.wait=true",
        "backend.time=10",
        "backend.gpus_per_task=0",
    ]
    status, out, err = sweep(capsys, *GRID, *slurm)
    assert status == 0, out + err
    assert "submitted 2 run(s) as job array" in out
    names = expected_names(("bt", 0.1, 42), ("rr_agree", 0.1, 42))
    assert records(workdir / "outputs" / "rr_llm") == dict.fromkeys(names, "finished")
    assert list((workdir / "outputs" / "rr_llm_sweep" / "submitit").glob("*_submitted.pkl"))

    status, out, _ = sweep(capsys, *GRID, *slurm)
    assert status == 0 and "nothing to do" in out and out.count("skip") == 2


def test_dry_run_prints_the_jobs_and_starts_nothing(workdir, capsys):
    status, out, _ = sweep(
        capsys, *GRID, "seeds=[42,43]", "backend=slurm", "backend.partition=gpu", "--dry-run"
    )
    assert status == 0
    commands = [line for line in out.splitlines() if str(FAKE_TRAIN) in line]
    assert len(commands) == 4
    assert any("experiment=rr_agree experiment.fraction=0.1 seed=43" in line for line in commands)
    assert "would submit" in out
    assert not (workdir / "outputs").exists()


def test_a_failed_run_is_reported_and_submitted_again(workdir, capsys, monkeypatch):
    monkeypatch.setenv("FAKE_TRAIN_FAIL", "1")
    status, out, _ = sweep(capsys, "experiments=[bt]", "fractions=[0.1]", "seeds=[42]")
    assert status == 1
    assert "failed: " in out and "exited with status 1" in out
    monkeypatch.delenv("FAKE_TRAIN_FAIL")
    status, out, _ = sweep(capsys, "experiments=[bt]", "fractions=[0.1]", "seeds=[42]", "--dry-run")
    assert "last record failed" in out


def test_a_running_record_is_skipped_unless_asked(workdir, capsys, monkeypatch):
    monkeypatch.setenv("FAKE_TRAIN_FAIL", "1")
    sweep(capsys, "experiments=[bt]", "fractions=[0.1]", "seeds=[42]")
    (path,) = find_run_records(workdir / "outputs" / "rr_llm")
    path.write_text(path.read_text().replace('"failed"', '"running"'))
    _, out, _ = sweep(capsys, "experiments=[bt]", "fractions=[0.1]", "seeds=[42]", "--dry-run")
    assert "record says running" in out and "0 of 1" in out
    _, out, _ = sweep(
        capsys, "experiments=[bt]", "fractions=[0.1]", "seeds=[42]", "resubmit_running=true", "--dry-run"
    )
    assert "last record running" in out and "1 of 1" in out


def test_a_preempted_task_stops_the_trainer_and_is_requeued(tmp_path, monkeypatch):
    """submitit's time-out / pre-emption signal reaches the task (here sent by hand once the trainer runs, through
    submitit's local executor): the task stops its trainer, which records the run as stopped, and requeues itself
    through submitit's checkpointing; the second attempt finishes the run."""
    submitit = pytest.importorskip("submitit")
    from submitit.local.local import LocalJobEnvironment

    monkeypatch.setenv("FAKE_TRAIN_HANG_FIRST", "1")
    overrides = ["experiment=bt", "experiment.fraction=0.1", "seed=42"]
    name, _ = run_name_of(overrides)
    run_dir = tmp_path / "runs" / name
    task = TrainRun(
        [sys.executable, str(FAKE_TRAIN), *overrides, f"hydra.run.dir={run_dir}"], name, "runs", str(tmp_path)
    )
    executor = submitit.LocalExecutor(tmp_path / "submitit")
    executor.update_parameters(timeout_min=10)
    job = executor.submit(task)
    deadline = time.monotonic() + 300
    while not (run_dir / "started").exists() and time.monotonic() < deadline and job.state == "RUNNING":
        time.sleep(0.2)
    assert records(tmp_path / "runs") == {name: "running"}
    os.kill(int((run_dir / "started").read_text()), LocalJobEnvironment._usr_sig())
    assert job.result() == "finished"
    assert len((run_dir / "attempts.txt").read_text().splitlines()) == 2  # stopped once, then finished
    assert records(tmp_path / "runs") == {name: "finished"}
    assert "Calling checkpoint method" in job.stdout()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["experiments=[bt,nope]"], "unknown preset experiment='nope'"),
        ([], "choose the presets with experiments="),
        ([*GRID, "backend=kubernetes"], "unknown backend 'kubernetes'"),
        ([*GRID, "overrides=['seed=1']"], "overrides must not set experiment"),
        ([*GRID, "--", "experiment=bt"], "overrides must not set experiment"),
        ([*GRID, "fractions=[0]"], "fractions must lie in (0, 1]"),
        ([*GRID, "backend=slurm", "backend.time=soon"], "backend.time must be minutes"),
        ([*GRID, "backend=slurm", "backend.gpus=2"], "backend.gpus"),
        ([*GRID, "seeds=[42,42]"], "appears twice"),
        ([*GRID, "--fast"], "unknown option '--fast'"),
    ],
)
def test_bad_input_is_one_line(workdir, capsys, args, expected):
    status, _, err = sweep(capsys, *args)
    assert status == 2
    (line,) = err.strip().splitlines()
    assert line.startswith("sweep: error: ") and expected in line
    assert not (workdir / "outputs").exists()


def test_slurm_without_the_extra_is_one_line_naming_it(workdir, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "submitit", None)
    status, _, err = sweep(capsys, *GRID, "backend=slurm")
    assert status == 2
    (line,) = err.strip().splitlines()
    assert "backend=slurm needs submitit" in line and "pip install 'responserank[cluster]'" in line


def test_an_unreadable_record_is_named_and_ignored(workdir, capsys):
    broken = workdir / "outputs" / "rr_llm" / "x" / "run_record.json"
    broken.parent.mkdir(parents=True)
    broken.write_text("{not json")
    status, out, err = sweep(capsys, *GRID, "--dry-run")
    assert status == 0 and "2 of 2" in out
    assert "ignoring an unreadable run record" in err and "run_record.json" in err


def test_a_train_run_returns_the_record_state_and_raises_on_failure(tmp_path):
    """TrainRun (the callable behind both backends) without submitit."""
    overrides = ["experiment=bt", "experiment.fraction=1.0", "seed=7"]
    name, _ = run_name_of(overrides)
    command = [sys.executable, str(FAKE_TRAIN), *overrides, f"hydra.run.dir={tmp_path / 'runs' / name}"]
    assert TrainRun(command, name, "runs", str(tmp_path))() == "finished"
    with pytest.raises(RuntimeError, match="exited with status 2"):
        TrainRun([sys.executable, "-c", "raise SystemExit(2)"], "other", "runs", str(tmp_path))()


# ----------------------------------------------------------------------------------------------------------------
# The real trainer: two tiny-preset runs (shrunk to seconds of training), then skipped as finished
# ----------------------------------------------------------------------------------------------------------------

SHRINK = [
    "--",
    "experiment.epochs=1",
    "experiment.dataset.fixture.num_comparisons=96",
    "experiment.dataset.fixture.rewardbench_per_subset=0",
    "experiment.dataset.test_size=32",
    "experiment.eval_on_rewardbench_v1=false",
    "experiment.eval_on_rewardbench_v2=false",
    "wandb.enabled=false",
]
TINY = ["experiments=[bt_tiny,rr_agree_tiny]", "fractions=[1.0]", "seeds=[42]"]


def _tiny_sweep_twice(capsys, workdir: Path, *backend: str) -> None:
    status, out, err = sweep(capsys, *TINY, *backend, *SHRINK, fake=False)
    assert status == 0, out + err
    runs = workdir / "outputs" / "rr_llm"
    names = {
        run_name_of([f"experiment={e}", "experiment.fraction=1.0", "seed=42", *SHRINK[1:]])[0]
        for e in ("bt_tiny", "rr_agree_tiny")
    }
    assert records(runs) == dict.fromkeys(names, "finished")
    for name in names:  # the trainer wrote its record into the folder the sweep chose
        record = read_run_record(runs / name / "run_record.json")
        assert record.metrics["eval_accuracy"] is not None

    status, out, _ = sweep(capsys, *TINY, *backend, *SHRINK, fake=False)
    assert status == 0 and "0 of 2 run(s) to start" in out and out.count("skip") == 2


@pytest.mark.slow
def test_tiny_presets_run_here_then_are_skipped_as_finished(workdir, capsys):
    _tiny_sweep_twice(capsys, workdir)


@pytest.mark.slow
def test_tiny_presets_through_submitits_local_executor_then_are_skipped(workdir, capsys):
    pytest.importorskip("submitit")
    _tiny_sweep_twice(
        capsys,
        workdir,
        "backend=slurm",
        "backend.cluster=local",
        "backend.wait=true",
        "backend.gpus_per_task=0",
    )

"""Pool workers die with the runner, never write into a run their parent no longer owns, and Ctrl-C is one line."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
from helpers import REPO_ROOT

from responserank.synthetic.execution import run_and_write_batch
from responserank.synthetic.experiment_runner import ABORTED_MARKER, compose_config
from responserank.synthetic.processes import marker_text, new_owner_token, release_marker

POOL_RUN = [
    "dataset=stochastic",
    "num_trials=40",
    "dataset_sizes=[1.0]",
    "trials_per_batch=1",
    "show_progress=false",
    "execution_backend.num_processes=2",
    *[f"~learners.{name}" for name in ("rt_regression", "rt_regression_perm", "rr", "rr_pooled", "rr_perm")],
    "learners.bt.num_epochs=20",
]


def start_runner(directory: Path) -> subprocess.Popen:
    """The real command line in its own session (so a group signal reaches it and its workers, not pytest)."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "responserank.synthetic.experiment_runner",
            *POOL_RUN,
            f"hydra.run.dir={directory}",
        ],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        # a terminal's foreground command starts with the default Ctrl-C action; a suite started as a background
        # job of a script (`pytest &`) ignores SIGINT, and an ignored SIGINT is inherited across exec
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def spawn_workers(process: subprocess.Popen, count: int, timeout: float = 120) -> list[psutil.Process]:
    """Wait until ``process`` has ``count`` multiprocessing spawn children; returns them."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        workers = [
            child
            for child in psutil.Process(process.pid).children(recursive=True)
            if "multiprocessing.spawn" in " ".join(child.cmdline())
        ]
        if len(workers) >= count:
            return workers
        time.sleep(0.02)
    raise AssertionError(f"runner did not start {count} workers: {process.communicate(timeout=30)}")


def listing(directory: Path) -> list[str]:
    return sorted(str(path.relative_to(directory)) for path in directory.rglob("*"))


def test_sigkill_of_the_runner_ends_its_workers_and_their_writes(tmp_path):
    directory = tmp_path / "run"
    process = start_runner(directory)
    try:
        workers = spawn_workers(process, 2)
        deadline = time.monotonic() + 180
        while not (directory / "trial_1").exists() and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.05)
        assert (directory / "trial_1").exists(), process.communicate(timeout=30)
        process.kill()
        process.wait(timeout=30)
        _, alive = psutil.wait_procs(workers, timeout=5)
        assert alive == [], f"workers outlived their SIGKILLed parent: {alive}"
        before = listing(directory)
        time.sleep(2)
        assert listing(directory) == before
        assert (directory / ABORTED_MARKER).exists()
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)


def test_early_ctrl_c_prints_one_line_and_ends_the_workers(tmp_path):
    directory = tmp_path / "run"
    process = start_runner(directory)
    workers = spawn_workers(process, 2)
    time.sleep(1.0)  # the workers are importing torch: before their initializer could ignore SIGINT
    os.killpg(process.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the whole foreground group
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130
    assert stderr.strip().splitlines() == [
        f"experiment_runner: error: interrupted; finished trials are kept, continue with resume={directory}"
    ]
    _, alive = psutil.wait_procs(workers, timeout=10)
    assert alive == []


def test_a_worker_never_renames_a_trial_into_a_run_it_does_not_own(tmp_path):
    config, _ = compose_config([*POOL_RUN, "num_trials=1"])
    marker = tmp_path / ABORTED_MARKER
    token = new_owner_token()
    marker.write_text(marker_text(token))
    parent = os.getppid()  # the "parent" of this process stands in for the runner

    release_marker(marker)  # the runner was interrupted
    assert run_and_write_batch(config, str(tmp_path), [1], (str(marker), token, parent)) == []
    marker.write_text(marker_text(new_owner_token()))  # a resumed run owns the folder now
    assert run_and_write_batch(config, str(tmp_path), [1], (str(marker), token, parent)) == []
    marker.write_text(marker_text(token))
    assert (
        run_and_write_batch(config, str(tmp_path), [1], (str(marker), token, parent + 1)) == []
    )  # parent gone
    assert sorted(path.name for path in tmp_path.iterdir()) == [ABORTED_MARKER]  # no staging litter either

    assert run_and_write_batch(config, str(tmp_path), [1], (str(marker), token, parent)) == [1]
    assert (tmp_path / "trial_1").is_dir()

"""Execution backends of the synthetic runner: Ray (a local instance started here, 2 CPUs) and SLURM (submitit's
local executor) give the numbers of the local backend; resume works across backends; a missing engine is one line.

Ray's start-up takes seconds, so one instance serves the whole module.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import REPO_ROOT

from responserank.errors import ConfigError
from responserank.synthetic.config import LEARNER_ORDER, parse_time_minutes
from responserank.synthetic.experiment_runner import main

ARGS = [
    "dataset=stochastic",
    "num_trials=2",
    "dataset_sizes=[0.5,1.0]",
    "trials_per_batch=1",
    "show_progress=false",
]


def run(directory: Path, *overrides: str) -> Path:
    main([*ARGS, *overrides, f"hydra.run.dir={directory}"])
    return directory


def results(directory: Path) -> dict[str, dict]:
    return {
        str(path.relative_to(directory)): json.loads(path.read_text())
        for path in sorted(directory.glob("trial_*/*_results.json"))
    }


def interrupt(directory: Path, trial: int) -> None:
    """Make ``directory`` look like a run stopped before trial ``trial`` was written."""
    shutil.rmtree(directory / f"trial_{trial}")
    (directory / "ABORTED").write_text("")


@pytest.fixture(scope="module")
def local_results(tmp_path_factory) -> dict[str, dict]:
    directory = run(tmp_path_factory.mktemp("local") / "run", "execution_backend.num_processes=1")
    found = results(directory)
    assert len(found) == 2 * len(LEARNER_ORDER) * 2  # trials × learners × sizes
    return found


@pytest.fixture(scope="module")
def ray_instance():
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING")
    yield ray
    ray.shutdown()


def test_ray_backend_gives_the_numbers_of_the_local_backend(tmp_path, local_results, ray_instance):
    directory = run(tmp_path / "ray", "execution_backend=ray")
    assert results(directory) == local_results
    assert not (directory / "ABORTED").exists()


def test_ray_by_address_resumes_a_local_run(tmp_path, local_results, ray_instance):
    """A second driver (the real command line) joins the test's instance by address and finishes a local run."""
    directory = run(tmp_path / "mixed", "execution_backend.num_processes=1")
    interrupt(directory, 2)
    address = ray_instance.get_runtime_context().gcs_address
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "responserank.synthetic.experiment_runner",
            *ARGS,
            "execution_backend=ray",
            f"execution_backend.address={address}",
            f"resume={directory}",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr
    assert results(directory) == local_results
    assert not (directory / "ABORTED").exists()


def test_slurm_backend_through_submitits_local_executor(tmp_path, local_results):
    pytest.importorskip("submitit")
    slurm = ["execution_backend=slurm", "execution_backend.cluster=local", "execution_backend.time=10"]
    directory = run(tmp_path / "slurm", *slurm)
    assert results(directory) == local_results
    logs = list((directory / ".submitit").glob("*_log.out"))
    assert len(logs) == 2  # one array task per batch

    interrupt(directory, 1)  # and resume it with the local backend
    run(directory, "execution_backend.num_processes=1", f"resume={directory}")
    assert results(directory) == local_results


@pytest.mark.parametrize(("backend", "module"), [("ray", "ray"), ("slurm", "submitit")])
def test_a_backend_without_its_engine_is_one_line_naming_the_extra(
    tmp_path, capsys, monkeypatch, backend, module
):
    monkeypatch.setitem(sys.modules, module, None)  # import fails as when the extra is not installed
    with pytest.raises(SystemExit) as exit_info:
        run(tmp_path / "run", f"execution_backend={backend}")
    assert exit_info.value.code == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert f"execution_backend={backend} needs {module}" in line
    assert "pip install 'responserank[cluster]'" in line
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("execution_backend=kubernetes", "unknown execution_backend 'kubernetes'"),
        ("execution_backend.time=soon", "execution_backend.time must be minutes"),
        (
            "execution_backend.batches_per_task=0",
            "execution_backend.batches_per_task must be null or an integer >= 1, got 0",
        ),
        ("execution_backend.cluster=pbs", "execution_backend.cluster='pbs' is not valid"),
    ],
)
def test_bad_backend_options_are_one_line(tmp_path, capsys, override, expected):
    overrides = (
        [override] if override.startswith("execution_backend=") else ["execution_backend=slurm", override]
    )
    with pytest.raises(SystemExit):
        run(tmp_path / "run", *overrides)
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert expected in line
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    ("text", "minutes"),
    [(90, 90), ("90", 90), ("4:00:00", 240), ("1-12:00:00", 2160), ("30:00", 30), ("0:00:30", 1)],
)
def test_slurm_time_limits_in_minutes(text, minutes):
    assert parse_time_minutes(text, "time") == minutes


@pytest.mark.parametrize("text", ["", "soon", "1:2:3:4", "-5", "1-", True])
def test_bad_slurm_time_limits(text):
    with pytest.raises(ConfigError, match="time must be minutes"):
        parse_time_minutes(text, "time")


@pytest.mark.parametrize("text", [0, "0", "0:00:00"])
def test_zero_time_limits(text):
    with pytest.raises(ConfigError, match="time"):
        parse_time_minutes(text, "time")


def test_a_requeued_slurm_task_skips_the_trials_it_already_wrote(tmp_path, local_results):
    """What submitit reruns after a time-out or pre-emption: the task's ``checkpoint`` resubmission."""
    pytest.importorskip("submitit")
    from responserank.synthetic.execution import SlurmChunkTask
    from responserank.synthetic.experiment_runner import compose_config

    directory = run(tmp_path / "run", "execution_backend.num_processes=1")
    interrupt(directory, 2)  # the task was stopped after writing trial 1
    first = (directory / "trial_1").stat().st_ino
    config, _ = compose_config([*ARGS, "execution_backend=slurm"])
    resubmitted = SlurmChunkTask(config, str(directory), [[1], [2]]).checkpoint()
    assert resubmitted.function.chunk == [[1], [2]]
    assert resubmitted.result() == [1, 2]
    assert (directory / "trial_1").stat().st_ino == first  # not rewritten
    assert results(directory) == local_results

"""``python -m responserank.llm.sweep`` — run a grid of LLM trainer runs here or as one SLURM job array::

    python -m responserank.llm.sweep experiments=[bt,rr_agree] fractions=[0.1,1.0] seeds=[42,43] \\
        [runs_dir=outputs/rr_llm] [backend=slurm backend.partition=gpu backend.gpus_per_task=1 backend.time=4:00:00] \\
        [--dry-run] [-- <trainer overrides for every run, e.g. experiment.batch_size=8>]

Every experiment × fraction × seed is one run of ``python -m responserank.llm.train experiment=<e>
experiment.fraction=<f> seed=<s> <overrides> runs_dir=<runs_dir> hydra.run.dir=<runs_dir>/<run name>``, where
``<overrides>`` are the arguments after ``--`` (or ``overrides=['key=value',...]``, quoted for Hydra). Before anything is started,
each run's identity (spec ``llm.md`` §11: the run name ``<egid>-<fraction>-<seed>`` from the resolved config,
:mod:`responserank.llm.identity`) is computed and the run records below ``runs_dir``
(:mod:`responserank.llm.analysis.run_store`) are read: a run whose record says ``finished`` is skipped. A table
shows every run, whether it is submitted or skipped, and why.

* ``backend=local`` (default): the runs one after another on this machine; a failed run does not stop the
  others; exit status 1 if any failed.
* ``backend=slurm``: one submitit job array, one task per run (``backend.cluster=local`` runs the same array
  through submitit's local executor, which is how it is tested). A task that reaches its time limit or is
  pre-empted gets submitit's signal: it stops the trainer with SIGTERM (the trainer records the run as stopped)
  and requeues itself through submitit's checkpointing (:meth:`TrainRun.checkpoint`). With
  ``backend.wait=true`` the command waits for the array and prints the final state of every run.
* ``--dry-run`` prints the table and the commands, and starts nothing.

Errors (unknown preset, a bad option, the ``cluster`` extra missing for ``backend=slurm``) are one line on stderr,
exit status 2, before anything runs.
"""

from __future__ import annotations

import itertools
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from responserank.cluster import (
    SUBMITIT_CLUSTERS,
    last_error_line,
    missing_engine_message,
    parse_time_minutes,
)
from responserank.errors import PipelineError, SweepError
from responserank.llm.config import compose_config, to_container, validate_config
from responserank.llm.identity import run_identity
from responserank.resources import conf_dir

PROGRAM = "sweep"
CONF_DIR: Path = conf_dir("llm_sweep")
BACKENDS = ("local", "slurm")
#: Seconds a trainer gets to write its "stopped" record after SIGTERM before it is killed (time-out / pre-emption).
STOP_GRACE_SECONDS = 60.0


# --------------------------------------------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SweepBackend:
    """``conf/llm_sweep/backend/{local,slurm}.yaml``."""

    name: str = "local"
    cluster: str = "slurm"
    folder: str = "outputs/rr_llm_sweep/submitit"
    partition: str | None = None
    time: str | int = "4:00:00"
    gpus_per_task: int = 1
    cpus_per_task: int = 8
    mem_gb: float | None = None
    account: str | None = None
    qos: str | None = None
    array_parallelism: int = 64
    setup: tuple[str, ...] = ()
    wait: bool = False

    @property
    def timeout_min(self) -> int:
        return parse_time_minutes(self.time, "backend.time")


@dataclass(frozen=True)
class SweepConfig:
    """The sweep (``conf/llm_sweep/config.yaml`` after overrides)."""

    experiments: tuple[str, ...]
    fractions: tuple[float, ...] = (1.0,)
    seeds: tuple[int, ...] = (42,)
    overrides: tuple[str, ...] = ()
    runs_dir: str = "outputs/rr_llm"
    resubmit_running: bool = False
    train_command: tuple[str, ...] | None = None
    backend: SweepBackend = field(default_factory=SweepBackend)

    @classmethod
    def from_mapping(cls, values: dict[str, Any]) -> SweepConfig:
        values = dict(values)
        backend = dict(values.pop("backend") or {})
        known = {f for f in SweepBackend.__dataclass_fields__}
        unknown = sorted(set(backend) - known)
        if unknown:
            raise SweepError(
                f"unknown option(s) {', '.join('backend.' + k for k in unknown)} for backend={backend.get('name')}"
            )
        backend["setup"] = tuple(backend.get("setup") or ())
        known = set(cls.__dataclass_fields__) - {"backend"}
        unknown = sorted(set(values) - known)
        if unknown:
            raise SweepError(f"unknown option(s) {', '.join(unknown)}; valid: {', '.join(sorted(known))}")
        for key in ("experiments", "fractions", "seeds", "overrides"):
            value = values.get(key)
            if isinstance(value, str | int | float) and not isinstance(value, bool):
                value = [value]  # experiments=bt means [bt]
            if not isinstance(value, list | tuple):
                raise SweepError(f"{key} must be a list, got {value!r}")
            values[key] = tuple(value)
        if values.get("train_command") is not None:
            command = values["train_command"]
            command = shlex.split(command) if isinstance(command, str) else list(command)
            values["train_command"] = tuple(str(part) for part in command)
        config = cls(**values, backend=SweepBackend(**backend))
        config.validate()
        return config

    def validate(self) -> None:
        if not self.experiments:
            raise SweepError("experiments must name at least one preset, e.g. experiments=[bt,rr_agree]")
        for fraction in self.fractions:
            if isinstance(fraction, bool) or not isinstance(fraction, int | float) or not 0 < fraction <= 1:
                raise SweepError(f"fractions must lie in (0, 1], got {fraction!r}")
        for seed in self.seeds:
            if isinstance(seed, bool) or not isinstance(seed, int):
                raise SweepError(f"seeds must be integers, got {seed!r}")
        if not self.fractions or not self.seeds:
            raise SweepError("fractions and seeds must not be empty")
        if any(
            o.split("=", 1)[0].lstrip("+~") in ("experiment", "seed", "experiment.fraction")
            for o in self.overrides
        ):
            raise SweepError(
                "overrides must not set experiment, experiment.fraction or seed; use experiments=, fractions=, seeds="
            )
        backend = self.backend
        if backend.name not in BACKENDS:
            raise SweepError(f"unknown backend {backend.name!r}; valid backends: {', '.join(BACKENDS)}")
        if backend.cluster not in SUBMITIT_CLUSTERS:
            raise SweepError(
                f"backend.cluster={backend.cluster!r} is not valid; expected one of {', '.join(SUBMITIT_CLUSTERS)}"
            )
        for key in ("gpus_per_task", "cpus_per_task", "array_parallelism"):
            value = getattr(backend, key)
            if (
                isinstance(value, bool)
                or not isinstance(value, int)
                or value < (0 if key == "gpus_per_task" else 1)
            ):
                raise SweepError(
                    f"backend.{key} must be a {'non-negative' if key == 'gpus_per_task' else 'positive'} integer, got {value!r}"
                )
        try:
            backend.timeout_min  # noqa: B018 - validates ``time``
        except ValueError as error:
            raise SweepError(str(error)) from None

    def command(self) -> list[str]:
        """The trainer command before the overrides."""
        if self.train_command is not None:
            return list(self.train_command)
        if self.backend.name == "slurm" and self.backend.gpus_per_task > 1:
            launch = [sys.executable, "-m", "accelerate.commands.launch"]
            return [
                *launch,
                "--num_processes",
                str(self.backend.gpus_per_task),
                "-m",
                "responserank.llm.train",
            ]
        return [sys.executable, "-m", "responserank.llm.train"]


def compose_sweep(overrides: Sequence[str]) -> SweepConfig:
    """Compose ``conf/llm_sweep/config.yaml`` with the command-line overrides (raises :class:`SweepError`)."""
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    backends = sorted(p.stem for p in (CONF_DIR / "backend").glob("*.yaml"))
    for override in overrides:
        key, _, value = override.partition("=")
        if key.lstrip("+~") == "backend" and value not in backends:
            raise SweepError(f"unknown backend {value!r}; valid backends: {', '.join(backends)}")
    try:
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3", job_name="rr_llm_sweep"):
            cfg = compose(config_name="config", overrides=list(overrides))
        values = OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True)
    except Exception as error:
        text = " ".join(str(error).split("\n\n")[0].split())
        if "experiments" in text and "Missing" in text:
            text = "choose the presets with experiments=[<preset>,...], e.g. experiments=[bt,rr_agree]"
        raise SweepError(text) from None
    return SweepConfig.from_mapping(values)


# --------------------------------------------------------------------------------------------------------------
# Planning: identities and the run records
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedRun:
    """One trainer run of the sweep and what the sweep does with it (``submit`` or ``skip``, and why)."""

    experiment: str
    fraction: float
    seed: int
    run_name: str
    overrides: tuple[str, ...]
    action: str
    reason: str


def _record_states(runs_dir: Path) -> tuple[dict[str, tuple[str, Path]], list[str]]:
    """Newest record state per run name below ``runs_dir`` (a finished record wins), and unreadable records."""
    from responserank.errors import AnalysisError
    from responserank.llm.analysis.run_store import find_run_records, read_run_record

    if not runs_dir.is_dir():
        return {}, []
    states: dict[str, tuple[str, Path]] = {}
    problems = []
    records = sorted(find_run_records(runs_dir), key=lambda path: path.stat().st_mtime)
    for path in records:
        try:
            record = read_run_record(path)
        except AnalysisError as error:
            problems.append(str(error))
            continue
        if record.is_dry_run:
            continue
        if states.get(record.run_name, ("",))[0] != "finished":
            states[record.run_name] = (record.run_state, path)
    return states, problems


def run_name_of(train_overrides: Sequence[str]) -> tuple[str, bool]:
    """The run name the trainer gives a run with these overrides (``hydra.*`` overrides do not change it), and
    whether the trainer's config has a ``runs_dir`` option."""
    config = to_container(compose_config([o for o in train_overrides if not o.startswith("hydra.")]))
    validate_config(config)
    return run_identity(config).run_name, "runs_dir" in config


def _hydra_value(path: Path) -> str:
    """``path`` as a Hydra override value (quoted when it holds characters the override grammar reserves)."""
    text = str(path)
    return text if re.fullmatch(r"[\w./+-]+", text) else "'" + text.replace("'", "\\'") + "'"


def plan(config: SweepConfig) -> tuple[list[PlannedRun], list[str]]:
    """Every run of the grid with its action; plus one line per unreadable run record (those are ignored)."""
    runs_dir = Path(config.runs_dir)
    states, problems = _record_states(runs_dir)
    planned: list[PlannedRun] = []
    seen: set[str] = set()
    for experiment, fraction, seed in itertools.product(config.experiments, config.fractions, config.seeds):
        overrides = [
            f"experiment={experiment}",
            f"experiment.fraction={fraction}",
            f"seed={seed}",
            *config.overrides,
        ]
        try:
            name, takes_runs_dir = run_name_of(overrides)
        except PipelineError as error:
            raise SweepError(
                f"run experiment={experiment} fraction={fraction} seed={seed}: {error}"
            ) from None
        if name in seen:
            raise SweepError(f"run {name} appears twice in the sweep (repeated experiment, fraction or seed)")
        seen.add(name)
        if takes_runs_dir:  # the trainer looks for records of the same run there too
            overrides.append(f"runs_dir={_hydra_value(runs_dir)}")
        overrides.append(f"hydra.run.dir={_hydra_value(runs_dir / name)}")
        state, path = states.get(name, (None, None))
        if state == "finished":
            action, reason = "skip", f"finished ({path})"
        elif state == "running" and not config.resubmit_running:
            action, reason = "skip", f"record says running ({path}); resubmit_running=true starts it again"
        elif state is not None:
            action, reason = "submit", f"last record {state} ({path})"
        else:
            action, reason = "submit", "no run record"
        planned.append(PlannedRun(experiment, float(fraction), seed, name, tuple(overrides), action, reason))
    return planned, problems


# --------------------------------------------------------------------------------------------------------------
# Running: one trainer run (the same callable here and as a submitit task)
# --------------------------------------------------------------------------------------------------------------


class TrainRun:
    """Run one trainer command to the end; submitit requeues it through :meth:`checkpoint`.

    Returns the run's final record state (``finished`` when the run record says so); raises ``RuntimeError``
    when the trainer exits with a non-zero status.
    """

    def __init__(self, command: Sequence[str], run_name: str, runs_dir: str, cwd: str) -> None:
        self.command = list(command)
        self.run_name = run_name
        self.runs_dir = runs_dir
        self.cwd = cwd
        self._process: subprocess.Popen | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_process": None}

    def state(self) -> str | None:
        states, _ = _record_states(Path(self.cwd) / self.runs_dir)
        return states.get(self.run_name, (None,))[0]

    def __call__(self) -> str:
        if self.state() == "finished":  # finished by an earlier attempt (e.g. before a requeue)
            return "finished"
        # The sweep checked the records; a requeued attempt must rerun its own stopped or killed run.
        env = {**os.environ, "SKIP_EXISTING_RUN_CHECK": "true"}
        self._process = subprocess.Popen(self.command, cwd=self.cwd, env=env)
        # Poll instead of wait(): submitit's time-out signal runs checkpoint() -> stop() in this thread, and a
        # wait() interrupted here would hold the Popen lock that stop() needs.
        while (status := self._process.poll()) is None:
            time.sleep(0.2)
        self._process = None
        if status != 0:
            raise RuntimeError(
                f"{self.run_name}: the trainer exited with status {status} ({shlex.join(self.command)})"
            )
        return self.state() or "no record"

    def stop(self) -> None:
        """SIGTERM the trainer (it records the run as stopped) and wait for it; kill it after the grace time."""
        process = self._process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        while process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        if process.poll() is None:
            process.kill()

    def checkpoint(self, *args: Any, **kwargs: Any):
        """submitit's hook on time-out / pre-emption: stop the trainer, requeue the same run."""
        from submitit.helpers import DelayedSubmission

        self.stop()
        return DelayedSubmission(TrainRun(self.command, self.run_name, self.runs_dir, self.cwd))


# --------------------------------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------------------------------


def _console():
    from rich.console import Console

    return Console(width=None if sys.stdout.isatty() else 240, highlight=False)


def print_plan(planned: Sequence[PlannedRun], title: str) -> None:
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for column in ("#", "experiment", "fraction", "seed", "run", "action", "why"):
        table.add_column(column, no_wrap=column != "why")
    for index, run in enumerate(planned, 1):
        table.add_row(
            str(index),
            run.experiment,
            f"{run.fraction:g}",
            str(run.seed),
            run.run_name,
            run.action,
            run.reason,
        )
    _console().print(table)


def print_outcomes(outcomes: Sequence[tuple[PlannedRun, str, str]], title: str) -> None:
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for column in ("run", "job", "state"):
        table.add_column(column, no_wrap=column != "state")
    for run, job, state in outcomes:
        table.add_row(run.run_name, job, state)
    _console().print(table)


# --------------------------------------------------------------------------------------------------------------
# Backends
# --------------------------------------------------------------------------------------------------------------


def _task(config: SweepConfig, run: PlannedRun, cwd: Path) -> TrainRun:
    return TrainRun([*config.command(), *run.overrides], run.run_name, config.runs_dir, str(cwd))


def run_local(config: SweepConfig, todo: Sequence[PlannedRun], cwd: Path) -> int:
    """One run after another here; returns the number of runs that did not finish."""
    outcomes = []
    for index, run in enumerate(todo, 1):
        print(f"[{index}/{len(todo)}] {run.run_name}", flush=True)
        try:
            state = _task(config, run, cwd)()
        except RuntimeError as error:
            state = f"failed: {error}"
        outcomes.append((run, "local", state))
    print_outcomes(outcomes, "Runs")
    return sum(state != "finished" for _, _, state in outcomes)


def submit_slurm(config: SweepConfig, todo: Sequence[PlannedRun], cwd: Path) -> int:
    """Submit ``todo`` as one job array; with ``backend.wait`` wait and return the number of unfinished runs."""
    from responserank.cluster import submitit_executor

    backend = config.backend
    folder = Path(backend.folder)
    executor = submitit_executor(
        folder if folder.is_absolute() else cwd / folder,
        backend,
        job_name="rr-llm-sweep",
        gpus_per_node=backend.gpus_per_task or None,
    )
    jobs = executor.submit_array([_task(config, run, cwd) for run in todo])
    array_id = jobs[0].job_id.split("_")[0]
    print(f"submitted {len(jobs)} run(s) as job array {array_id}; logs in {jobs[0].paths.folder}", flush=True)
    if not backend.wait:
        return 0
    outcomes = []
    for run, job in zip(todo, jobs, strict=True):
        try:
            state = job.result()
        except (
            Exception
        ) as error:  # submitit's FailedJobError / UncompletedJobError carry the task's traceback
            state = f"failed: {last_error_line(error)} (log: {job.paths.stderr})"
        outcomes.append((run, job.job_id, state))
    print_outcomes(outcomes, "Runs")
    return sum(state != "finished" for _, _, state in outcomes)


# --------------------------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if any(a in ("-h", "--help") for a in args):
        print(__doc__.strip())
        return 0
    train_overrides = args[args.index("--") + 1 :] if "--" in args else []
    args = args[: args.index("--")] if "--" in args else args
    dry_run = "--dry-run" in args
    overrides = [a for a in args if a != "--dry-run"]
    try:
        flags = [a for a in overrides if a.startswith("-")]
        if flags:
            raise SweepError(
                f"unknown option {flags[0]!r}; pass key=value overrides, --dry-run, --help, or -- <trainer overrides>"
            )
        config = compose_sweep(overrides)
        if train_overrides:
            config = replace(config, overrides=(*config.overrides, *train_overrides))
            config.validate()
        if config.backend.name == "slurm" and not dry_run:
            message = missing_engine_message("backend=slurm", "submitit")
            if message:
                raise SweepError(message)
        planned, problems = plan(config)
    except SweepError as error:
        print(f"{PROGRAM}: error: {' '.join(str(error).split())}", file=sys.stderr)
        return 2
    for problem in problems:
        print(f"{PROGRAM}: warning: ignoring an unreadable run record: {problem}", file=sys.stderr)
    todo = [run for run in planned if run.action == "submit"]
    verb = "would submit" if dry_run else ("submits" if config.backend.name == "slurm" else "runs")
    print_plan(
        planned, f"Sweep: {len(todo)} of {len(planned)} run(s) to start ({config.backend.name}; {verb})"
    )
    if dry_run:
        for run in todo:
            print(shlex.join([*config.command(), *run.overrides]))
        return 0
    if not todo:
        print("nothing to do: every run is finished")
        return 0
    cwd = Path.cwd()
    started = time.perf_counter()
    try:
        if config.backend.name == "local":
            unfinished = run_local(config, todo, cwd)
        else:
            unfinished = submit_slurm(config, todo, cwd)
    except KeyboardInterrupt:
        print(f"{PROGRAM}: interrupted; finished runs are kept, the same command continues", file=sys.stderr)
        return 130
    if config.backend.name == "local" or config.backend.wait:
        print(
            f"{len(todo) - unfinished} of {len(todo)} run(s) finished in {time.perf_counter() - started:.0f} s"
        )
    return 1 if unfinished else 0


if __name__ == "__main__":
    sys.exit(main())

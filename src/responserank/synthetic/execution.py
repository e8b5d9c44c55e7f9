"""Where the trial batches of a synthetic run execute: a local process pool, Ray tasks, or a SLURM job array.

Every backend runs the same fixed batches (:func:`responserank.synthetic.trials.trial_batches`) with one torch
thread per batch, so the numbers depend only on the config and the seed, never on the backend (tested). A batch
is the unit of work; ``batches_per_task`` batches form one Ray task or one array task (a *chunk*).

* ``local``: :func:`run_local`, a ``spawn`` process pool of one-thread workers (inline for one process); each
  worker writes its trial folders atomically.
* ``ray``: :func:`run_ray`, one Ray task (one CPU) per chunk returning its :class:`TrialOutput` s; the driver
  writes them into the run folder as they arrive, so the workers need no access to it.
* ``slurm``: :func:`run_slurm`, one submitit job array, one :class:`SlurmChunkTask` per chunk; each task writes
  its trial folders into the run folder itself (a filesystem shared with the nodes) and runs its batches in a
  pool of ``cpus_per_task`` one-thread workers. A task that times out or is pre-empted is requeued through
  submitit's checkpointing and skips the trials already written. The driver waits, showing trials done.

The engines (``ray``, ``submitit``) are imported only when their backend is chosen (the extra ``cluster``).
"""

from __future__ import annotations

import concurrent.futures as futures
import contextlib
import functools
import multiprocessing
import os
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import torch

from responserank.cluster import last_error_line, submitit_executor
from responserank.errors import BackendError
from responserank.synthetic.config import ExperimentConfig
from responserank.synthetic.processes import die_with_parent, release_marker, run_is_owned, sigint_ignored
from responserank.synthetic.trials import TrialOutput, is_trial_complete, run_batch, write_trial


def chunks(batches: Sequence[list[int]], batches_per_task: int) -> list[list[list[int]]]:
    """Consecutive groups of ``batches_per_task`` batches: the unit of a Ray task or an array task."""
    return [list(batches[i : i + batches_per_task]) for i in range(0, len(batches), batches_per_task)]


def _describe(chunk: Sequence[Sequence[int]]) -> str:
    trials = [t for batch in chunk for t in batch]
    return f"trials {trials[0]}-{trials[-1]}" if len(trials) > 1 else f"trial {trials[0]}"


@contextlib.contextmanager
def single_thread() -> Iterator[None]:
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def write_new_trials(
    directory: Path,
    outputs: Sequence[TrialOutput],
    config: ExperimentConfig,
    may_commit: Callable[[], bool] | None = None,
) -> list[int]:
    """Write the trials of ``outputs`` not yet complete in ``directory``; returns the trials written.

    ``may_commit`` (see :func:`~responserank.synthetic.trials.write_trial`) stops the writing as soon as it
    answers False (the run was aborted or the parent died)."""
    written = []
    for output in outputs:
        if not is_trial_complete(directory, output.trial, config):
            if write_trial(directory, output, config, may_commit) is None:
                break
            written.append(output.trial)
    return written


# --------------------------------------------------------------------------------------------------------------
# local: a process pool on this machine
# --------------------------------------------------------------------------------------------------------------


def _worker_init(parent_pid: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides what happens on Ctrl-C
    die_with_parent(parent_pid)
    torch.set_num_threads(1)


#: (``ABORTED`` marker path, owner token, parent pid) of a pool worker's run.
Owner = tuple[str, str, int]


def run_and_write_batch(
    config: ExperimentConfig, directory: str, trials: Sequence[int], owner: Owner | None = None
) -> list[int]:
    """Worker task: train trials ``trials`` together and write their folders; returns the trials written.

    ``owner`` = (marker, owner token, parent pid) for a pool worker: a trial folder is renamed into place only
    while the parent is alive and the run's ``ABORTED`` marker still carries the token (never into an aborted
    run).
    """
    may_commit = None
    if owner is not None:
        marker, token, parent_pid = owner
        may_commit = functools.partial(run_is_owned, Path(marker), token, parent_pid)
    return write_new_trials(Path(directory), run_batch(config, trials), config, may_commit)


def _terminate_workers(executor: futures.ProcessPoolExecutor) -> None:
    """End the pool's workers now (the in-flight batches are abandoned; resume recomputes them)."""
    processes = dict(getattr(executor, "_processes", None) or {})  # no public API before Python 3.14
    for process in processes.values():
        with contextlib.suppress(Exception):
            process.terminate()


def run_local(
    config: ExperimentConfig,
    directory: Path,
    batches: Sequence[list[int]],
    num_processes: int,
    on_written: Callable[[int], object] = lambda count: None,
    marker: Path | None = None,
    owner_token: str | None = None,
) -> None:
    """Run ``batches`` in a pool of ``num_processes`` one-thread workers (inline for 1); ``on_written(n)`` after
    each batch with the number of trials it wrote.

    With ``marker`` and ``owner_token``, workers write only while ``marker`` carries ``owner_token``; on an
    interrupt or error the parent releases the marker and terminates the workers before re-raising.
    """
    if num_processes <= 1:
        with single_thread():
            for batch in batches:
                on_written(len(run_and_write_batch(config, str(directory), batch)))
        return
    owner = (str(marker), owner_token, os.getpid()) if marker is not None and owner_token else None
    context = multiprocessing.get_context("spawn")
    executor = None
    try:
        executor = futures.ProcessPoolExecutor(
            num_processes, mp_context=context, initializer=_worker_init, initargs=(os.getpid(),)
        )
        submit = functools.partial(executor.submit, run_and_write_batch, config, str(directory), owner=owner)
        # With "spawn", each of the first `num_processes` submits starts one worker. The workers inherit the
        # ignored SIGINT, so an early Ctrl-C reaches only this process; the window (where a Ctrl-C is lost) is
        # these spawns alone, not the whole submission.
        with sigint_ignored():
            jobs = [submit(batch) for batch in batches[:num_processes]]
        jobs += [submit(batch) for batch in batches[num_processes:]]
        for job in futures.as_completed(jobs):
            on_written(len(job.result()))
    except BaseException:
        if marker is not None:
            release_marker(marker)
        if executor is not None:
            _terminate_workers(executor)
            executor.shutdown(wait=True, cancel_futures=True)
        raise
    executor.shutdown(wait=True)


# --------------------------------------------------------------------------------------------------------------
# ray: chunks as Ray tasks, results written by the driver
# --------------------------------------------------------------------------------------------------------------


def run_chunk(config: ExperimentConfig, chunk: Sequence[Sequence[int]]) -> list[TrialOutput]:
    """Ray task: train the batches of ``chunk`` one after another with one thread; returns their trials."""
    with single_thread():
        return [output for batch in chunk for output in run_batch(config, batch)]


def run_ray(
    config: ExperimentConfig,
    directory: Path,
    batches: Sequence[list[int]],
    on_written: Callable[[int], object] = lambda count: None,
) -> None:
    """Run ``batches`` as Ray tasks on the instance at ``execution_backend.address`` (or a local one started here,
    or the one this process is already connected to) and write every returned trial into ``directory``."""
    import ray

    backend = config.execution_backend
    connect_here = not ray.is_initialized()
    if connect_here:
        options = {"num_cpus": backend.num_cpus} if backend.address is None else {}
        try:
            ray.init(address=backend.address, include_dashboard=False, logging_level="WARNING", **options)
        except (ConnectionError, RuntimeError, ValueError) as error:
            where = f"the Ray cluster at {backend.address}" if backend.address else "a local Ray instance"
            raise BackendError(f"cannot start or reach {where}: {last_error_line(error)}") from None
    try:
        task = ray.remote(num_cpus=1, max_retries=2)(run_chunk)
        config_ref = ray.put(config)
        pending = {
            task.remote(config_ref, chunk): chunk for chunk in chunks(batches, backend.batches_per_task)
        }
        try:
            while pending:
                (ready,), _ = ray.wait(list(pending), num_returns=1)
                chunk = pending.pop(ready)
                try:
                    outputs = ray.get(ready)
                except ray.exceptions.RayError as error:
                    cause = getattr(error, "cause", None) or error
                    raise BackendError(
                        f"ray task for {_describe(chunk)} failed: {last_error_line(cause)}"
                    ) from error
                on_written(len(write_new_trials(directory, outputs, config)))
        except BaseException:
            for ref in pending:
                ray.cancel(ref, force=True)
            raise
    finally:
        if connect_here:
            ray.shutdown()


# --------------------------------------------------------------------------------------------------------------
# slurm: one submitit job array, tasks write into the shared run folder
# --------------------------------------------------------------------------------------------------------------


class SlurmChunkTask:
    """One array task: run the batches of ``chunk`` into ``directory`` (skipping trials already written).

    ``checkpoint`` is submitit's requeue hook (called on time-out / pre-emption): it resubmits the same chunk;
    the trials written before the signal are skipped on the next attempt, the interrupted batch reruns with the
    same numbers.
    """

    def __init__(self, config: ExperimentConfig, directory: str, chunk: Sequence[Sequence[int]]) -> None:
        self.config = config
        self.directory = directory
        self.chunk = [list(batch) for batch in chunk]

    def __call__(self) -> list[int]:
        directory = Path(self.directory)
        todo = [b for b in self.chunk if not all(is_trial_complete(directory, t, self.config) for t in b)]
        run_local(self.config, directory, todo, min(self.config.execution_backend.cpus_per_task, len(todo)))
        return [t for b in self.chunk for t in b]

    def checkpoint(self, *args, **kwargs):
        from submitit.helpers import DelayedSubmission

        return DelayedSubmission(SlurmChunkTask(self.config, self.directory, self.chunk))


def run_slurm(
    config: ExperimentConfig,
    directory: Path,
    batches: Sequence[list[int]],
    on_progress: Callable[[int], object] = lambda done: None,
    poll_seconds: float = 2.0,
) -> None:
    """Submit ``batches`` as one job array, wait for it (``on_progress(n)``: ``n`` trials of the run complete), and raise
    :class:`BackendError` naming the first failed task and its log. Ctrl-C cancels the tasks still running."""
    backend = config.execution_backend
    folder = Path(backend.folder) if backend.folder else directory / ".submitit"
    executor = submitit_executor(folder, backend, job_name=f"rr-synthetic-{config.dataset_key}")
    work = chunks(batches, backend.batches_per_task)
    jobs = executor.submit_array([SlurmChunkTask(config, str(directory), chunk) for chunk in work])
    trials = range(1, config.num_trials + 1)
    try:
        while not all(job.done() for job in jobs):
            on_progress(sum(is_trial_complete(directory, t, config) for t in trials))
            time.sleep(poll_seconds)
    except BaseException:
        for job in jobs:
            if not job.done():
                job.cancel(check=False)
        raise
    on_progress(sum(is_trial_complete(directory, t, config) for t in trials))
    for job, chunk in zip(jobs, work, strict=True):
        error = job.exception()
        if error is not None:
            raise BackendError(
                f"slurm task {job.job_id} ({_describe(chunk)}) failed: {last_error_line(error)}; "
                f"log: {job.paths.stderr}"
            )

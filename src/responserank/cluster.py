"""Shared helpers of the cluster backends (optional extra ``cluster``: ray, submitit).

Used by the synthetic runner's ``execution_backend=ray|slurm`` and by the LLM sweep's ``backend=slurm``: the
one-line message when an engine is missing, SLURM time limits, and a submitit executor built from plain options.
Neither engine is imported unless a backend that needs it is chosen.
"""

from __future__ import annotations

import importlib
import math
import re
from pathlib import Path
from typing import Any

CLUSTER_EXTRA_HINT = "pip install 'responserank[cluster]'"
SUBMITIT_CLUSTERS = ("slurm", "local")


def missing_engine_message(option: str, module: str) -> str | None:
    """``None`` when ``module`` imports; otherwise the one-line message naming the extra for ``option``."""
    try:
        importlib.import_module(module)
    except ImportError:
        return f"{option} needs {module}, which comes with the optional extra 'cluster': {CLUSTER_EXTRA_HINT}"
    return None


def parse_time_minutes(value: Any, key: str) -> int:
    """SLURM-style time limit → whole minutes: ``90`` (minutes), ``"4:00:00"``, ``"1-12:00:00"``, ``"30:00"``
    (minutes:seconds, as ``sbatch --time`` reads it); seconds are rounded up. ``ValueError`` naming ``key``."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    pattern = r"(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?"
    match = re.fullmatch(pattern, value.strip()) if isinstance(value, str) else None
    if match is None:
        raise ValueError(
            f"{key} must be minutes or [days-]hours:minutes:seconds (e.g. 4:00:00), got {value!r}"
        )
    days, first, second, third = (int(part) if part else 0 for part in match.groups())
    if match.group(4) is not None:  # hours:minutes:seconds
        seconds = 3600 * first + 60 * second + third
    elif match.group(3) is not None:  # minutes:seconds
        seconds = 60 * first + second
    else:
        seconds = 60 * first
    seconds += 86400 * days
    if seconds <= 0:
        raise ValueError(f"{key} must be a positive time limit, got {value!r}")
    return math.ceil(seconds / 60)


def submitit_executor(folder: str | Path, backend: Any, job_name: str, gpus_per_node: int | None = None):
    """A submitit ``AutoExecutor`` for a backend config (the synthetic runner's ``execution_backend`` or the LLM
    sweep's ``backend``) on ``backend.cluster`` (``slurm``, or ``local``: the same jobs as subprocesses here).

    Reads ``cluster``, ``timeout_min``, ``cpus_per_task``, ``mem_gb``, ``partition``, ``account``, ``qos``,
    ``array_parallelism`` and ``setup`` (commands run before each task). One task per job (``tasks_per_node=1``);
    ``slurm_*`` options only apply on SLURM. Unset (``None``) options are left to the cluster's defaults.
    """
    import submitit

    executor = submitit.AutoExecutor(folder=str(folder), cluster=backend.cluster)
    parameters = {
        "name": job_name,
        "timeout_min": backend.timeout_min,
        "tasks_per_node": 1,
        "cpus_per_task": backend.cpus_per_task,
        "gpus_per_node": gpus_per_node,
        "mem_gb": backend.mem_gb,
        "slurm_partition": backend.partition,
        "slurm_account": backend.account,
        "slurm_qos": backend.qos,
        "slurm_array_parallelism": backend.array_parallelism,
        "slurm_setup": list(backend.setup) or None,
    }
    executor.update_parameters(**{k: v for k, v in parameters.items() if v is not None})
    return executor


def last_error_line(error: BaseException) -> str:
    """``<ExceptionType>: <last non-empty line>`` (a remote traceback's final line names the actual error)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return f"{type(error).__name__}: {lines[-1] if lines else ''}"

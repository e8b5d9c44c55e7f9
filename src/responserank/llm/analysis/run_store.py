"""Local run store of the LLM trainer: one JSON record per run, and the reader ``collect --runs-dir`` uses.

A run store is any folder tree (the trainer's default is ``outputs/rr_llm/<date>/<time>-<overrides>/``) in which
every run folder holds a ``run_record.json``. The trainer writes it with :func:`write_run_record` when the run
starts (``run_state: "running"``) and again when it ends (``"finished"`` / ``"failed"`` / ``"stopped"``); each
write replaces the file atomically. Schema ``responserank.llm.run/1``::

    {
      "schema": "responserank.llm.run/1",
      "run_name": "rr_agree-v10.1-1a2b3c4d-1.0-42",   # <egid>-<fraction>-<seed> (spec llm.md §11)
      "egid": "rr_agree-v10.1-1a2b3c4d",             # [dry-]<experiment.name>-v<base>.<version>-<hash[:8]>
      "experiment": "rr_agree",                       # preset name chosen with experiment=<name>
      "experiment_name": "rr_agree",                  # cfg.experiment.name (the egid's prefix)
      "seed": 42,
      "fraction": 1.0,                                # experiment.fraction, in (0, 1]
      "run_state": "finished",                        # running | finished | failed | stopped | crashed
      "dry_run": false,
      "run_id": null,                                 # optional (e.g. the wandb run id); default: folder path
      "metrics": {                                    # final values, fractions in [0, 1]; null = not evaluated
        "eval_accuracy": 0.754,
        "eval/rewardbench_v1/overall/accuracy_score": 0.80,
        "eval/rewardbench_v2/overall/accuracy_score": 0.556,
        "eval/rewardbench_v2/section/Factuality_score": 0.61, … (Focus, Math, Precise IF, Safety, Ties)
      },
      "statistics": {"train_examples": 5785, "test_examples": 1443,
                     "non_singleton_fraction": 1.0, "avg_fragment_size": 4.58},
      "config": {…},                                  # resolved config (optional, kept for reference)
      "details": {…}                                  # optional free-form JSON: identity, per-epoch metrics,
                                                      # device, timings, messages (kept, not collected)
    }

Metric and statistic names are the columns of the cache (``names.py``); the trainer's wandb-style names
(``eval/accuracy``, ``eval/rewardbench/overall/accuracy_score``, ``partitioner/train/non_singleton_fraction``,
``packing/avg_fragment_size``) are accepted and renamed. Other metric names are kept in the record but not
collected. Non-finite values are stored as null.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from responserank.errors import AnalysisError
from responserank.llm.analysis.names import METRIC_COLUMNS, STATISTIC_COLUMNS
from responserank.reporting import read_json_object, write_text_atomic

SCHEMA = "responserank.llm.run/1"
RECORD_FILE = "run_record.json"
RUN_STATES = ("running", "finished", "failed", "stopped", "crashed")

ALIASES = {
    "eval/accuracy": "eval_accuracy",
    "eval/rewardbench/overall/accuracy_score": "eval/rewardbench_v1/overall/accuracy_score",
    "partitioner/train/non_singleton_fraction": "non_singleton_fraction",
    "packing/avg_fragment_size": "avg_fragment_size",
}


def _number_or_none(name: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        try:  # numpy / torch scalars
            value = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be a number or null, got {value!r}") from None
    value = float(value)
    return value if math.isfinite(value) else None


def _canonical(values: Mapping[str, Any] | None, what: str) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for name, value in (values or {}).items():
        if not isinstance(name, str):
            raise ValueError(f"{what} names must be strings, got {name!r}")
        key = ALIASES.get(name, name)
        out[key] = _number_or_none(f"{what} {name!r}", value)
    return dict(sorted(out.items()))


@dataclass
class RunRecord:
    """One trainer run. See the module docstring for the meaning of each field."""

    run_name: str
    egid: str
    experiment: str
    seed: int
    fraction: float
    run_state: str
    experiment_name: str | None = None
    dry_run: bool = False
    run_id: str | None = None
    metrics: dict[str, float | None] = field(default_factory=dict)
    statistics: dict[str, float | None] = field(default_factory=dict)
    config: dict[str, Any] | None = None
    details: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        for name in ("run_name", "egid", "experiment"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise ValueError(f"{name} must be a non-empty string, got {value!r}")
        if self.experiment_name is None:
            self.experiment_name = self.experiment
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            if isinstance(self.seed, float) and self.seed.is_integer():
                self.seed = int(self.seed)
            else:
                raise ValueError(f"seed must be an integer, got {self.seed!r}")
        if isinstance(self.fraction, bool) or not isinstance(self.fraction, (int, float)):
            raise ValueError(f"fraction must be a number in (0, 1], got {self.fraction!r}")
        self.fraction = float(self.fraction)
        if not 0.0 < self.fraction <= 1.0:
            raise ValueError(f"fraction must be in (0, 1], got {self.fraction!r}")
        if self.run_state not in RUN_STATES:
            raise ValueError(f"run_state must be one of {', '.join(RUN_STATES)}, got {self.run_state!r}")
        if not isinstance(self.dry_run, bool):
            raise ValueError(f"dry_run must be true or false, got {self.dry_run!r}")
        if self.run_id is not None and not isinstance(self.run_id, str):
            raise ValueError(f"run_id must be a string or null, got {self.run_id!r}")
        if self.config is not None and not isinstance(self.config, dict):
            raise ValueError("config must be a JSON object or null")
        if self.details is not None and not isinstance(self.details, dict):
            raise ValueError("details must be a JSON object or null")
        self.metrics = _canonical(self.metrics, "metric")
        self.statistics = _canonical(self.statistics, "statistic")

    @property
    def is_dry_run(self) -> bool:
        return self.dry_run or self.egid.startswith("dry-")

    def to_json(self) -> str:
        payload = {
            "schema": SCHEMA,
            "run_name": self.run_name,
            "egid": self.egid,
            "experiment": self.experiment,
            "experiment_name": self.experiment_name,
            "seed": self.seed,
            "fraction": self.fraction,
            "run_state": self.run_state,
            "dry_run": self.dry_run,
            "run_id": self.run_id,
            "metrics": self.metrics,
            "statistics": self.statistics,
            "config": self.config,
            "details": self.details,
        }
        return json.dumps(payload, indent=2, sort_keys=False, allow_nan=False) + "\n"

    @classmethod
    def from_dict(cls, payload: Mapping[str, Any]) -> RunRecord:
        if payload.get("schema") != SCHEMA:
            raise ValueError(f"schema must be {SCHEMA!r}, got {payload.get('schema')!r}")
        required = ("run_name", "egid", "experiment", "seed", "fraction", "run_state")
        missing = [name for name in required if name not in payload]
        if missing:
            raise ValueError(f"missing field(s) {', '.join(missing)}")
        for name in ("metrics", "statistics"):
            if payload.get(name) is not None and not isinstance(payload.get(name), dict):
                raise ValueError(f"{name} must be a JSON object")
        return cls(
            **{name: payload[name] for name in required},
            experiment_name=payload.get("experiment_name"),
            dry_run=payload.get("dry_run", False),
            run_id=payload.get("run_id"),
            metrics=payload.get("metrics") or {},
            statistics=payload.get("statistics") or {},
            config=payload.get("config"),
            details=payload.get("details"),
        )


def write_run_record(run_dir: str | os.PathLike, record: RunRecord) -> Path:
    """Write (or replace, atomically) ``run_dir/run_record.json``; returns its path. For the trainer.

    The record is validated (and metric names normalised) again here, so fields changed after construction
    are checked too; a ``ValueError`` names the bad field.
    """
    path = Path(run_dir) / RECORD_FILE
    write_text_atomic(path, replace(record).to_json())  # replace() re-runs __post_init__
    return path


def read_run_record(path: str | os.PathLike) -> RunRecord:
    """Read one record; AnalysisError naming the file when it is not valid JSON or breaks the schema."""
    payload = read_json_object(path, "run record")
    try:
        return RunRecord.from_dict(payload)
    except ValueError as error:
        raise AnalysisError(f"{path}: {error}") from error


def find_run_records(runs_dir: str | os.PathLike) -> list[Path]:
    """All ``run_record.json`` files below ``runs_dir``, sorted by path."""
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        raise AnalysisError(f"runs folder {runs_dir} does not exist")
    return sorted(runs_dir.rglob(RECORD_FILE))


def record_row(record: RunRecord, run_id: str) -> dict[str, Any]:
    """The record as one row of the cache's ``runs.csv`` (metric columns NaN when absent)."""
    row: dict[str, Any] = {
        "run_id": record.run_id or run_id,
        "run_name": record.run_name,
        "egid": record.egid,
        "experiment_name": record.experiment_name,
        "seed": record.seed,
        "fraction": record.fraction,
        "run_state": record.run_state,
        "display_name": record.run_name,
        "preset": record.experiment,
        "source": "local",
    }
    for column in METRIC_COLUMNS:
        value = record.metrics.get(column)
        row[column] = math.nan if value is None else value
    for column in STATISTIC_COLUMNS:
        value = record.statistics.get(column)
        row[column] = math.nan if value is None else value
    return row

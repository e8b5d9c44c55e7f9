"""``find``: locate the latest finished experiment per dataset config below an output folder.

An experiment is a runner output folder holding ``metadata.json`` (``{"dataset": <display name>, "timestamp":
"YYYY-MM-DD HH:MM:SS", …}``). Folders with an ``ABORTED`` marker are skipped. The display name is mapped to the
dataset config name (``Stochastic`` → ``stochastic``); when it is unknown, the ``dataset=<config>`` part of the
Hydra folder name is used. The result, ``{config: path}``, is written to ``<out_dir>/experiment_paths.json``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from responserank.errors import AnalysisError
from responserank.reporting import write_text_atomic
from responserank.synthetic.analysis.names import DATASET_CONFIGS, display_name_to_config

PATHS_FILE_NAME = "experiment_paths.json"
ABORTED_MARKER = "ABORTED"
_TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"
_DATASET_IN_DIR_NAME = re.compile(r"dataset=(\w+)")


@dataclass(frozen=True)
class Experiment:
    config: str
    path: Path
    timestamp: dt.datetime


def read_json(path: Path, what: str = "JSON file"):
    """Parse a JSON file; any problem becomes a one-line :class:`AnalysisError` naming the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise AnalysisError(f"{path}: {what} not found") from None
    except (OSError, UnicodeDecodeError) as error:
        raise AnalysisError(f"{path}: cannot read {what} ({error})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise AnalysisError(
            f"{path}: corrupt {what} ({error.msg} at line {error.lineno}, column {error.colno})"
        ) from None


def config_name_from_dir(path: Path) -> str | None:
    """``…/03-20-12-configv2+dataset=stochastic,num_trials=2`` → ``stochastic`` (None if absent)."""
    match = _DATASET_IN_DIR_NAME.search(path.name)
    return match.group(1) if match else None


def read_experiment(metadata_path: Path, names: dict[str, str]) -> Experiment:
    """Config name and timestamp of the experiment whose ``metadata.json`` is ``metadata_path``."""
    metadata = read_json(metadata_path, "metadata.json")
    if not isinstance(metadata, dict):
        raise AnalysisError(f"{metadata_path}: expected a JSON object, got {type(metadata).__name__}")
    for key in ("dataset", "timestamp"):
        if not isinstance(metadata.get(key), str):
            raise AnalysisError(f"{metadata_path}: missing or non-string field {key!r}")
    try:
        timestamp = dt.datetime.strptime(metadata["timestamp"], _TIMESTAMP_FORMAT)
    except ValueError:
        raise AnalysisError(
            f"{metadata_path}: timestamp {metadata['timestamp']!r} is not 'YYYY-MM-DD HH:MM:SS'"
        ) from None
    config = names.get(metadata["dataset"]) or config_name_from_dir(metadata_path.parent)
    if config is None:
        known = ", ".join(repr(name) for name in DATASET_CONFIGS.values())
        raise AnalysisError(
            f"{metadata_path}: unknown dataset {metadata['dataset']!r} (known: {known}) and no "
            "'dataset=<config>' in the folder name"
        )
    return Experiment(config, metadata_path.parent, timestamp)


def find_experiments(experiment_dir: str | os.PathLike) -> dict[str, Experiment]:
    """The latest non-aborted experiment per config below ``experiment_dir`` (config → experiment)."""
    root = Path(experiment_dir)
    if not root.is_dir():
        raise AnalysisError(f"{root}: experiment folder does not exist")
    names = display_name_to_config()
    latest: dict[str, Experiment] = {}
    for current, dirs, files in os.walk(root):
        dirs.sort()
        if "metadata.json" not in files:
            continue
        dirs.clear()  # an experiment's trial folders hold no further experiments
        folder = Path(current)
        if ABORTED_MARKER in files:
            print(f"skipping {folder}: unfinished or aborted (ABORTED marker present)", file=sys.stderr)
            continue
        experiment = read_experiment(folder / "metadata.json", names)
        previous = latest.get(experiment.config)
        if previous is None or (experiment.timestamp, str(experiment.path)) > (
            previous.timestamp,
            str(previous.path),
        ):
            latest[experiment.config] = experiment
    if not latest:
        raise AnalysisError(f"{root}: no finished experiment (no metadata.json without ABORTED) found")
    return dict(sorted(latest.items(), key=lambda item: _config_order(item[0])))


def _config_order(config: str) -> tuple[int, str]:
    order = list(DATASET_CONFIGS)
    return (order.index(config) if config in order else len(order), config)


def portable_path(path: Path, base: Path | None = None) -> str:
    """``path`` relative to ``base`` (default: the current folder) when it lies below it, else absolute."""
    base = (base or Path.cwd()).resolve()
    resolved = path.resolve()
    try:
        return resolved.relative_to(base).as_posix()
    except ValueError:
        return str(resolved)


def write_paths_file(experiments: dict[str, Experiment], out_dir: str | os.PathLike) -> Path:
    """Write ``{config: path}`` to ``<out_dir>/experiment_paths.json`` (paths relative to the current folder)."""
    destination = Path(out_dir) / PATHS_FILE_NAME
    mapping = {config: portable_path(experiment.path) for config, experiment in experiments.items()}
    write_text_atomic(destination, json.dumps(mapping, indent=2) + "\n")
    return destination

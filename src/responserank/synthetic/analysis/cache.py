"""Read and check the collected caches (``<cache_dir>/<config>.json``, spec ``synthetic.md`` §6).

A cache becomes a :class:`DatasetResults` of plain arrays; every problem (corrupt JSON, a missing learner, size,
metric or trial, a null / NaN value, a value outside its metric's range such as an accuracy of 75.0) is raised as
a one-line :class:`AnalysisError` naming the file, learner, size, metric and trial, before anything is drawn.
A missing value is an error rather than a smaller sample: a table cell must average the trials its header
claims.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from responserank.errors import AnalysisError
from responserank.synthetic.analysis.find import read_json
from responserank.synthetic.analysis.names import (
    CONFUSION_MATRIX,
    DATASET_CONFIGS,
    KENDALL_TAU,
    LEARNERS,
    METRICS,
    OPTIONAL_LEARNERS,
)


@dataclass(frozen=True)
class DatasetResults:
    """Results of one dataset config.

    ``sizes``: training-set fractions, ascending, shape ``[S]``. ``metrics[metric][learner]``: shape ``[S, T]``
    (size × trial; always finite). ``kendall_tau``: ``[T]``.
    ``confusion``: ``[T, 2, 2]`` counts, row = 1[u1 > u2], column = y (index 1 = option 1).
    """

    config: str
    display_name: str
    path: Path
    sizes: np.ndarray
    metrics: dict[str, dict[str, np.ndarray]]
    kendall_tau: np.ndarray
    confusion: np.ndarray

    @property
    def learners(self) -> list[str]:
        """Learner keys of this cache: the six required ones, then the optional ones it holds."""
        return list(next(iter(self.metrics.values())))

    @property
    def num_trials(self) -> int:
        return self.kendall_tau.shape[0]


# Metric → (low, high, meaning): the range of its definition.
RANGES: dict[str, tuple[float, float, str]] = {
    "choice_accuracy": (0.0, 1.0, "an accuracy is a fraction in [0, 1], not a percentage"),
    "pearson_distance_correlation": (-1.0, 1.0, "a correlation lies in [-1, 1]"),
    KENDALL_TAU: (-1.0, 1.0, "Kendall's tau lies in [-1, 1]"),
    CONFUSION_MATRIX: (0.0, math.inf, "a confusion matrix holds counts >= 0"),
}


def _number(value, path: Path, where: str, metric: str | None = None) -> float:
    """``value`` as a float; null / NaN / infinite values and values outside ``metric``'s range are errors."""
    if isinstance(value, bool) or not isinstance(value, int | float | type(None)):
        raise AnalysisError(f"{path}: {where}: expected a number, got {value!r}")
    if value is None or not math.isfinite(value):
        raise AnalysisError(
            f"{path}: {where}: value is {'null' if value is None else value}; every trial needs a finite value "
            "(summaries would otherwise silently average fewer trials than reported)"
        )
    if metric in RANGES:
        low, high, meaning = RANGES[metric]
        if not low <= value <= high:
            raise AnalysisError(
                f"{path}: {where}: value {value:g} is outside [{low:g}, {high:g}] ({meaning})"
            )
    return float(value)


def _entries(node, path: Path, where: str) -> list:
    if not isinstance(node, list) or not all(isinstance(e, dict) and "value" in e for e in node):
        raise AnalysisError(f"{path}: {where}: expected a list of {{'value': …}} entries, one per trial")
    return node


def _parse_size(key: str, path: Path, learner: str) -> float:
    try:
        return float(key)
    except ValueError:
        raise AnalysisError(f"{path}: learner {learner!r}: size key {key!r} is not a number") from None


def load_cache(path: str | os.PathLike, config: str | None = None) -> DatasetResults:
    """Load and check one cache; all six learners must be present with the same sizes and trial counts.

    Optional learners (``names.OPTIONAL_LEARNERS``, e.g. ``ddm``) are loaded and checked when present.
    """
    path = Path(path)
    config = config or path.stem
    cache = read_json(path, "cache file")
    if not isinstance(cache, dict):
        raise AnalysisError(f"{path}: expected a JSON object, got {type(cache).__name__}")
    metadata = cache.get("metadata")
    if not isinstance(metadata, dict):
        raise AnalysisError(f"{path}: no 'metadata' object")

    missing = [learner for learner in LEARNERS if not isinstance(cache.get(learner), dict)]
    if missing:
        raise AnalysisError(f"{path}: missing learner(s) {', '.join(missing)}")

    learners = [*LEARNERS, *(key for key in OPTIONAL_LEARNERS if isinstance(cache.get(key), dict))]
    declared = metadata.get("dataset_sizes")
    sizes_by_learner = {}
    for learner in learners:
        sizes = cache[learner].get("sizes")
        if not isinstance(sizes, dict) or not sizes:
            raise AnalysisError(f"{path}: learner {learner!r} has no 'sizes'")
        sizes_by_learner[learner] = {_parse_size(key, path, learner): key for key in sizes}
    if isinstance(declared, list) and declared:
        expected = {_number(size, path, "metadata.dataset_sizes") for size in declared}
        source = "metadata.dataset_sizes"
    else:
        expected, source = set(sizes_by_learner["bt"]), "learner 'bt'"
    for learner, sizes in sizes_by_learner.items():
        if set(sizes) != expected:
            lacking = sorted(expected - set(sizes))
            extra = sorted(set(sizes) - expected)
            detail = "; ".join(
                part
                for part in (
                    f"missing size(s) {', '.join(map(str, lacking))}" if lacking else "",
                    f"unexpected size(s) {', '.join(map(str, extra))}" if extra else "",
                )
                if part
            )
            raise AnalysisError(f"{path}: learner {learner!r}: {detail} (expected the sizes of {source})")
    sizes = np.array(sorted(expected))

    num_trials = None
    metrics: dict[str, dict[str, np.ndarray]] = {metric: {} for metric in METRICS}
    for learner in learners:
        for size in sizes:
            key = sizes_by_learner[learner][size]
            node = cache[learner]["sizes"][key]
            summary = node.get("summary_metrics") if isinstance(node, dict) else None
            if not isinstance(summary, dict):
                raise AnalysisError(f"{path}: {learner} @ size {key}: no 'summary_metrics'")
            for metric in METRICS:
                where = f"{learner} @ size {key}: {metric!r}"
                if metric not in summary:
                    raise AnalysisError(f"{path}: {where} missing")
                entries = _entries(summary[metric], path, where)
                values = [
                    _number(e["value"], path, f"{where} trial {k + 1}", metric) for k, e in enumerate(entries)
                ]
                if num_trials is None:
                    num_trials = len(values)
                    first_where = where
                if len(values) != num_trials or not values:
                    raise AnalysisError(
                        f"{path}: {where} has {len(values)} trials but {first_where} has {num_trials}"
                    )
                metrics[metric].setdefault(learner, []).append(values)
    arrays = {
        metric: {learner: np.array(rows, dtype=np.float64) for learner, rows in by_learner.items()}
        for metric, by_learner in metrics.items()
    }

    dataset_metrics = cache.get("dataset_metrics")
    if not isinstance(dataset_metrics, dict):
        raise AnalysisError(f"{path}: no 'dataset_metrics' object")
    for name in (KENDALL_TAU, CONFUSION_MATRIX):
        if name not in dataset_metrics:
            raise AnalysisError(f"{path}: dataset metric {name!r} missing")
        entries = _entries(dataset_metrics[name], path, f"dataset metric {name!r}")
        if len(entries) != num_trials:
            raise AnalysisError(
                f"{path}: dataset metric {name!r} has {len(entries)} trials, the learners have {num_trials}"
            )
    taus = []
    for k, entry in enumerate(dataset_metrics[KENDALL_TAU]):
        value = entry["value"]
        x = value.get("x") if isinstance(value, dict) else value
        x = x[0] if isinstance(x, list) and len(x) == 1 else x
        taus.append(_number(x, path, f"{KENDALL_TAU!r} of trial {k + 1}", KENDALL_TAU))
    confusions = []
    for k, entry in enumerate(dataset_metrics[CONFUSION_MATRIX]):
        matrix = np.asarray(entry["value"], dtype=object)
        if matrix.shape != (2, 2):
            raise AnalysisError(f"{path}: {CONFUSION_MATRIX!r} of trial {k + 1} is not a 2×2 matrix")
        confusions.append(
            [
                [_number(v, path, f"{CONFUSION_MATRIX!r} of trial {k + 1}", CONFUSION_MATRIX) for v in row]
                for row in matrix
            ]
        )

    display = metadata.get("dataset") if isinstance(metadata.get("dataset"), str) else None
    return DatasetResults(
        config=config,
        display_name=display or DATASET_CONFIGS.get(config, config),
        path=path,
        sizes=sizes,
        metrics=arrays,
        kendall_tau=np.array(taus, dtype=np.float64),
        confusion=np.array(confusions, dtype=np.float64),
    )


def load_caches(cache_dir: str | os.PathLike) -> dict[str, DatasetResults]:
    """All caches of the six known configs found in ``cache_dir`` (config → results, in config order)."""
    cache_dir = Path(cache_dir)
    if not cache_dir.is_dir():
        raise AnalysisError(f"{cache_dir}: cache folder does not exist")
    found = {config: cache_dir / f"{config}.json" for config in DATASET_CONFIGS}
    found = {config: path for config, path in found.items() if path.is_file()}
    if not found:
        expected = ", ".join(f"{config}.json" for config in DATASET_CONFIGS)
        raise AnalysisError(f"{cache_dir}: no cache files (expected one or more of {expected})")
    return {config: load_cache(path, config) for config, path in found.items()}

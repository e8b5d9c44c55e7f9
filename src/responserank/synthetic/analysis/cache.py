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

    def size_index(self, size: float) -> int:
        """Index of ``size`` in :attr:`sizes` (``np.isclose``); :class:`AnalysisError` if there are no runs there."""
        matches = np.flatnonzero(np.isclose(self.sizes, size))
        if matches.size == 0:
            sizes = ", ".join(f"{s:g}" for s in self.sizes)
            raise AnalysisError(f"{self.path}: no runs at size {size:g} (sizes: {sizes})")
        return int(matches[0])


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
    metadata = _check_top_level(cache, path)
    learners = [*LEARNERS, *(key for key in OPTIONAL_LEARNERS if isinstance(cache.get(key), dict))]
    sizes, size_keys = _sizes(cache, learners, metadata.get("dataset_sizes"), path)
    metrics, num_trials = _learner_metrics(cache, size_keys, sizes, path)
    kendall_tau, confusion = _dataset_metrics(cache.get("dataset_metrics"), num_trials, path)
    display = metadata.get("dataset") if isinstance(metadata.get("dataset"), str) else None
    return DatasetResults(
        config=config,
        display_name=display or DATASET_CONFIGS.get(config, config),
        path=path,
        sizes=sizes,
        metrics=metrics,
        kendall_tau=kendall_tau,
        confusion=confusion,
    )


def _check_top_level(cache, path: Path) -> dict:
    """The cache's ``metadata`` object, after checking that the cache is an object holding the six learners."""
    if not isinstance(cache, dict):
        raise AnalysisError(f"{path}: expected a JSON object, got {type(cache).__name__}")
    metadata = cache.get("metadata")
    if not isinstance(metadata, dict):
        raise AnalysisError(f"{path}: no 'metadata' object")
    missing = [learner for learner in LEARNERS if not isinstance(cache.get(learner), dict)]
    if missing:
        raise AnalysisError(f"{path}: missing learner(s) {', '.join(missing)}")
    return metadata


def _sizes(cache: dict, learners: list[str], declared, path: Path) -> tuple[np.ndarray, dict]:
    """Sizes ``[S]`` ascending and learner → {size: its key in the cache}; every learner must have the sizes of
    ``metadata.dataset_sizes`` (or, without it, those of BT)."""
    size_keys = {}
    for learner in learners:
        sizes = cache[learner].get("sizes")
        if not isinstance(sizes, dict) or not sizes:
            raise AnalysisError(f"{path}: learner {learner!r} has no 'sizes'")
        size_keys[learner] = {_parse_size(key, path, learner): key for key in sizes}
    if isinstance(declared, list) and declared:
        expected = {_number(size, path, "metadata.dataset_sizes") for size in declared}
        source = "metadata.dataset_sizes"
    else:
        expected, source = set(size_keys["bt"]), "learner 'bt'"
    for learner, keys in size_keys.items():
        if set(keys) != expected:
            detail = _size_mismatch(expected, set(keys))
            raise AnalysisError(f"{path}: learner {learner!r}: {detail} (expected the sizes of {source})")
    return np.array(sorted(expected)), size_keys


def _size_mismatch(expected: set[float], found: set[float]) -> str:
    parts = (("missing", sorted(expected - found)), ("unexpected", sorted(found - expected)))
    return "; ".join(f"{word} size(s) {', '.join(map(str, sizes))}" for word, sizes in parts if sizes)


def _learner_metrics(cache: dict, size_keys: dict, sizes: np.ndarray, path: Path) -> tuple[dict, int]:
    """metric → learner → values ``[S, T]``, and T; every learner, size and metric must have the same T."""
    rows = {metric: {learner: [] for learner in size_keys} for metric in METRICS}
    first = None  # (where, number of trials) of the first list read
    for learner, keys in size_keys.items():
        for size in sizes:
            node = cache[learner]["sizes"][keys[size]]
            summary = node.get("summary_metrics") if isinstance(node, dict) else None
            if not isinstance(summary, dict):
                raise AnalysisError(f"{path}: {learner} @ size {keys[size]}: no 'summary_metrics'")
            for metric in METRICS:
                where = f"{learner} @ size {keys[size]}: {metric!r}"
                values = _trial_values(summary, metric, path, where)
                first = first or (where, len(values))
                if len(values) != first[1] or not values:
                    raise AnalysisError(
                        f"{path}: {where} has {len(values)} trials but {first[0]} has {first[1]}"
                    )
                rows[metric][learner].append(values)
    arrays = {
        metric: {learner: np.array(v, dtype=np.float64) for learner, v in by.items()}
        for metric, by in rows.items()
    }
    return arrays, first[1]


def _trial_values(summary: dict, metric: str, path: Path, where: str) -> list[float]:
    if metric not in summary:
        raise AnalysisError(f"{path}: {where} missing")
    entries = _entries(summary[metric], path, where)
    return [_number(e["value"], path, f"{where} trial {k + 1}", metric) for k, e in enumerate(entries)]


def _dataset_metrics(dataset_metrics, num_trials: int, path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Kendall's tau ``[T]`` and the confusion matrices ``[T, 2, 2]``, one per trial."""
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
    taus = [_tau(entry["value"], path, k) for k, entry in enumerate(dataset_metrics[KENDALL_TAU])]
    confusions = [
        _confusion(entry["value"], path, k) for k, entry in enumerate(dataset_metrics[CONFUSION_MATRIX])
    ]
    return np.array(taus, dtype=np.float64), np.array(confusions, dtype=np.float64)


def _tau(value, path: Path, k: int) -> float:
    """Kendall's tau of trial ``k``: a number, or ``{"x": number}`` / ``{"x": [number]}``."""
    x = value.get("x") if isinstance(value, dict) else value
    x = x[0] if isinstance(x, list) and len(x) == 1 else x
    return _number(x, path, f"{KENDALL_TAU!r} of trial {k + 1}", KENDALL_TAU)


def _confusion(value, path: Path, k: int) -> list[list[float]]:
    where = f"{CONFUSION_MATRIX!r} of trial {k + 1}"
    matrix = np.asarray(value, dtype=object)
    if matrix.shape != (2, 2):
        raise AnalysisError(f"{path}: {where} is not a 2×2 matrix")
    return [[_number(v, path, where, CONFUSION_MATRIX) for v in row] for row in matrix]


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

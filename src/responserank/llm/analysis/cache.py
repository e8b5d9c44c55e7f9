"""The collected LLM results cache: a folder with ``runs.csv``, ``registry.yaml`` and ``meta.json``.

This is exactly the layout of the paper's cache (``../shared/reference-results/llm/``), so ``generate`` reads
either. ``runs.csv`` has one row per training run; columns (``names.py``):

============================  =====================================================================
``run_id``                    unique id (wandb run id, or the run folder of a local record)
``run_name``                  ``<egid>-<fraction>-<seed>``
``egid``                      experiment group id; ``registry.yaml`` maps experiment keys to it
``experiment_name``           ``cfg.experiment.name`` (older spellings in the paper's runs)
``seed``, ``fraction``        integer seed; training-data fraction in (0, 1]
``run_state``                 ``finished`` / ``failed`` / ``crashed`` / ``running`` …; only finished runs count
``display_name``              free text (wandb display name / run name)
metrics                       ``eval_accuracy``, ``eval/rewardbench_v1/overall/accuracy_score``,
                              ``eval/rewardbench_v2/overall/accuracy_score``,
                              ``eval/rewardbench_v2/section/<category>_score`` — fractions in [0, 1] (the
                              RB v2 Ties score in [-0.01, 1.01]), empty if not evaluated; other values are errors
statistics                    ``train_examples``, ``test_examples``, ``non_singleton_fraction``,
                              ``avg_fragment_size`` (optional columns)
``preset``, ``source``        ours (optional): preset name of a local run; ``wandb:<path>`` or ``local``
============================  =====================================================================

``registry.yaml``: the registry used by ``collect`` (see :mod:`responserank.llm.analysis.registry`, which also
states how runs are tied to experiments). ``meta.json``: a JSON object describing the
collection (format, sources, counts, seeds, fractions); optional for ``generate`` but must be valid JSON when
present. Never pickle.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from responserank.errors import AnalysisError
from responserank.llm.analysis.names import CACHE_COLUMNS, METRIC_COLUMNS, REQUIRED_COLUMNS, STATISTIC_COLUMNS
from responserank.llm.analysis.registry import Experiment, load_registry
from responserank.reporting import atomic_directory, check_csv_records, check_range, read_json_object

RUNS_FILE = "runs.csv"
REGISTRY_FILE = "registry.yaml"
META_FILE = "meta.json"
FORMAT = "responserank.llm.cache/1"
FRACTION_DECIMALS = 6  # fractions are rounded so that 0.30000000000000004 and 0.3 are one group
DEFAULT_METRIC_RANGE = (0.0, 1.0, "metrics are fractions in [0, 1], not percentages")
METRIC_RANGES = {  # column → (low, high, why); metric columns not listed use DEFAULT_METRIC_RANGE
    # RewardBench v2's Ties score adds a margin term to an accuracy and can dip below 0 (paper runs: -0.01).
    # 0.3·tied + 0.3·ref accuracy + 0.2 + 0.2 preference rates + 0.01·mean tanh margin (llm.rewardbench)
    "eval/rewardbench_v2/section/Ties_score": (
        -0.01 - 1e-9,
        1.01 + 1e-9,
        "the Ties score lies in [-0.01, 1.01], not a percentage",
    ),
    "train_examples": (0.0, np.inf, "a count of examples"),
    "test_examples": (0.0, np.inf, "a count of examples"),
    "non_singleton_fraction": (0.0, 1.0, "a fraction in [0, 1], not a percentage"),
    "avg_fragment_size": (1.0, np.inf, "the mean partition size is at least 1"),
}


@dataclass
class LLMCache:
    runs: pd.DataFrame
    experiments: dict[str, Experiment]
    meta: dict


def _check_numeric(frame: pd.DataFrame, column: str, path: Path) -> pd.Series:
    values = pd.to_numeric(frame[column], errors="coerce")
    bad = frame[column].notna() & values.isna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise AnalysisError(
            f"{path}: row {row + 2}: column {column!r} value {frame[column].iloc[row]!r} is not a number"
        )
    return values.astype(np.float64)


def read_runs(path: Path) -> pd.DataFrame:
    """Read and validate ``runs.csv``: every row has the header's field count (a row cut mid-line is an error
    naming the line), required columns, numeric metrics within their ranges (:data:`METRIC_RANGES`), integer
    seeds, fractions in (0, 1]."""
    if path.is_file():
        check_csv_records(path)
    try:
        frame = pd.read_csv(path, dtype={"run_id": str, "run_name": str, "egid": str, "run_state": str})
    except FileNotFoundError as error:
        raise AnalysisError(f"{path} not found") from error
    except (OSError, UnicodeDecodeError, ValueError, pd.errors.ParserError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise AnalysisError(f"{path}: cannot read CSV ({first})") from error
    missing = [column for column in REQUIRED_COLUMNS if column not in frame.columns]
    if missing:
        raise AnalysisError(f"{path}: missing column(s) {', '.join(repr(c) for c in missing)}")
    for column in ("egid", "run_state"):
        if frame[column].isna().any():
            row = int(np.flatnonzero(frame[column].isna().to_numpy())[0])
            raise AnalysisError(f"{path}: row {row + 2}: column {column!r} is empty")
    for column in (*METRIC_COLUMNS, *(c for c in STATISTIC_COLUMNS if c in frame.columns)):
        frame[column] = _check_numeric(frame, column, path)
        low, high, meaning = METRIC_RANGES.get(column, DEFAULT_METRIC_RANGE)
        check_range(frame[column], path, column, low, high, meaning)
    seeds = _check_numeric(frame, "seed", path)
    fractions = _check_numeric(frame, "fraction", path)
    bad_seed = seeds.isna() | (seeds != np.round(seeds))
    if bad_seed.any():
        row = int(np.flatnonzero(bad_seed.to_numpy())[0])
        raise AnalysisError(f"{path}: row {row + 2}: seed {frame['seed'].iloc[row]!r} is not an integer")
    bad_fraction = ~((fractions > 0) & (fractions <= 1))
    if bad_fraction.any():
        row = int(np.flatnonzero(bad_fraction.to_numpy())[0])
        raise AnalysisError(
            f"{path}: row {row + 2}: fraction {frame['fraction'].iloc[row]!r} is not in (0, 1]"
        )
    frame["seed"] = seeds.astype(np.int64)
    frame["fraction"] = fractions.round(FRACTION_DECIMALS)
    return frame


def read_cache(cache_dir: str | os.PathLike) -> LLMCache:
    cache_dir = Path(cache_dir)
    if not cache_dir.is_dir():
        raise AnalysisError(f"cache folder {cache_dir} does not exist")
    runs = read_runs(cache_dir / RUNS_FILE)
    experiments = load_registry(cache_dir / REGISTRY_FILE)
    meta_path = cache_dir / META_FILE
    meta = read_json_object(meta_path, "cache description") if meta_path.exists() else {}
    return LLMCache(runs=runs, experiments=experiments, meta=meta)


def runs_table(rows: pd.DataFrame) -> pd.DataFrame:
    """``rows`` in the cache's column order (missing columns empty), sorted by egid, fraction, seed, run id."""
    frame = rows.copy()
    for column in CACHE_COLUMNS:
        if column not in frame.columns:
            frame[column] = np.nan
    frame = frame[list(CACHE_COLUMNS)]
    return frame.sort_values(["egid", "fraction", "seed", "run_id"], kind="stable").reset_index(drop=True)


def write_cache(
    cache_dir: str | os.PathLike,
    runs: pd.DataFrame,
    registry_text: str,
    meta: dict,
    registry_source: str | os.PathLike | None = None,
) -> list[Path]:
    """Write the three files together (nothing is replaced unless all of them were written).

    ``registry.yaml`` is left untouched when ``registry_source`` is that very file.
    """
    cache_dir = Path(cache_dir)
    target = cache_dir / REGISTRY_FILE
    same_registry = registry_source is not None and target.exists() and target.samefile(registry_source)
    table = runs_table(runs)
    with atomic_directory(cache_dir) as staging:
        table.to_csv(staging / RUNS_FILE, index=False)
        if not same_registry:
            (staging / REGISTRY_FILE).write_text(registry_text, encoding="utf-8")
        (staging / META_FILE).write_text(
            json.dumps({"format": FORMAT, **meta}, indent=2) + "\n", encoding="utf-8"
        )
    return [cache_dir / name for name in (RUNS_FILE, REGISTRY_FILE, META_FILE)]

"""``collect``: gather LLM training runs from wandb and/or a local run store into one cache folder.

Sources
  * wandb (``--project-name``): runs whose group (= egid) is one of the registry's egids; per run the config
    (egid, seed, ``experiment.fraction``, ``experiment.name``, run name), the state and the final summary
    metrics (wandb-style names are mapped onto the cache columns, see ``SUMMARY_KEYS``).
  * local run store (``--runs-dir``): every ``run_record.json`` below the folder (:mod:`.run_store`).

Matching runs to registry experiments
  1. A run whose egid equals an experiment's ``egid`` belongs to it.
  2. Local records only: an experiment that no run matched by egid takes the records whose ``experiment``
     (preset name) equals its key — our own runs carry new egids (the hash covers the full config), so the
     registry's paper egids need not be edited. These records must share one egid; otherwise the error names
     the egids and asks to pin one in the registry.
  3. Every other run is ignored (reported); dry runs (egid ``dry-…``) always are.
  (:func:`~responserank.llm.analysis.registry.resolve_experiments`; ``generate`` applies the same rules.)

The cache (:mod:`.cache`) gets all matched runs (every state — ``generate`` keeps the finished ones), the
registry file verbatim as ``registry.yaml`` (not rewritten when the cache folder already holds it) and
``meta.json`` (which records the egid each experiment resolved to). Nothing is written when a source fails.
"""

from __future__ import annotations

import math
import os
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm import tqdm

from responserank.errors import AnalysisError
from responserank.llm.analysis.cache import write_cache
from responserank.llm.analysis.names import FINISHED, METRIC_COLUMNS, STATISTIC_COLUMNS
from responserank.llm.analysis.registry import Experiment, dump_registry, resolve_experiments
from responserank.llm.analysis.run_store import find_run_records, read_run_record, record_row
from responserank.reporting import refuse_published_cache
from responserank.wandb_api import wandb_errors

# cache column → wandb summary keys tried in order
SUMMARY_KEYS: dict[str, tuple[str, ...]] = {
    "eval_accuracy": ("eval_accuracy", "eval/accuracy"),
    "eval/rewardbench_v1/overall/accuracy_score": (
        "eval/rewardbench_v1/overall/accuracy_score",
        "eval/rewardbench/overall/accuracy_score",
    ),
    **{column: (column,) for column in METRIC_COLUMNS[2:]},
    "train_examples": ("train_examples",),
    "test_examples": ("test_examples",),
    "non_singleton_fraction": ("non_singleton_fraction", "partitioner/train/non_singleton_fraction"),
    "avg_fragment_size": ("avg_fragment_size", "packing/avg_fragment_size"),
}
RUN_NAME = re.compile(r"(?P<egid>.+)-(?P<fraction>[0-9.]+)-(?P<seed>\d+)")


def _portable(path: Path) -> str:
    """``path`` relative to the current folder when below it (no machine-specific paths in meta.json)."""
    resolved, cwd = path.resolve(), Path.cwd().resolve()
    return resolved.relative_to(cwd).as_posix() if resolved.is_relative_to(cwd) else path.as_posix()


# ----------------------------------------------------------------------------------------------- local store


def local_rows(runs_dir: str | os.PathLike, notes: list[str]) -> list[dict[str, Any]]:
    runs_dir = Path(runs_dir)
    paths = find_run_records(runs_dir)
    if not paths:
        raise AnalysisError(f"no run_record.json below {runs_dir}")
    rows, dry = [], 0
    for path in tqdm(paths, desc="run records", unit="run", file=sys.stderr, disable=None):
        record = read_run_record(path)
        if record.is_dry_run:
            dry += 1
            continue
        rows.append(record_row(record, run_id=path.parent.relative_to(runs_dir).as_posix() or "."))
    if dry:
        notes.append(f"{runs_dir}: ignored {dry} dry run(s)")
    return rows


# ------------------------------------------------------------------------------------------------------ wandb


def _config_value(config: Mapping[str, Any], dotted: str) -> Any:
    """``config["a"]["b"]`` for ``"a.b"``, or the flat key ``"a.b"``; wandb may wrap values as ``{"value": …}``."""
    if dotted in config:
        value = config[dotted]
    else:
        value = config
        for part in dotted.split("."):
            if not isinstance(value, Mapping) or part not in value:
                return None
            value = value[part]
    if isinstance(value, Mapping) and set(value) == {"value"}:
        value = value["value"]
    return value


def _number(value: Any) -> float:
    if isinstance(value, bool) or value is None:
        return math.nan
    try:
        number = float(value)
    except (TypeError, ValueError):
        return math.nan
    return number if math.isfinite(number) else math.nan


def wandb_row(run, path: str) -> dict[str, Any] | None:
    """One cache row of a wandb run, or None when its egid / seed / fraction cannot be determined."""
    config = dict(run.config or {})
    egid = _config_value(config, "egid") or getattr(run, "group", None)
    run_name = _config_value(config, "run_name") or _config_value(config, "name")
    seed = _config_value(config, "seed")
    fraction = _config_value(config, "experiment.fraction")
    parsed = RUN_NAME.fullmatch(str(run_name)) if run_name else None
    if parsed is not None:
        egid = egid or parsed["egid"]
        seed = parsed["seed"] if seed is None else seed
        fraction = parsed["fraction"] if fraction is None else fraction
    if not egid or seed is None or fraction is None:
        return None
    summary = run.summary
    row: dict[str, Any] = {
        "run_id": str(run.id),
        "run_name": str(run_name) if run_name else f"{egid}-{float(fraction)}-{int(seed)}",
        "egid": str(egid),
        "experiment_name": _config_value(config, "experiment.name"),
        "seed": int(seed),
        "fraction": float(fraction),
        "run_state": str(run.state),
        "display_name": str(run.name),
        "preset": None,
        "source": f"wandb:{path}",
    }
    for column, keys in SUMMARY_KEYS.items():
        row[column] = next((_number(summary.get(k)) for k in keys if summary.get(k) is not None), math.nan)
    return row


def wandb_rows(api, path: str, egids: Iterable[str], notes: list[str]) -> list[dict[str, Any]]:
    """Rows of the runs of ``path`` whose group is one of ``egids``."""
    wanted = sorted(set(egids))
    rows, skipped = [], 0
    with wandb_errors(f"querying project {path}"):
        runs = api.runs(path, filters={"group": {"$in": wanted}})
        for run in tqdm(runs, desc=f"wandb {path}", unit="run", file=sys.stderr, disable=None):
            row = wandb_row(run, path)
            if row is None:
                skipped += 1
                continue
            rows.append(row)
    if skipped:
        notes.append(f"wandb {path}: skipped {skipped} run(s) without egid / seed / experiment.fraction")
    return rows


# --------------------------------------------------------------------------------------------------- matching


def match_registry(
    frame: pd.DataFrame, registry: Mapping[str, Experiment], notes: list[str]
) -> tuple[pd.DataFrame, dict[str, Experiment]]:
    """Rows that belong to a registry experiment, and the experiments with the egid each resolved to."""
    resolved = resolve_experiments(frame, registry)
    kept_egids = {e.egid for e in resolved.values()}
    ignored = frame[~frame["egid"].isin(kept_egids)]
    if len(ignored):
        groups = sorted(set(ignored["egid"]))
        shown = ", ".join(groups[:5]) + (f" (+{len(groups) - 5} more)" if len(groups) > 5 else "")
        notes.append(f"ignored {len(ignored)} run(s) of {len(groups)} egid(s) not in the registry: {shown}")
    if not resolved:
        raise AnalysisError(
            f"none of the {len(frame)} collected run(s) belongs to a registry experiment "
            "(match by egid, or for local runs by preset name); nothing written"
        )
    return frame[frame["egid"].isin(kept_egids)].copy(), resolved


# ---------------------------------------------------------------------------------------------------- collect


def collect(
    cache_dir: str | os.PathLike,
    registry: Mapping[str, Experiment],
    *,
    project: str | None = None,
    entity: str | None = None,
    api=None,
    runs_dir: str | os.PathLike | None = None,
    seed_filter: Sequence[int] | None = None,
    registry_path: str | os.PathLike | None = None,
    force: bool = False,
) -> tuple[list[Path], list[str]]:
    """Collect from the given sources into ``cache_dir``; returns (written files, notes for the user).

    A ``cache_dir`` holding a published cache (a ``SOURCE.md``, like the repository's ``results/llm``) is refused
    unless ``force``.
    """
    refuse_published_cache(cache_dir, force)
    if project is None and runs_dir is None:
        raise AnalysisError("nothing to collect: give --project-name (wandb) and/or --runs-dir (local runs)")
    notes: list[str] = []
    rows: list[dict[str, Any]] = []
    sources: list[dict[str, Any]] = []
    if runs_dir is not None:
        rows += local_rows(runs_dir, notes)
        sources.append({"type": "local", "runs_dir": _portable(Path(runs_dir))})
    if project is not None:
        if api is None:
            raise AnalysisError("internal: a wandb api object is required for --project-name")
        path = f"{entity}/{project}" if entity else project
        rows += wandb_rows(api, path, [e.egid for e in registry.values() if e.egid], notes)
        sources.append({"type": "wandb", "project": project, "entity": entity})
    frame = pd.DataFrame(rows, columns=list(rows[0]) if rows else ["egid", "seed", "source", "preset"])
    if seed_filter:
        before = len(frame)
        frame = frame[frame["seed"].isin(list(seed_filter))]
        notes.append(f"--seed-filter kept {len(frame)} of {before} run(s)")
    if frame.empty:
        raise AnalysisError("no runs found in the given source(s); nothing written")
    frame, resolved = match_registry(frame, registry, notes)
    finished = frame[frame["run_state"] == FINISHED]
    duplicates = finished[finished.duplicated(["egid", "fraction", "seed"], keep=False)]
    if len(duplicates):
        notes.append(
            f"{len(duplicates)} finished runs share (egid, fraction, seed) with another; 'generate' will stop "
            "until one of each is given another run_state in runs.csv"
        )
    meta = {
        "sources": sources,
        "registry": _portable(Path(registry_path)) if registry_path else None,
        "seed_filter": sorted(seed_filter) if seed_filter else None,
        "counts": {
            "runs": len(frame),
            "finished": len(finished),
            "by_state": {str(k): int(v) for k, v in sorted(frame["run_state"].value_counts().items())},
            "finished_by_experiment": {
                key: int((finished["egid"] == e.egid).sum()) for key, e in resolved.items()
            },
        },
        "resolved_egids": {key: e.egid for key, e in resolved.items()},
        "seeds": sorted(int(s) for s in frame["seed"].unique()),
        "fractions": sorted(float(f) for f in frame["fraction"].unique()),
        "metrics": list(METRIC_COLUMNS),
        "statistics": list(STATISTIC_COLUMNS),
    }
    registry_text = (
        Path(registry_path).read_text(encoding="utf-8") if registry_path else dump_registry(registry)
    )
    written = write_cache(cache_dir, frame, registry_text, meta, registry_source=registry_path)
    return written, notes

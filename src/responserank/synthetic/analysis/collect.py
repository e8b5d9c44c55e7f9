"""``collect``: gather the per-run result files of each experiment into one cache JSON per dataset config.

Input (runner layout, spec ``synthetic.md`` §4)::

    <experiment>/metadata.json
    <experiment>/trial_<k>/<learner>_frac_<pct>_results.json     {"summary_metrics": {name: {"value", …}}, …}

Output ``<cache_dir>/<config>.json`` (spec §6)::

    {"metadata": <metadata.json>,
     "dataset_metrics": {"test_confusion_matrix": [entry per trial], "test_abs_logit_diff_rt_kendall_tau": [...]},
     "<learner>": {"sizes": {"<str(pct/100)>": {"summary_metrics": {"choice_accuracy": [entry per trial],
                                                                   "pearson_distance_correlation": [...]}}}}}

Entries are copied verbatim (``{"value", "type", "dataset_metric"}``); lists are in trial order (``trial_1``,
``trial_2``, … by number). Dataset metrics are taken once per trial from the alphabetically first learner at the
largest size. Every trial must hold the same (learner, size) set. All experiments are read and checked before
any cache is written.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from responserank.errors import AnalysisError
from responserank.reporting import write_text_atomic
from responserank.synthetic.analysis.find import ABORTED_MARKER, read_json
from responserank.synthetic.analysis.names import DATASET_METRICS, METRICS

_TRIAL_DIR = re.compile(r"trial_(\d+)")
_RESULTS_FILE = re.compile(r"(.+)_frac_(\d+)_results\.json")


def read_paths_file(paths_file: str | os.PathLike) -> dict[str, Path]:
    """``{config: experiment folder}``; relative paths are taken relative to the current folder."""
    path = Path(paths_file)
    mapping = read_json(path, "paths file")
    if not isinstance(mapping, dict) or not mapping:
        raise AnalysisError(f"{path}: expected a non-empty JSON object {{config: experiment folder}}")
    experiments = {}
    for config, folder in mapping.items():
        if not isinstance(folder, str) or not re.fullmatch(r"\w+", config):
            raise AnalysisError(f"{path}: entry {config!r}: expected a config name mapped to a folder path")
        experiments[config] = Path(folder)
    return experiments


def _trial_folders(experiment: Path) -> list[tuple[int, Path]]:
    trials = []
    for child in experiment.iterdir():
        match = _TRIAL_DIR.fullmatch(child.name)
        if match and child.is_dir():
            trials.append((int(match.group(1)), child))
    return sorted(trials)


def _result_files(trial: Path) -> dict[tuple[str, int], Path]:
    """(learner, pct) → results file of one trial folder."""
    files = {}
    for child in trial.iterdir():
        match = _RESULTS_FILE.fullmatch(child.name)
        if match and child.is_file():
            files[(match.group(1), int(match.group(2)))] = child
    return files


def _format_runs(runs) -> str:
    shown = ", ".join(f"{learner}@{pct}%" for learner, pct in sorted(runs)[:5])
    return shown + (f" (+{len(runs) - 5} more)" if len(runs) > 5 else "")


def _summary_metric(results: dict, path: Path, name: str) -> dict:
    entry = results.get(name)
    if not isinstance(entry, dict) or "value" not in entry:
        raise AnalysisError(f"{path}: summary metric {name!r} missing")
    return entry


def _open_experiment(experiment: Path) -> tuple[dict, list[tuple[int, Path]]]:
    """``metadata.json`` and the trial folders of a finished experiment folder."""
    if not experiment.is_dir():
        raise AnalysisError(f"{experiment}: experiment folder does not exist")
    if (experiment / ABORTED_MARKER).exists():
        raise AnalysisError(
            f"{experiment}: run is unfinished or was aborted (ABORTED marker present); finish it with resume=<folder>"
        )
    metadata = read_json(experiment / "metadata.json", "metadata.json")
    if not isinstance(metadata, dict):
        raise AnalysisError(f"{experiment / 'metadata.json'}: expected a JSON object")
    trials = _trial_folders(experiment)
    if not trials:
        raise AnalysisError(f"{experiment}: no trial_<k> folders")
    return metadata, trials


def collect_experiment(experiment: str | os.PathLike) -> dict:
    """Read one experiment folder into the cache structure above (nothing is written)."""
    metadata, trials = _open_experiment(Path(experiment))
    first_number, first_trial = trials[0]
    reference_runs = set(_result_files(first_trial))
    if not reference_runs:
        raise AnalysisError(f"{first_trial}: no <learner>_frac_<pct>_results.json files")
    learners = sorted({learner for learner, _ in reference_runs})
    percents = sorted({pct for _, pct in reference_runs})
    # Dataset metrics come from the alphabetically first learner at the largest size.
    dataset_run = (learners[0], max(pct for learner, pct in reference_runs if learner == learners[0]))

    summary = {
        learner: {
            "sizes": {
                str(pct / 100): {"summary_metrics": {metric: [] for metric in METRICS}}
                for pct in percents
                if (learner, pct) in reference_runs
            }
        }
        for learner in learners
    }
    dataset_metrics = {metric: [] for metric in DATASET_METRICS}
    for _, trial in trials:
        files = _result_files(trial)
        if set(files) != reference_runs:
            parts = (("missing", reference_runs - set(files)), ("extra", set(files) - reference_runs))
            problems = "; ".join(f"{word} {_format_runs(runs)}" for word, runs in parts if runs)
            raise AnalysisError(f"{trial}: (learner, size) runs differ from trial_{first_number}: {problems}")
        for (learner, pct), path in sorted(files.items()):
            results = read_json(path, "results file")
            metrics = results.get("summary_metrics") if isinstance(results, dict) else None
            if not isinstance(metrics, dict):
                raise AnalysisError(f"{path}: no 'summary_metrics' object")
            target = summary[learner]["sizes"][str(pct / 100)]["summary_metrics"]
            for metric in METRICS:
                target[metric].append(_summary_metric(metrics, path, metric))
            if (learner, pct) == dataset_run:
                for metric in DATASET_METRICS:
                    dataset_metrics[metric].append(_summary_metric(metrics, path, metric))
    return {"metadata": metadata, "dataset_metrics": dataset_metrics, **summary}


def add_learners(existing: dict, extra: dict, path: Path) -> dict:
    """``existing`` cache plus the learners of ``extra`` that it lacks (a run of only new learners, e.g. ``ddm``).

    Both must describe the same dataset config, trial count and sizes (the runner's seeds then give both the
    same datasets and initial weights, so the comparison stays paired); learners present in both are refused.
    """
    old_meta, new_meta = existing.get("metadata", {}), extra.get("metadata", {})
    for key in ("dataset", "num_trials", "dataset_sizes"):
        if old_meta.get(key) != new_meta.get(key):
            raise AnalysisError(
                f"{path}: cannot add learners from a run with {key}={new_meta.get(key)!r} "
                f"to a cache with {key}={old_meta.get(key)!r}"
            )
    reserved = {"metadata", "dataset_metrics"}
    new_learners = [key for key in extra if key not in reserved]
    clash = [key for key in new_learners if key in existing]
    if clash:
        raise AnalysisError(f"{path}: learner(s) {', '.join(clash)} already in the cache; nothing was added")
    metadata = dict(old_meta)
    metadata["learners"] = [*old_meta.get("learners", []), *new_meta.get("learners", new_learners)]
    metadata["added_learners"] = [
        *old_meta.get("added_learners", []),
        {"learners": new_learners, "timestamp": new_meta.get("timestamp")},
    ]
    return {**existing, **{key: extra[key] for key in new_learners}, "metadata": metadata}


def collect(
    cache_dir: str | os.PathLike, experiments: dict[str, Path], add_to_existing: bool = False
) -> list[Path]:
    """Collect every experiment, then write ``<cache_dir>/<config>.json`` for each; returns the written paths.

    With ``add_to_existing``, each experiment's learners are added to the existing cache of its config
    (:func:`add_learners`) instead of replacing it.
    """
    caches = {config: collect_experiment(folder) for config, folder in experiments.items()}
    cache_dir = Path(cache_dir)
    if add_to_existing:
        for config in caches:
            path = cache_dir / f"{config}.json"
            if not path.is_file():
                raise AnalysisError(f"{path}: no existing cache to add learners to")
            caches[config] = add_learners(read_json(path, "cache file"), caches[config], path)
    written = []
    for config, cache in caches.items():
        path = cache_dir / f"{config}.json"
        write_text_atomic(path, json.dumps(cache) + "\n")
        written.append(path)
    return written

"""``collect``: export the RL-control runs from two wandb projects into the four CSVs (spec ``rl_control.md`` §2–3).

* PPO runs — display name matching ``^RL_ppo_.*nfeedback_5000`` (MuJoCo project) or ``^RL_.*nfeedback_5000``
  (highway project): the history of ``global_step`` and of the logged return (MuJoCo ``eval/mean_reward``,
  highway ``rollout/ep_rew_mean``), rows with a missing / NaN value dropped.
* Reward-model runs — ``^ppo_.*nfeedback_5000`` in both projects: summary ``val_accuracy`` (left empty, with a
  warning, when the run has none; the original wrote 0.0, which would bias the mean).

Runs whose name contains ``ensemble`` are skipped, as are runs that are not ``finished`` (a crashed PPO run has a
truncated history) and names that do not follow the run-name grammar; each skip is reported. Environment, noise,
variant and seed columns are filled from the run name. Rows are sorted by run name, so the same runs give the
same files. All four files are written together at the end (nothing is written when a query fails).
"""

from __future__ import annotations

import math
import os
import re
import sys
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from responserank.errors import AnalysisError
from responserank.reporting import atomic_directory, refuse_published_cache
from responserank.rl_control.results import (
    PPO_COLUMNS,
    PPO_FILES,
    REWARD_MODEL_COLUMNS,
    REWARD_MODEL_FILES,
    encode_history,
    parse_run_name,
)
from responserank.wandb_api import wandb_errors

PPO_PATTERNS = {"mujoco": r"^RL_ppo_.*nfeedback_5000", "highway": r"^RL_.*nfeedback_5000"}
REWARD_MODEL_PATTERN = r"^ppo_.*nfeedback_5000"
RETURN_KEYS = {"mujoco": "eval/mean_reward", "highway": "rollout/ep_rew_mean"}
STEP_KEY = "global_step"


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _matching_runs(api, path: str, pattern: str, notes: list[str], desc: str) -> list:
    with wandb_errors(f"listing runs of {path}"):
        runs = list(
            tqdm(
                api.runs(path, filters={"display_name": {"$regex": pattern}}),
                desc=desc,
                unit="run",
                file=sys.stderr,
                disable=None,
                leave=False,
            )
        )
    regex = re.compile(pattern)
    kept = []
    for run in runs:
        name = str(run.name)
        if not regex.search(name):
            continue
        if "ensemble" in name:
            continue
        if getattr(run, "state", "finished") != "finished":
            notes.append(f"{path}: skipped {name} (state {run.state})")
            continue
        try:
            parse_run_name(name)
        except ValueError as error:
            notes.append(f"{path}: skipped {error}")
            continue
        kept.append(run)
    return sorted(kept, key=lambda run: (str(run.name), str(run.id)))


def _base_row(run) -> dict:
    parsed = parse_run_name(str(run.name))
    return {
        "run_id": str(run.id),
        "run_name": str(run.name),
        "env": parsed.env,
        "noise": parsed.noise,
        "is_rt": parsed.is_rt,
        "seed": parsed.seed,
    }


def ppo_rows(api, path: str, source: str, notes: list[str]) -> list[dict]:
    return_key = RETURN_KEYS[source]
    rows = []
    runs = _matching_runs(api, path, PPO_PATTERNS[source], notes, f"{source} PPO runs")
    for run in tqdm(runs, desc=f"{source} PPO histories", unit="run", file=sys.stderr, disable=None):
        with wandb_errors(f"reading the history of {run.name} ({path})"):
            history = list(run.scan_history(keys=[STEP_KEY, return_key]))
        steps, returns = [], []
        for record in history:
            step, value = record.get(STEP_KEY), record.get(return_key)
            if _is_number(step) and _is_number(value):
                steps.append(step)
                returns.append(value)
        if not returns:
            notes.append(f"{path}: {run.name} has no '{return_key}' history (kept with an empty history)")
        row = _base_row(run)
        row["global_step_history"] = encode_history(steps)
        row["reward_history"] = encode_history(returns)
        rows.append(row)
    return rows


def reward_model_rows(api, path: str, source: str, notes: list[str]) -> list[dict]:
    rows = []
    for run in _matching_runs(api, path, REWARD_MODEL_PATTERN, notes, f"{source} reward-model runs"):
        with wandb_errors(f"reading the summary of {run.name} ({path})"):
            accuracy = run.summary.get("val_accuracy")
        row = _base_row(run)
        if _is_number(accuracy):
            row["val_accuracy"] = float(accuracy)
        else:
            notes.append(f"{path}: {run.name} has no numeric summary 'val_accuracy' (left empty)")
            row["val_accuracy"] = math.nan
        rows.append(row)
    return rows


def collect(
    cache_dir: str | os.PathLike,
    mujoco_project: str,
    highway_project: str,
    api,
    entity: str | None = None,
    force: bool = False,
) -> tuple[list[Path], list[str]]:
    """Query both projects through ``api`` and write the four CSVs; returns (written paths, notes).

    A ``cache_dir`` holding a published cache (a ``SOURCE.md``, like the repository's ``results/rl_control``) is
    refused unless ``force``.
    """
    refuse_published_cache(cache_dir, force)
    notes: list[str] = []
    projects = {"mujoco": mujoco_project, "highway": highway_project}
    tables: dict[str, pd.DataFrame] = {}
    for source, project in projects.items():
        path = f"{entity}/{project}" if entity else project
        tables[PPO_FILES[source]] = pd.DataFrame(
            ppo_rows(api, path, source, notes), columns=list(PPO_COLUMNS)
        )
        tables[REWARD_MODEL_FILES[source]] = pd.DataFrame(
            reward_model_rows(api, path, source, notes), columns=list(REWARD_MODEL_COLUMNS)
        )
    if tables[PPO_FILES["mujoco"]].empty:
        raise AnalysisError(
            f"wandb project {mujoco_project!r} has no finished PPO run matching {PPO_PATTERNS['mujoco']!r}; "
            "nothing written"
        )
    written = []
    with atomic_directory(cache_dir) as staging:
        for name, table in tables.items():
            table.to_csv(staging / name, index=False)
            written.append(Path(cache_dir) / name)
    return written, notes

"""Result files of the RL-control experiments (spec ``rl_control.md`` §2): four CSVs and the run-name grammar.

The PPO and reward-model runs were made with an external codebase; what this repository keeps of them are four
CSV files in one folder (the "cache")::

    mujoco_runs.csv             (required)  one row per PPO run
    highway_runs.csv            (optional)  same, merge-v0
    mujoco_rew_model_data.csv   (optional)  one row per reward-model run
    highway_rew_model_data.csv  (optional)  same, merge-v0

PPO files: ``run_id, run_name, env, noise, is_rt, seed, global_step_history, reward_history`` with the two
histories as JSON lists of equal length (finite numbers; steps non-negative and non-decreasing). Reward-model files: ``run_id, run_name, env, noise, is_rt, seed,
val_accuracy`` (a fraction in [0, 1]; empty when the run logged none, as ``collect`` notes). Every row must have
the header's field count. Environment, noise, variant and seed are derived from ``run_name``; the columns of the same name
are redundant copies and are ignored when reading. Run names::

    [RL_]ppo_<env>_<seed>_comparative_<seed>[_noise_<level>]_nfeedback_<n>[_rt1.0]

``RL_`` marks PPO runs (reward-model runs lack it); no ``_noise_`` part means noise 0.0; a trailing ``_rt1.0``
(ResponseRank loss weight 1.0) marks the RR reward model, its absence BT.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from responserank.errors import AnalysisError
from responserank.reporting import check_csv_records, check_range

PPO_FILES = {"mujoco": "mujoco_runs.csv", "highway": "highway_runs.csv"}
REWARD_MODEL_FILES = {"mujoco": "mujoco_rew_model_data.csv", "highway": "highway_rew_model_data.csv"}
REQUIRED_FILE = PPO_FILES["mujoco"]

PPO_COLUMNS = ("run_id", "run_name", "env", "noise", "is_rt", "seed", "global_step_history", "reward_history")
REWARD_MODEL_COLUMNS = ("run_id", "run_name", "env", "noise", "is_rt", "seed", "val_accuracy")

VARIANTS = ("BT", "RR")  # is_rt False / True

RUN_NAME = re.compile(
    r"(?P<ppo>RL_)?ppo_(?P<env>[A-Za-z0-9]+-v\d+)_(?P<seed>\d+)_comparative_(?P<feedback_seed>\d+)"
    r"(?:_noise_(?P<noise>\d+(?:\.\d+)?))?_nfeedback_(?P<nfeedback>\d+)(?P<rr>_rt1\.0)?"
)


@dataclass(frozen=True)
class RunName:
    """Parsed run name: environment id, label-noise level, variant ("BT"/"RR"), PPO seed, PPO or reward model."""

    env: str
    noise: float
    variant: str
    seed: int
    is_ppo: bool
    num_feedback: int

    @property
    def is_rt(self) -> bool:
        return self.variant == "RR"


def parse_run_name(name: str) -> RunName:
    """Parse ``[RL_]ppo_<env>_<seed>_comparative_<seed>[_noise_<x>]_nfeedback_<n>[_rt1.0]``.

    Raises ``ValueError`` naming the run when the name does not follow the grammar.
    """
    match = RUN_NAME.fullmatch(str(name))
    if match is None:
        raise ValueError(
            f"run name {name!r} does not follow "
            "'[RL_]ppo_<env>_<seed>_comparative_<seed>[_noise_<level>]_nfeedback_<n>[_rt1.0]'"
        )
    return RunName(
        env=match["env"],
        noise=float(match["noise"]) if match["noise"] is not None else 0.0,
        variant="RR" if match["rr"] else "BT",
        seed=int(match["seed"]),
        is_ppo=match["ppo"] is not None,
        num_feedback=int(match["nfeedback"]),
    )


def _read_csv(path: Path, columns: tuple[str, ...]) -> pd.DataFrame:
    check_csv_records(path)  # a row cut mid-line is an error naming the line, not NaN-padded fields
    try:
        frame = pd.read_csv(path, dtype={"run_id": str, "run_name": str})
    except (OSError, ValueError, pd.errors.ParserError) as error:
        raise AnalysisError(f"{path}: cannot read CSV ({error})") from error
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise AnalysisError(f"{path}: missing column(s) {', '.join(missing)} (expected {', '.join(columns)})")
    return frame


def _names(frame: pd.DataFrame, path: Path, ppo: bool) -> pd.DataFrame:
    """Columns env / noise / variant / seed derived from ``run_name`` (the redundant copies are replaced)."""
    parsed = []
    for row, name in enumerate(frame["run_name"]):
        try:
            parsed.append(parse_run_name(name))
        except ValueError as error:
            raise AnalysisError(f"{path}: row {row + 2}: {error}") from None
    kinds = {p.is_ppo for p in parsed}
    if kinds and kinds != {ppo}:
        expected = "PPO runs ('RL_ppo_…')" if ppo else "reward-model runs ('ppo_…', without 'RL_')"
        raise AnalysisError(f"{path}: expected {expected} only")
    out = frame.copy()
    out["env"] = [p.env for p in parsed]
    out["noise"] = [p.noise for p in parsed]
    out["variant"] = [p.variant for p in parsed]
    out["seed"] = [p.seed for p in parsed]
    return out


def _json_list(text, path: Path, row: int, column: str) -> np.ndarray:
    try:
        values = json.loads(text)
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise AnalysisError(
            f"{path}: row {row + 2}: column {column} is not a JSON list of numbers"
        ) from error
    if array.ndim != 1:
        raise AnalysisError(f"{path}: row {row + 2}: column {column} is not a flat JSON list")
    if not np.isfinite(array).all():
        index = int(np.flatnonzero(~np.isfinite(array))[0])
        raise AnalysisError(
            f"{path}: row {row + 2}: column {column}: entry {index} is {array[index]} (histories must be finite)"
        )
    return array


def read_ppo_runs(path: str | os.PathLike) -> pd.DataFrame:
    """One row per PPO run: run_id, run_name, env, noise, variant, seed, steps (array), returns (array)."""
    path = Path(path)
    frame = _names(_read_csv(path, PPO_COLUMNS), path, ppo=True)
    steps, returns = [], []
    for row, (step_text, reward_text) in enumerate(
        zip(frame["global_step_history"], frame["reward_history"], strict=True)
    ):
        step = _json_list(step_text, path, row, "global_step_history")
        reward = _json_list(reward_text, path, row, "reward_history")
        if step.size and (step.min() < 0 or np.any(np.diff(step) < 0)):
            raise AnalysisError(
                f"{path}: row {row + 2}: global_step_history must be non-negative and non-decreasing "
                "(environment steps)"
            )
        if step.shape != reward.shape:
            raise AnalysisError(
                f"{path}: row {row + 2}: global_step_history and reward_history differ in length "
                f"({step.size} vs {reward.size})"
            )
        steps.append(step)
        returns.append(reward)
    out = frame[["run_id", "run_name", "env", "noise", "variant", "seed"]].copy()
    out["steps"] = steps
    out["returns"] = returns
    return out


def read_reward_model_runs(path: str | os.PathLike) -> pd.DataFrame:
    """One row per reward-model run (the last row of each ``run_id``): run_id, env, noise, variant, seed, val_accuracy."""
    path = Path(path)
    frame = _names(_read_csv(path, REWARD_MODEL_COLUMNS), path, ppo=False)
    accuracy = pd.to_numeric(frame["val_accuracy"], errors="coerce")
    bad = frame["val_accuracy"].notna() & accuracy.isna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise AnalysisError(
            f"{path}: row {row + 2}: val_accuracy {frame['val_accuracy'].iloc[row]!r} is not a number"
        )
    check_range(
        accuracy, path, "val_accuracy", 0.0, 1.0, "an accuracy is a fraction in [0, 1], not a percentage"
    )
    frame = frame.assign(val_accuracy=accuracy)
    frame = frame.drop_duplicates("run_id", keep="last")
    return frame[["run_id", "run_name", "env", "noise", "variant", "seed", "val_accuracy"]].reset_index(
        drop=True
    )


@dataclass
class RLResults:
    """PPO runs and reward-model runs of all environments found in a cache folder."""

    ppo: pd.DataFrame
    reward_models: pd.DataFrame
    files: list[Path]


def read_results(cache_dir: str | os.PathLike) -> RLResults:
    """Read the CSVs of ``cache_dir`` (``mujoco_runs.csv`` required, the other three optional)."""
    cache_dir = Path(cache_dir)
    if not cache_dir.is_dir():
        raise AnalysisError(f"cache folder {cache_dir} does not exist")
    required = cache_dir / REQUIRED_FILE
    if not required.is_file():
        raise AnalysisError(f"{required} not found (the MuJoCo PPO runs are required)")
    files: list[Path] = []
    ppo_frames, model_frames = [], []
    for source in ("mujoco", "highway"):
        ppo_path = cache_dir / PPO_FILES[source]
        if ppo_path.is_file():
            ppo_frames.append(read_ppo_runs(ppo_path))
            files.append(ppo_path)
        model_path = cache_dir / REWARD_MODEL_FILES[source]
        if model_path.is_file():
            model_frames.append(read_reward_model_runs(model_path))
            files.append(model_path)
    ppo = pd.concat(ppo_frames, ignore_index=True)
    if ppo.empty:
        raise AnalysisError(f"{required}: no PPO runs")
    if model_frames:
        models = pd.concat(model_frames, ignore_index=True)
    else:
        models = pd.DataFrame(
            columns=["run_id", "run_name", "env", "noise", "variant", "seed", "val_accuracy"]
        )
    return RLResults(ppo=ppo, reward_models=models, files=files)


def encode_history(values) -> str:
    """JSON list of the values (ints stay ints, floats keep their shortest repr); NaN is not allowed."""
    out = []
    for value in values:
        if isinstance(value, (bool, np.bool_)):
            raise ValueError("history values must be numbers")
        if isinstance(value, (int, np.integer)):
            out.append(int(value))
        else:
            number = float(value)
            if not math.isfinite(number):
                raise ValueError("history values must be finite")
            out.append(number)
    return json.dumps(out)

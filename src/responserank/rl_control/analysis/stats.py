"""Per-cell statistics of the RL-control runs (spec ``rl_control.md`` §3).

A cell is (environment, noise level, variant). Per PPO run: max return = max of its return history, final
return = its last element; runs with an empty history are skipped with a warning. Per cell: mean over seeds,
standard deviation with **ddof 0** (as the paper's RL tables), CI95 half-width = SEM(ddof 1)·t_{0.975, n−1}
(0 for n ≤ 1). Reward-model validation accuracy is summarised the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from responserank.reporting import Summary, summarize
from responserank.rl_control.results import VARIANTS

EXPECTED_SEEDS = 5
RL_DDOF = 0


@dataclass(frozen=True)
class Cell:
    env: str
    noise: float
    variant: str


@dataclass
class RLStatistics:
    """Summaries per cell for "max", "final" return and reward-model "accuracy"; environments and noise levels."""

    envs: list[str]
    noise_levels: dict[str, list[float]]
    summaries: dict[str, dict[Cell, Summary]]
    warnings: list[str]


def per_run_returns(ppo: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Max and final return per PPO run (runs with an empty history dropped, with a warning each)."""
    warnings = []
    keep = np.array([returns.size > 0 for returns in ppo["returns"]], dtype=bool)
    for name in ppo.loc[~keep, "run_name"]:
        warnings.append(f"run {name} has an empty reward history; skipped")
    runs = ppo.loc[keep].copy()
    runs["max"] = [float(np.nanmax(r)) for r in runs["returns"]]
    runs["final"] = [float(r[-1]) for r in runs["returns"]]
    return runs, warnings


def _summaries(frame: pd.DataFrame, column: str) -> dict[Cell, Summary]:
    out = {}
    for (env, noise, variant), group in frame.groupby(["env", "noise", "variant"], sort=True):
        out[Cell(env, float(noise), variant)] = summarize(group[column].to_numpy(), ddof=RL_DDOF)
    return out


def compute_statistics(ppo: pd.DataFrame, reward_models: pd.DataFrame) -> RLStatistics:
    runs, warnings = per_run_returns(ppo)
    summaries = {
        "max": _summaries(runs, "max"),
        "final": _summaries(runs, "final"),
        "accuracy": _summaries(reward_models, "val_accuracy") if len(reward_models) else {},
    }
    envs = sorted(runs["env"].unique())
    noise_levels = {
        env: sorted(float(x) for x in runs.loc[runs["env"] == env, "noise"].unique()) for env in envs
    }
    for env in envs:
        for noise in noise_levels[env]:
            for variant in VARIANTS:
                summary = summaries["max"].get(Cell(env, noise, variant))
                n = 0 if summary is None else summary.n
                if n < EXPECTED_SEEDS:
                    warnings.append(
                        f"{env} noise={noise:g} {variant}: {n} PPO seed(s) (expected {EXPECTED_SEEDS})"
                    )
    return RLStatistics(envs=envs, noise_levels=noise_levels, summaries=summaries, warnings=warnings)


def better_variant(bt: Summary | None, rr: Summary | None) -> str | None:
    """ "RR" if its mean is larger, "BT" if larger or equal (the tables' bold rule), None if a side is missing."""
    if bt is None or rr is None or bt.n == 0 or rr.n == 0:
        return None
    return "RR" if rr.mean > bt.mean else "BT"

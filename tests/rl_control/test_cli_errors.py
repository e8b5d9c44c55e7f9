"""Bad input gives one clear line, exit status 1 and no output folder (RL-control CLI)."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from responserank.rl_control.analysis.cli import main
from responserank.rl_control.results import PPO_COLUMNS, REWARD_MODEL_COLUMNS

NAME = "RL_ppo_Swimmer-v5_12_comparative_12_nfeedback_5000"


def _write_runs(folder, rows):
    folder.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame(rows, columns=list(PPO_COLUMNS))
    frame.to_csv(folder / "mujoco_runs.csv", index=False)


def _row(name=NAME, steps=(1, 2), rewards=(1.0, 2.0)):
    return ["id", name, "x", 0.0, False, 12, json.dumps(list(steps)), json.dumps(list(rewards))]


def _truncated(cache):
    """Issue 11: a CSV cut mid-row (an interrupted copy) was read with NaN-padded fields."""
    _write_runs(cache, [_row(), _row(steps=(1, 2, 3), rewards=(1.0, 2.0, 3.0))])
    path = cache / "mujoco_runs.csv"
    path.write_bytes(path.read_bytes()[:-40])


def _reward_models(cache, accuracy):
    _write_runs(cache, [_row()])
    frame = pd.DataFrame(
        [["m1", NAME.removeprefix("RL_"), "x", 0.0, False, 12, accuracy]], columns=list(REWARD_MODEL_COLUMNS)
    )
    frame.to_csv(cache / "mujoco_rew_model_data.csv", index=False)


def _run(capsys, argv):
    code = main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    return code, err


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda cache: None, "does not exist"),
        (lambda cache: cache.mkdir(), "mujoco_runs.csv not found"),
        (
            lambda cache: (cache.mkdir(), (cache / "mujoco_runs.csv").write_text('run_id,"run_name\n')),
            "cannot read",
        ),
        (lambda cache: _write_runs(cache, [_row(rewards=())]), "differ in length"),
        (lambda cache: _write_runs(cache, [_row(steps=(), rewards=())]), "no PPO run has a non-empty"),
        (lambda cache: _write_runs(cache, [_row(name="RL_ppo_Swimmer_12")]), "does not follow"),
        (_truncated, "mujoco_runs.csv: line 3 has 4 fields but the header has 8"),
        (lambda cache: _write_runs(cache, [_row(rewards=(1.0, float("nan")))]), "entry 1 is nan"),
        (lambda cache: _write_runs(cache, [_row(steps=(2, 1))]), "non-negative and non-decreasing"),
        (
            lambda cache: _reward_models(cache, 87.5),
            "mujoco_rew_model_data.csv: line 2: column 'val_accuracy' = 87.5 is outside [0, 1]",
        ),
    ],
)
def test_generate_bad_cache(tmp_path, capsys, setup, message):
    cache, out = tmp_path / "cache", tmp_path / "out"
    setup(cache)
    code, err = _run(capsys, ["generate", str(cache), str(out)])
    assert code == 1
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0]
    assert not out.exists()
    assert not list(tmp_path.glob(".out.partial*"))


def test_generate_missing_column_names_it(tmp_path, capsys):
    cache = tmp_path / "cache"
    _write_runs(cache, [_row()])
    frame = pd.read_csv(cache / "mujoco_runs.csv").drop(columns=["global_step_history"])
    frame.to_csv(cache / "mujoco_runs.csv", index=False)
    code, err = _run(capsys, ["generate", str(cache), str(tmp_path / "out")])
    assert code == 1 and len(err) == 1 and "global_step_history" in err[0]


def test_module_entry_point_prints_one_line(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "responserank.rl_control.analysis.cli",
            "generate",
            str(tmp_path),
            str(tmp_path / "o"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: {tmp_path / 'mujoco_runs.csv'} not found (the MuJoCo PPO runs are required)"
    ]


def test_usetex_without_latex_is_one_clear_error(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("shutil.which", lambda tool: None)
    _write_runs(tmp_path / "cache", [_row()])
    code, err = _run(capsys, ["generate", str(tmp_path / "cache"), str(tmp_path / "out"), "--usetex"])
    assert code == 1 and len(err) == 1 and "--usetex needs latex" in err[0]
    assert not (tmp_path / "out").exists()

"""Run-name grammar and CSV reading of the RL-control results (spec rl_control.md §2)."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from responserank.errors import AnalysisError
from responserank.rl_control.results import (
    PPO_COLUMNS,
    encode_history,
    parse_run_name,
    read_ppo_runs,
    read_results,
    read_reward_model_runs,
)


def test_parse_examples_from_the_paper_runs():
    ppo = parse_run_name("RL_ppo_Swimmer-v5_1789_comparative_1789_noise_0.25_nfeedback_5000")
    assert (ppo.env, ppo.noise, ppo.variant, ppo.seed, ppo.is_ppo) == ("Swimmer-v5", 0.25, "BT", 1789, True)
    rr = parse_run_name("RL_ppo_merge-v0_1789_comparative_1789_noise_0.5_nfeedback_5000_rt1.0")
    assert (rr.env, rr.noise, rr.variant, rr.is_rt) == ("merge-v0", 0.5, "RR", True)
    model = parse_run_name("ppo_merge-v0_330_comparative_330_nfeedback_5000")
    assert (model.noise, model.variant, model.is_ppo, model.num_feedback) == (0.0, "BT", False, 5000)


@given(
    env=st.from_regex(r"[A-Za-z0-9]{1,12}-v[0-9]{1,2}", fullmatch=True),
    seed=st.integers(0, 10**7),
    noise=st.sampled_from([None, "0.1", "0.25", "0.5", "1"]),
    rr=st.booleans(),
    ppo=st.booleans(),
)
def test_parse_recovers_every_part(env, seed, noise, rr, ppo):
    name = (
        ("RL_" if ppo else "")
        + f"ppo_{env}_{seed}_comparative_{seed}"
        + (f"_noise_{noise}" if noise else "")
        + "_nfeedback_5000"
        + ("_rt1.0" if rr else "")
    )
    parsed = parse_run_name(name)
    assert parsed.env == env
    assert parsed.seed == seed
    assert parsed.noise == (float(noise) if noise else 0.0)
    assert parsed.variant == ("RR" if rr else "BT")
    assert parsed.is_ppo == ppo


@pytest.mark.parametrize(
    "name",
    [
        "RL_ppo_HalfCheetah_12_comparative_12_nfeedback_5000",  # env without version
        "RL_ppo_HalfCheetah-v5_12_comparative_12_nfeedback_5000_rt0.5",  # other RR weight
        "RL_ppo_HalfCheetah-v5_12_comparative_12_noise_high_nfeedback_5000",
        "sac_HalfCheetah-v5_12_comparative_12_nfeedback_5000",
    ],
)
def test_parse_rejects_names_outside_the_grammar(name):
    with pytest.raises(ValueError, match="does not follow"):
        parse_run_name(name)


def _ppo_frame(rows):
    return pd.DataFrame(rows, columns=list(PPO_COLUMNS))


def _ppo_row(name, steps, rewards, run_id="a"):
    parsed = parse_run_name(name)
    return [
        run_id,
        name,
        parsed.env,
        parsed.noise,
        parsed.is_rt,
        parsed.seed,
        json.dumps(steps),
        json.dumps(rewards),
    ]


NAME = "RL_ppo_HalfCheetah-v5_12_comparative_12_nfeedback_5000"


def test_redundant_columns_are_rederived_from_the_run_name(tmp_path):
    row = _ppo_row(NAME, [1, 2], [3.0, 4.0])
    row[2], row[3], row[4] = "Wrong-v1", 0.9, True  # stale copies
    path = tmp_path / "mujoco_runs.csv"
    _ppo_frame([row]).to_csv(path, index=False)
    runs = read_ppo_runs(path)
    assert (runs.loc[0, "env"], runs.loc[0, "noise"], runs.loc[0, "variant"]) == ("HalfCheetah-v5", 0.0, "BT")
    assert runs.loc[0, "returns"].tolist() == [3.0, 4.0]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda f: f.drop(columns=["reward_history"]), "missing column"),
        (lambda f: f.assign(reward_history=["[1.0, oops]"]), "reward_history is not a JSON list"),
        (lambda f: f.assign(reward_history=["[1.0]"]), "differ in length"),
        (lambda f: f.assign(run_name=["ppo_HalfCheetah-v5_12_comparative_12_nfeedback_5000"]), "PPO runs"),
        (lambda f: f.assign(run_name=["my_run"]), "row 2: run name 'my_run'"),
    ],
)
def test_bad_ppo_files_name_the_problem(tmp_path, mutate, message):
    path = tmp_path / "mujoco_runs.csv"
    mutate(_ppo_frame([_ppo_row(NAME, [1, 2], [3.0, 4.0])])).to_csv(path, index=False)
    with pytest.raises(AnalysisError, match=message):
        read_ppo_runs(path)


def test_reward_model_file_keeps_last_row_per_run_id(tmp_path):
    name = "ppo_HalfCheetah-v5_12_comparative_12_nfeedback_5000_rt1.0"
    frame = pd.DataFrame(
        [["x", name, "e", 0, True, 12, 0.5], ["x", name, "e", 0, True, 12, 0.9]],
        columns=["run_id", "run_name", "env", "noise", "is_rt", "seed", "val_accuracy"],
    )
    path = tmp_path / "mujoco_rew_model_data.csv"
    frame.to_csv(path, index=False)
    models = read_reward_model_runs(path)
    assert len(models) == 1 and models.loc[0, "val_accuracy"] == 0.9 and models.loc[0, "variant"] == "RR"


def test_cache_folder_needs_the_mujoco_runs(tmp_path):
    with pytest.raises(AnalysisError, match=r"mujoco_runs\.csv not found"):
        read_results(tmp_path)
    with pytest.raises(AnalysisError, match="does not exist"):
        read_results(tmp_path / "nope")


def test_encode_history_keeps_ints_and_rejects_nan():
    assert encode_history([4096, 8192]) == "[4096, 8192]"
    assert encode_history([10000.0, 1.5]) == "[10000.0, 1.5]"
    with pytest.raises(ValueError):
        encode_history([1.0, float("nan")])

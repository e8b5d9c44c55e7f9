"""``collect`` against a fake wandb API (the code path, not the network), and its one-line wandb errors."""

from __future__ import annotations

import json
import math
import sys

import pandas as pd
import pytest

from responserank.errors import AnalysisError
from responserank.rl_control.analysis import cli
from responserank.rl_control.analysis.collect import collect
from responserank.rl_control.analysis.generate import generate
from responserank.wandb_api import open_api


class FakeRun:
    def __init__(self, run_id, name, history=(), summary=None, state="finished"):
        self.id, self.name, self.state = run_id, name, state
        self._history = list(history)
        self.summary = summary or {}

    def scan_history(self, keys):
        return [row for row in self._history if all(k in row for k in keys)]


class FakeApi:
    def __init__(self, projects):
        self.projects, self.calls = projects, []

    def runs(self, path, filters=None):
        self.calls.append((path, filters))
        return list(self.projects[path])


def _ppo(run_id, env, seed, noise, rr, key, values, steps):
    name = (
        f"RL_ppo_{env}_{seed}_comparative_{seed}" + (f"_noise_{noise}" if noise else "") + "_nfeedback_5000"
    )
    name += "_rt1.0" if rr else ""
    history = [{"global_step": s, key: v} for s, v in zip(steps, values, strict=True)]
    history.append({"global_step": steps[-1] + 1, "other/metric": 1.0})  # row without the return key
    return FakeRun(run_id, name, history)


def _model(run_id, env, seed, noise, rr, accuracy):
    name = f"ppo_{env}_{seed}_comparative_{seed}" + (f"_noise_{noise}" if noise else "") + "_nfeedback_5000"
    name += "_rt1.0" if rr else ""
    return FakeRun(run_id, name, summary={} if accuracy is None else {"val_accuracy": accuracy})


def fake_api():
    mujoco, highway = [], []
    for seed in (1, 2):
        for noise in (None, "0.5"):
            for rr in (False, True):
                tag = f"{seed}{noise}{rr}"
                values = [10.0 * seed + rr, float("nan"), 20.0 * seed + rr]  # NaN row dropped
                mujoco.append(
                    _ppo(
                        f"m{tag}", "Swimmer-v5", seed, noise, rr, "eval/mean_reward", values, [1e4, 2e4, 3e4]
                    )
                )
                highway.append(
                    _ppo(
                        f"h{tag}",
                        "merge-v0",
                        seed,
                        noise,
                        rr,
                        "rollout/ep_rew_mean",
                        [5.0, 6.0 + rr],
                        [4096, 8192],
                    )
                )
                mujoco.append(_model(f"rm{tag}", "Swimmer-v5", seed, noise, rr, 0.9 + 0.01 * rr))
                highway.append(
                    _model(f"rh{tag}", "merge-v0", seed, noise, rr, None if seed == 2 and rr else 0.8)
                )
    mujoco.append(FakeRun("ens", "RL_ppo_Swimmer-v5_1_comparative_1_nfeedback_5000_ensemble", []))
    mujoco.append(FakeRun("crash", "RL_ppo_Swimmer-v5_3_comparative_3_nfeedback_5000", [], state="crashed"))
    mujoco.append(FakeRun("other", "RL_sac_Swimmer-v5", []))
    return FakeApi({"me/mujoco": mujoco, "me/highway": highway})


@pytest.fixture(scope="module")
def collected(tmp_path_factory):
    cache = tmp_path_factory.mktemp("rl_collect") / "cache"
    api = fake_api()
    written, notes = collect(cache, "mujoco", "highway", api, entity="me")
    return cache, api, written, notes


def test_queries_use_the_spec_name_patterns(collected):
    _, api, _, _ = collected
    patterns = [(path, f["display_name"]["$regex"]) for path, f in api.calls]
    assert ("me/mujoco", "^RL_ppo_.*nfeedback_5000") in patterns
    assert ("me/highway", "^RL_.*nfeedback_5000") in patterns
    assert ("me/mujoco", "^ppo_.*nfeedback_5000") in patterns and (
        "me/highway",
        "^ppo_.*nfeedback_5000",
    ) in patterns


def test_writes_the_four_csvs(collected):
    cache, _, written, notes = collected
    assert sorted(p.name for p in written) == sorted(
        ["mujoco_runs.csv", "highway_runs.csv", "mujoco_rew_model_data.csv", "highway_rew_model_data.csv"]
    )
    runs = pd.read_csv(cache / "mujoco_runs.csv")
    assert len(runs) == 8  # ensemble, crashed and off-pattern runs skipped
    assert any("crashed" in n for n in notes)
    row = runs[runs["run_id"] == "m2NoneTrue"].iloc[0]
    assert (row["env"], row["noise"], bool(row["is_rt"]), row["seed"]) == ("Swimmer-v5", 0.0, True, 2)
    assert json.loads(row["global_step_history"]) == [10000.0, 30000.0]
    assert json.loads(row["reward_history"]) == [21.0, 41.0]
    highway = pd.read_csv(cache / "highway_runs.csv")
    assert json.loads(highway["global_step_history"].iloc[0]) == [4096, 8192]  # ints stay ints
    models = pd.read_csv(cache / "highway_rew_model_data.csv")
    missing = models[
        models["run_name"].str.contains("_2_comparative") & models["run_name"].str.endswith("_rt1.0")
    ]
    assert missing["val_accuracy"].isna().all() and len(missing) == 2
    assert any("val_accuracy" in n for n in notes)


def test_generate_reads_what_collect_wrote_deterministically(collected, tmp_path):
    cache, _, _, _ = collected
    first, second = tmp_path / "a", tmp_path / "b"
    written = generate(cache, first)
    assert sorted(generate(cache, second)) == sorted(written)
    for name in written:  # same cache → byte-identical files (PDF and PNG metadata fixed)
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    assert "rl_training_curves_merge-v0.png" in {p.name for p in written}
    summary = (first / "summary.md").read_text()
    # Swimmer, noise 0, max return per seed = 20·seed (+1 for RR): BT 20, 40 → 30.0 ± 10.0 (ddof 0),
    # CI95 = SD(ddof 1)/√2 · t(0.975, 1) = 10 · 12.706 = 127.1
    assert "| Swimmer-v5 | 0 | 30.0 ± 10.0 [± 127.1] | **31.0** ± 10.0 [± 127.1] |" in summary
    assert "2 PPO seed(s) (expected 5)" in summary
    # reward models (columns RR, BT): merge-v0 noise 0 RR has one seed with an empty accuracy → n = 1, CI 0;
    # equal means → BT bold
    assert "| merge-v0 | 0 | 0.800 ± 0.000 [± 0.000] | **0.800** ± 0.000 [± 0.000] |" in summary


class _Boom:
    def __init__(self, error):
        self.error = error

    def runs(self, path, filters=None):
        raise self.error


def test_wandb_failure_becomes_one_clear_error(tmp_path):
    import requests
    import wandb.errors

    for error in (
        wandb.errors.CommError("could not reach api.wandb.ai"),
        requests.ConnectionError("refused"),
    ):
        with pytest.raises(AnalysisError, match="wandb request failed while listing runs of mujoco") as info:
            collect(tmp_path / "cache", "mujoco", "highway", _Boom(error))
        assert "\n" not in str(info.value) and "wandb login" in str(info.value)
    assert not (tmp_path / "cache").exists()


def test_wandb_not_installed(monkeypatch):
    monkeypatch.setitem(sys.modules, "wandb", None)  # import wandb → ImportError
    with pytest.raises(AnalysisError, match="wandb is not installed"):
        open_api()


def test_not_logged_in_through_the_cli(tmp_path, monkeypatch, capsys):
    pytest.importorskip("wandb")
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.netrc
    monkeypatch.setenv("WANDB_CONFIG_DIR", str(tmp_path / "wandb-config"))
    monkeypatch.setenv("NETRC", str(tmp_path / "netrc"))
    argv = ["collect", str(tmp_path / "cache"), "--mujoco-project", "m", "--highway-project", "h"]
    assert cli.main(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: cannot connect to wandb") and "wandb login" in err[0]
    assert not (tmp_path / "cache").exists()


def test_cli_collect_with_a_fake_api(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("responserank.wandb_api.open_api", lambda timeout: fake_api())
    argv = ["collect", str(tmp_path / "c"), "--mujoco-project", "mujoco", "--highway-project", "highway"]
    argv += ["--entity", "me"]
    assert cli.main(argv) == 0
    assert (tmp_path / "c" / "mujoco_runs.csv").is_file()
    assert math.isfinite(pd.read_csv(tmp_path / "c" / "mujoco_rew_model_data.csv")["val_accuracy"].iloc[0])

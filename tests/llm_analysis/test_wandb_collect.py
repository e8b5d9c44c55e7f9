"""LLM ``collect`` from wandb, against a fake API object (the code path, not the network)."""

from __future__ import annotations

import sys

import pandas as pd
import pytest
from llm_analysis.run_records import REGISTRY

from responserank.errors import AnalysisError
from responserank.llm.analysis import cli
from responserank.llm.analysis.collect import collect
from responserank.llm.analysis.registry import load_registry
from responserank.wandb_api import open_api

AGREE = "rtrank_agreement-v10.6-576ce977"
BT = "bt-v10.2-5cb69cea"


class FakeRun:
    def __init__(self, run_id, config, summary, state="finished", group=None, name=None):
        self.id, self.config, self.summary, self.state = run_id, config, summary, state
        self.group = group
        self.name = name or f"{run_id} (final)"


class FakeApi:
    def __init__(self, runs):
        self._runs, self.calls = runs, []

    def runs(self, path, filters=None):
        self.calls.append((path, filters))
        wanted = set(filters["group"]["$in"])
        return [r for r in self._runs if (r.config.get("egid") or r.group) in wanted]


def _summary(accuracy):
    return {
        "eval/accuracy": accuracy,
        "eval/rewardbench/overall/accuracy_score": accuracy + 0.05,
        "eval/rewardbench_v2/overall/accuracy_score": accuracy - 0.2,
        "eval/rewardbench_v2/section/Math_score": 0.4,
        "partitioner/train/non_singleton_fraction": 1.0,
        "packing/avg_fragment_size": 4.58,
        "train_examples": 5785,
        "test_examples": 1443,
    }


def fake_api():
    runs = [
        # nested Hydra config as logged by the trainer
        FakeRun(
            "a1",
            {
                "egid": AGREE,
                "seed": 40,
                "run_name": f"{AGREE}-1.0-40",
                "experiment": {"fraction": 1.0, "name": "rtrank_agreement"},
            },
            _summary(0.75),
        ),
        # flat keys and wandb's {"value": …} wrapping; egid only as the wandb group
        FakeRun("b1", {"seed": {"value": 40}, "experiment.fraction": 1.0}, _summary(0.71), group=BT),
        # seed and fraction only in the run name
        FakeRun("b2", {"run_name": f"{BT}-0.5-41"}, _summary(0.70), group=BT),
        FakeRun("b3", {"egid": BT, "seed": 42, "experiment": {"fraction": 1.0}}, {}, state="crashed"),
        FakeRun("x", {}, _summary(0.5), group=BT),  # no seed / fraction anywhere: skipped
        FakeRun("other", {"egid": "unrelated-v1.0-00000000", "seed": 1, "experiment": {"fraction": 1.0}}, {}),
    ]
    return FakeApi(runs)


@pytest.fixture
def collected(tmp_path):
    api = fake_api()
    written, notes = collect(
        tmp_path / "cache", load_registry(REGISTRY), project="rr-llm", entity="team", api=api
    )
    return tmp_path / "cache", api, written, notes


def test_queries_the_registry_groups(collected):
    _, api, _, _ = collected
    [(path, filters)] = api.calls
    assert path == "team/rr-llm"
    assert AGREE in filters["group"]["$in"] and BT in filters["group"]["$in"]
    assert filters["group"]["$in"] == sorted(filters["group"]["$in"])


def test_maps_config_and_summary_onto_the_cache_columns(collected):
    cache, _, written, notes = collected
    assert [p.name for p in written] == ["runs.csv", "registry.yaml", "meta.json"]
    runs = pd.read_csv(cache / "runs.csv").set_index("run_id")
    assert sorted(runs.index) == ["a1", "b1", "b2", "b3"]
    agree = runs.loc["a1"]
    assert (agree["egid"], agree["seed"], agree["fraction"], agree["experiment_name"]) == (
        AGREE,
        40,
        1.0,
        "rtrank_agreement",
    )
    assert agree["eval_accuracy"] == 0.75 and agree["eval/rewardbench_v1/overall/accuracy_score"] == 0.8
    assert agree["non_singleton_fraction"] == 1.0 and agree["avg_fragment_size"] == 4.58
    assert agree["source"] == "wandb:team/rr-llm" and agree["display_name"] == "a1 (final)"
    assert (runs.loc["b1", "seed"], runs.loc["b1", "fraction"]) == (40, 1.0)
    assert (runs.loc["b2", "seed"], runs.loc["b2", "fraction"]) == (41, 0.5)
    assert runs.loc["b3", "run_state"] == "crashed"
    assert any("skipped 1 run(s) without egid" in n for n in notes)


class _Failing:
    def __init__(self, error):
        self.error = error

    def runs(self, path, filters=None):
        raise self.error


def test_network_errors_become_one_line(tmp_path):
    import requests
    import wandb.errors

    registry = load_registry(REGISTRY)
    for error in (wandb.errors.CommError("502 Bad Gateway\nretrying"), requests.ConnectTimeout("timed out")):
        with pytest.raises(AnalysisError) as info:
            collect(tmp_path / "c", registry, project="rr-llm", api=_Failing(error))
        assert "\n" not in str(info.value) and "querying project rr-llm" in str(info.value)
    assert not (tmp_path / "c").exists()


def test_cli_without_wandb_installed(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "wandb", None)
    assert cli.main(["collect", str(tmp_path / "c"), "--project-name", "rr-llm"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: wandb is not installed (pip install wandb); 'generate' works without it"]
    with pytest.raises(AnalysisError, match="not installed"):
        open_api()


def test_cli_not_logged_in(tmp_path, monkeypatch, capsys):
    pytest.importorskip("wandb")
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("WANDB_CONFIG_DIR", str(tmp_path / "wandb-config"))
    monkeypatch.setenv("NETRC", str(tmp_path / "netrc"))
    assert cli.main(["collect", str(tmp_path / "c"), "--project-name", "rr-llm"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot connect to wandb" in err[0] and "wandb login" in err[0]


def test_cli_collect_with_a_fake_api(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("responserank.wandb_api.open_api", lambda timeout: fake_api())
    cache = tmp_path / "cache"
    assert cli.main(["collect", str(cache), "--project-name", "rr-llm", "--registry", str(REGISTRY)]) == 0
    assert "wrote" in capsys.readouterr().out
    registry = (cache / "registry.yaml").read_text()
    assert f"egid: {AGREE}" in registry and f"egid: {BT}" in registry

"""The paper's LLM and RL-control caches ship in results/, with their source, and collect cannot overwrite them."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from helpers import REPO_ROOT

from responserank.errors import AnalysisError
from responserank.llm.analysis import cli as llm_cli
from responserank.llm.analysis.collect import collect as llm_collect
from responserank.llm.analysis.registry import load_registry
from responserank.reporting import refuse_published_cache
from responserank.resources import llm_registry_path
from responserank.rl_control.analysis import cli as rl_cli
from responserank.rl_control.analysis.collect import collect as rl_collect

CACHES = {
    "llm": {"runs.csv", "registry.yaml", "meta.json", "SOURCE.md"},
    "rl_control": {
        "mujoco_runs.csv",
        "highway_runs.csv",
        "mujoco_rew_model_data.csv",
        "highway_rew_model_data.csv",
        "SOURCE.md",
        "README.md",
    },
}


@pytest.mark.parametrize("family", list(CACHES))
def test_committed_caches_name_their_source_and_hold_no_pickle(family):
    folder = REPO_ROOT / "results" / family
    assert {p.name for p in folder.iterdir()} == CACHES[family]
    source = (folder / "SOURCE.md").read_text()
    for needed in (
        "ResponseRank: Data-Efficient Reward Modeling",
        "NeurIPS 2025",
        "timokau/response-rank",
        "MIT",
        "Copyright (c) 2024 Timo Kaufmann",
    ):
        assert needed in source, needed
    for path in folder.iterdir():
        assert not path.read_bytes().startswith(b"\x80"), f"{path} looks like a pickle"


def test_llm_cache_rows_are_complete():
    runs = pd.read_csv(REPO_ROOT / "results" / "llm" / "runs.csv")
    assert len(runs) == 3324
    finished = runs[runs["run_state"] == "finished"]
    assert finished["eval_accuracy"].between(0, 1).all()
    assert not finished[["egid", "seed", "fraction"]].isna().any().any()
    meta = json.loads((REPO_ROOT / "results" / "llm" / "meta.json").read_text())
    assert "experiments" in meta


def test_our_registry_extends_the_papers_with_the_same_egids():
    ours = load_registry(llm_registry_path())
    paper = load_registry(REPO_ROOT / "results" / "llm" / "registry.yaml")
    assert {k: e.egid for k, e in paper.items()} == {k: ours[k].egid for k in paper}


def test_refuse_published_cache(tmp_path):
    refuse_published_cache(tmp_path)  # no SOURCE.md: fine
    (tmp_path / "SOURCE.md").write_text("paper")
    with pytest.raises(AnalysisError, match=r"published cache .* or pass --force"):
        refuse_published_cache(tmp_path)
    refuse_published_cache(tmp_path, force=True)


@pytest.fixture
def published_copy(tmp_path):
    """A copy of the committed LLM cache (the test never writes into the repository)."""
    folder = tmp_path / "llm"
    folder.mkdir()
    for name in CACHES["llm"]:
        (folder / name).write_bytes((REPO_ROOT / "results" / "llm" / name).read_bytes())
    return folder


def test_llm_collect_leaves_a_published_cache_alone(published_copy, run_store, capsys):
    before = {p.name: p.read_bytes() for p in published_copy.iterdir()}
    code = llm_cli.main(["collect", str(published_copy), "--runs-dir", str(run_store)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1 and "--force" in err[0]
    assert {p.name: p.read_bytes() for p in published_copy.iterdir()} == before
    with pytest.raises(AnalysisError, match="published cache"):
        llm_collect(published_copy, load_registry(llm_registry_path()), runs_dir=run_store)

    assert llm_cli.main(["collect", str(published_copy), "--runs-dir", str(run_store), "--force"]) == 0
    assert (published_copy / "runs.csv").read_bytes() != before["runs.csv"]
    assert (published_copy / "SOURCE.md").read_bytes() == before["SOURCE.md"]


def test_rl_collect_refuses_before_touching_wandb(tmp_path, capsys):
    (tmp_path / "SOURCE.md").write_text("paper")
    code = rl_cli.main(["collect", str(tmp_path), "--mujoco-project", "a", "--highway-project", "b"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1 and "published cache" in err[0]
    with pytest.raises(AnalysisError, match="published cache"):
        rl_collect(tmp_path, "a", "b", api=None)

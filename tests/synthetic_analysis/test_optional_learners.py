"""An optional learner (``ddm``) in the caches: collected, loaded, drawn and tabulated next to the six; a run of
only the new learner can be added to existing caches (``collect --add-to-existing``)."""

from __future__ import annotations

import json

import pytest

from responserank.errors import AnalysisError
from responserank.synthetic.analysis.cache import load_cache
from responserank.synthetic.analysis.cli import main
from responserank.synthetic.analysis.collect import collect
from responserank.synthetic.analysis.names import LEARNERS


def test_generate_handles_the_ddm_learner(tmp_path, make_cache, capsys):
    cache_dir = tmp_path / "results"
    path = make_cache(cache_dir, "stochastic", num_trials=3, learners=(*LEARNERS, "ddm"))
    assert load_cache(path).learners == [*LEARNERS, "ddm"]
    assert main(["generate", str(cache_dir), str(tmp_path / "figures")]) == 0, capsys.readouterr().err
    summary = (tmp_path / "figures" / "summary.md").read_text()
    assert "DDM" in summary
    assert "DDM" in (tmp_path / "figures" / "choice_accuracy_table_with_variability.tex").read_text()


def test_caches_without_the_optional_learner_still_load(tmp_path, make_cache):
    path = make_cache(tmp_path / "results", "stochastic", num_trials=2)
    assert load_cache(path).learners == list(LEARNERS)


def test_a_ddm_only_run_is_added_to_the_existing_cache(tmp_path, make_experiment, capsys):
    cache_dir = tmp_path / "results"
    six = make_experiment(tmp_path / "runs", "stochastic", num_trials=3, seed=1)
    collect(cache_dir, {"stochastic": six})
    before = json.loads((cache_dir / "stochastic.json").read_text())
    ddm_only = make_experiment(
        tmp_path / "runs_ddm",
        "stochastic",
        num_trials=3,
        learners=("ddm",),
        seed=2,
        timestamp="2026-01-01 00:00:00",
    )
    (tmp_path / "paths.json").write_text(json.dumps({"stochastic": str(ddm_only)}))
    code = main(
        ["collect", str(cache_dir), "--paths-file", str(tmp_path / "paths.json"), "--add-to-existing"]
    )
    assert code == 0, capsys.readouterr().err
    after = json.loads((cache_dir / "stochastic.json").read_text())
    assert {k: after[k] for k in before if k != "metadata"} == {
        k: before[k] for k in before if k != "metadata"
    }
    assert after["metadata"]["learners"] == [*LEARNERS, "ddm"]
    assert after["metadata"]["added_learners"] == [{"learners": ["ddm"], "timestamp": "2026-01-01 00:00:00"}]
    assert load_cache(cache_dir / "stochastic.json").learners == [*LEARNERS, "ddm"]
    # adding it twice, or from a run with another trial count, is refused and leaves the cache alone
    with pytest.raises(AnalysisError, match="already in the cache"):
        collect(cache_dir, {"stochastic": ddm_only}, add_to_existing=True)
    other = make_experiment(tmp_path / "runs_other", "stochastic", num_trials=2, learners=("ddm",))
    with pytest.raises(AnalysisError, match="num_trials"):
        collect(cache_dir, {"stochastic": other}, add_to_existing=True)
    assert json.loads((cache_dir / "stochastic.json").read_text()) == after

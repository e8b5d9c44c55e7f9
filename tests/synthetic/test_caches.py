"""The committed caches ``results/synthetic/<config>.json`` and the reproduction report tool."""

from __future__ import annotations

import json

import pytest
from helpers import REPO_ROOT, shared_path

from responserank.synthetic.reproduction import CONFIGS, LEARNERS, WITH_VARIABILITY, Cache, crossing, main

CACHE_DIR = REPO_ROOT / "results" / "synthetic"
SIZES = [0.5, 0.6, 0.7, 0.8, 0.9, 1.0]


@pytest.mark.parametrize("config", CONFIGS)
def test_committed_cache_has_the_spec_format(config):
    cache = json.loads((CACHE_DIR / f"{config}.json").read_text())
    # the six paper learners, plus the DDM learner added later with `collect --add-to-existing`
    optional = [key for key in ("ddm",) if key in cache]
    assert set(cache) == {"metadata", "dataset_metrics", *LEARNERS, *optional}
    assert cache["metadata"]["num_trials"] == 100
    assert cache["metadata"]["learners"] == [*LEARNERS, *optional]
    assert cache["metadata"]["dataset_sizes"] == SIZES
    assert set(cache["dataset_metrics"]) == {"test_confusion_matrix", "test_abs_logit_diff_rt_kendall_tau"}
    assert len(cache["dataset_metrics"]["test_confusion_matrix"]) == 100
    for learner in [*LEARNERS, *optional]:
        assert sorted(cache[learner]["sizes"], key=float) == [str(s) for s in SIZES]
        for block in cache[learner]["sizes"].values():
            entries = block["summary_metrics"]["choice_accuracy"]
            assert len(entries) == 100
            assert entries[0]["type"] == "scalar" and entries[0]["dataset_metric"] is False


def test_committed_cache_matches_the_papers_cache_layout():
    reference = json.loads((shared_path("reference-results", "synthetic") / "stochastic.json").read_text())
    ours = json.loads((CACHE_DIR / "stochastic.json").read_text())
    # our caches may also hold the DDM learner, and then record when it was added
    assert set(ours) - {"ddm"} == set(reference)
    assert set(ours["metadata"]) - {"added_learners"} == set(reference["metadata"])
    for name in ("test_confusion_matrix", "test_abs_logit_diff_rt_kendall_tau"):
        assert set(ours["dataset_metrics"][name][0]) == set(reference["dataset_metrics"][name][0])
        assert ours["dataset_metrics"][name][0]["type"] == reference["dataset_metrics"][name][0]["type"]
    assert set(ours["rr"]["sizes"]) == set(reference["rr"]["sizes"])


@pytest.mark.parametrize("config", WITH_VARIABILITY)
@pytest.mark.parametrize("metric", ["acc", "pdc"])
def test_fidelity_with_variability_rr_beats_bt_at_every_size(config, metric):
    cache = Cache(CACHE_DIR / f"{config}.json")
    rr, bt = cache.means("rr", metric), cache.means("bt", metric)
    assert all(rr[size] > bt[size] for size in SIZES)


def test_crossing_reproduces_the_spec_numbers_on_the_papers_caches():
    reference = shared_path("reference-results", "synthetic")
    expected = {
        "deterministic_all": 61.2,
        "stochastic": 60.8,
        "drift_diffusion": 82.6,
        "drift_diffusion_no_variability": 75.9,
    }
    for config, point in expected.items():
        _, crossing_size = crossing(Cache(reference / f"{config}.json"), "acc")
        assert crossing_size == pytest.approx(point, abs=0.05)
    assert crossing(Cache(reference / "deterministic_all.json"), "pdc")[1] == pytest.approx(59.7, abs=0.05)


def test_reproduction_cli_prints_markdown_and_fails_in_one_line(capsys, tmp_path):
    assert main([str(CACHE_DIR)]) == 0
    out = capsys.readouterr().out
    assert "| Det | ResponseRank |" in out and "RR > BT at every size" in out
    assert main([str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("reproduction: error:") and len(err.strip().splitlines()) == 1

"""``collect --runs-dir`` on hand-made run records, then ``generate`` on the resulting cache."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from llm_analysis.run_records import LOCAL_EGIDS, PAPER_BT_EP2_EGID, REGISTRY, SEEDS, accuracy_of, record

from responserank.llm.analysis.cli import main
from responserank.llm.analysis.names import CACHE_COLUMNS
from responserank.llm.analysis.run_store import write_run_record


@pytest.fixture(scope="module")
def cache(run_store, tmp_path_factory):
    cache = tmp_path_factory.mktemp("collect") / "results" / "llm"
    assert main(["collect", str(cache), "--runs-dir", str(run_store), "--registry", str(REGISTRY)]) == 0
    return cache


@pytest.fixture(scope="module")
def figures(cache, tmp_path_factory):
    out = tmp_path_factory.mktemp("generate")
    assert main(["generate", str(cache), str(out / "a")]) == 0
    assert main(["generate", str(cache), str(out / "b")]) == 0
    return out / "a", out / "b"


def test_cache_layout_is_the_reference_layout(cache):
    assert sorted(p.name for p in cache.iterdir()) == ["meta.json", "registry.yaml", "runs.csv"]
    runs = pd.read_csv(cache / "runs.csv")
    assert list(runs.columns) == list(CACHE_COLUMNS)
    # 6 bt + 6 rr_agree + 3 spread2 + 3 bt_ep2 + the failed bt run; dry run and unregistered preset left out
    assert len(runs) == 19
    assert set(runs["run_state"]) == {"finished", "failed"}
    assert not runs["egid"].str.startswith("dry-").any() and "foo" not in set(runs["preset"])
    assert (runs["source"] == "local").all()
    row = runs[
        (runs["egid"] == LOCAL_EGIDS["rr_agree"]) & (runs["seed"] == 41) & (runs["fraction"] == 1.0)
    ].iloc[0]
    assert row["eval_accuracy"] == pytest.approx(
        accuracy_of("rr_agree", 41, 1.0)
    )  # renamed from eval/accuracy
    assert row["non_singleton_fraction"] == 0.5 and row["avg_fragment_size"] == 4.5
    assert row["run_id"] == "2025-01-01/rr_agree-1.0-41"  # folder of the record below --runs-dir


def test_registry_is_copied_and_meta_records_the_resolution(cache):
    assert (cache / "registry.yaml").read_bytes() == REGISTRY.read_bytes()
    meta = json.loads((cache / "meta.json").read_text())
    assert meta["format"] == "responserank.llm.cache/1"
    assert meta["resolved_egids"] == {
        "bt": LOCAL_EGIDS["bt"],
        "bt_ep2": PAPER_BT_EP2_EGID,  # matched by its (paper) egid
        "rr_agree": LOCAL_EGIDS["rr_agree"],
        "rr_agree_spread2": LOCAL_EGIDS["rr_agree_spread2"],
    }
    assert meta["counts"]["finished_by_experiment"] == {
        "bt": 6,
        "bt_ep2": 3,
        "rr_agree": 6,
        "rr_agree_spread2": 3,
    }
    assert meta["seeds"] == [40, 41, 42, 43] and meta["fractions"] == [0.5, 1.0]
    assert not meta["sources"][0]["runs_dir"].startswith("/work")


def test_collect_into_the_folder_of_its_registry_leaves_the_registry_alone(run_store, tmp_path):
    folder = tmp_path / "results" / "llm"
    folder.mkdir(parents=True)
    registry = folder / "registry.yaml"
    registry.write_bytes(REGISTRY.read_bytes())
    before = registry.stat().st_mtime_ns
    assert main(["collect", str(folder), "--runs-dir", str(run_store), "--registry", str(registry)]) == 0
    assert registry.read_bytes() == REGISTRY.read_bytes() and registry.stat().st_mtime_ns == before
    assert len(pd.read_csv(folder / "runs.csv")) == 19


def test_generate_outputs_and_numbers(figures):
    out, _ = figures
    names = {p.name for p in out.iterdir()}
    assert {"multipref_datasize.pdf", "multipref_datasize_rb.png", "stats.tex", "summary.md"} <= names
    assert "multipref_rewardbench_v2_table_part2.tex" in names
    assert {"responserank_size_ablation_bar.pdf", "responserank_size_ablation_bar.png"} <= names
    assert "hyperparam_lr_sensitivity_bar.png" not in names  # only the defaults exist: skipped
    summary = (out / "summary.md").read_text()
    bt = np.array([accuracy_of("bt", s, 1.0) for s in SEEDS]) * 100
    rr = np.array([accuracy_of("rr_agree", s, 1.0) for s in SEEDS]) * 100
    assert f"| BT | {np.mean([accuracy_of('bt', s, 0.5) for s in SEEDS]) * 100:.1f} ± 0.2 |" in summary
    assert f"{bt.mean():.1f} ± {bt.std(ddof=1):.1f} |" in summary
    assert f"**{rr.mean():.1f}** ± {rr.std(ddof=1):.1f} |" in summary
    assert "hyperparam_lr_sensitivity_bar: skipped" in summary
    assert "fewer than 30 seeds" in summary
    stats = (out / "stats.tex").read_text()
    diff = rr - bt
    assert f"\\newcommand{{\\agreeMultiprefMeanDiff}}{{{diff.mean():+.1f}}}" in stats
    assert f"\\newcommand{{\\agreeMultiprefMeanD}}{{{diff.mean() / diff.std(ddof=1):.2f}}}" in stats
    assert "\\newcommand{\\agreeMultiprefMeanP}{\\ensuremath{<}0.001}" in stats
    assert "\\newcommand{\\fragSizeAgreeSpreadTwo}{2.00}" in stats
    assert "\\newcommand{\\singletonFracAgree}{50.0}" in stats
    assert "% skipped: stated (bt vs rr_stated)" in stats


def test_same_cache_gives_byte_identical_files(figures):
    first, second = figures
    names = sorted(p.name for p in first.iterdir())
    assert names == sorted(p.name for p in second.iterdir())
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_failed_runs_are_kept_in_the_cache_but_not_used(cache, figures):
    out, _ = figures
    # BT at 100 % has seeds 40–42 finished and seed 43 failed (no metrics): n = 3
    assert "| `bt` | BT | 3 |" in (out / "summary.md").read_text()


def test_ambiguous_local_configurations_need_a_pinned_egid(tmp_path, capsys):
    store = tmp_path / "store"
    for egid in ("rr_agree-v10.7-11111111", "rr_agree-v10.7-22222222"):
        write_run_record(store / egid, record("rr_agree", egid, 40, 1.0))
    argv = ["collect", str(tmp_path / "cache"), "--runs-dir", str(store), "--registry", str(REGISTRY)]
    assert main(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "2 different configurations" in err[0] and "pin one" in err[0]
    assert not (tmp_path / "cache").exists()
    pinned = tmp_path / "registry.yaml"
    pinned.write_text("experiments:\n  rr_agree: {egid: rr_agree-v10.7-22222222, display_name: RR-Agree}\n")
    assert main([*argv[:-1], str(pinned)]) == 0
    runs = pd.read_csv(tmp_path / "cache" / "runs.csv")
    assert set(runs["egid"]) == {"rr_agree-v10.7-22222222"}


def test_seed_filter_and_empty_store(run_store, tmp_path, capsys):
    cache = tmp_path / "cache"
    argv = [
        "collect",
        str(cache),
        "--runs-dir",
        str(run_store),
        "--registry",
        str(REGISTRY),
        "--seed-filter",
        "41",
    ]
    assert main(argv) == 0
    assert set(pd.read_csv(cache / "runs.csv")["seed"]) == {41}
    (tmp_path / "empty").mkdir()
    capsys.readouterr()
    assert main(["collect", str(tmp_path / "c2"), "--runs-dir", str(tmp_path / "empty")]) == 1
    assert capsys.readouterr().err.strip() == f"error: no run_record.json below {tmp_path / 'empty'}"
    assert main(["collect", str(tmp_path / "c3")]) == 1
    assert "nothing to collect" in capsys.readouterr().err

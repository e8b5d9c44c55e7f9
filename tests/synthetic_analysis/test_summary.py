"""``summary``: the BT vs ResponseRank table that ends run_full_mini.sh."""

from __future__ import annotations

import os

import numpy as np
from helpers import REPO_ROOT

from responserank.synthetic.analysis.cache import load_caches
from responserank.synthetic.analysis.cli import main

CACHES = REPO_ROOT / "results" / "synthetic"


def test_summary_prints_bt_and_rr_at_full_data(capsys):
    assert main(["summary", str(CACHES)]) == 0
    out = capsys.readouterr().out
    caches = load_caches(CACHES)
    for config, results in caches.items():
        row = next(line for line in out.splitlines() if f" {config} " in line)
        full = int(np.flatnonzero(np.isclose(results.sizes, 1.0))[0])
        for metric in ("choice_accuracy", "pearson_distance_correlation"):
            for learner in ("bt", "rr"):
                assert f"{np.nanmean(results.metrics[metric][learner][full]):.3f} ±" in row, (config, metric)
    assert "BT vs ResponseRank at 100%" in out


def test_summary_at_a_missing_size_is_one_line(capsys):
    assert main(["summary", str(CACHES), "--size", "0.33"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no runs at size 0.33" in err[0]


def test_run_full_mini_ends_with_the_table_and_the_figures_folder():
    script = (REPO_ROOT / "run_full_mini.sh").read_text()
    order = [script.index(f" {step} ") for step in ("find", "collect", "generate", "summary")]
    assert order == sorted(order)
    assert "hydra.run.dir=$MINI_DIR/runs/$dataset" in script and "results/synthetic" not in script
    assert script.rstrip().splitlines()[-1].startswith('echo "figures: $MINI_DIR/figures')
    assert os.access(REPO_ROOT / "run_full_mini.sh", os.X_OK)

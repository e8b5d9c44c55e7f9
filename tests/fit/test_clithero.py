"""The real Clithero (2018) snack-choice data (the local copy in ../shared, through path=; skipped when absent)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pandas as pd
import pytest
import scipy.stats
from helpers import REPO_ROOT, shared_path

from responserank.fitting import fit


@pytest.fixture(scope="module")
def data():
    return shared_path("data", "clithero", "ClitheroDataset.csv")


@pytest.fixture(scope="module")
def example():
    spec = importlib.util.spec_from_file_location(
        "clithero_snacks", REPO_ROOT / "examples" / "clithero_snacks.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_example_runs_end_to_end_on_three_subjects(data, example, tmp_path):
    out = tmp_path / "clithero"
    status = example.main(
        [str(data), "--out", str(out), "--subjects", "3", "--repeats", "2", "--fractions", "0.5", "1.0",
         "--methods", "responserank"]
    )  # fmt: skip
    assert status == 0
    per_subject = pd.read_csv(out / "per_subject.csv")
    assert set(per_subject["subject"]) == {601, 602, 603}
    assert len(per_subject) == 2 * 2 * 2 * 3  # methods × fractions × repeats × subjects
    half = per_subject[per_subject["train_fraction"] == 0.5]
    assert half["n_train"].eq(68).all() and half["accuracy"].between(0.5, 1).all()
    assert per_subject.loc[per_subject["train_fraction"] == 1.0, "accuracy"].isna().all()  # nothing held out
    assert per_subject["spearman_pyes"].between(-1, 1).all() and per_subject["pdc_pyes"].notna().all()
    summary = pd.read_csv(out / "summary.csv")
    assert set(summary["method"]) == {"bt", "responserank"} and summary["subjects"].eq(3).all()
    paired = pd.read_csv(out / "paired.csv")
    assert {"p_wilcoxon", "p_ttest", "mean_difference"} <= set(paired.columns)
    assert (out / "clithero.png").read_bytes()[:4] == b"\x89PNG"
    table = (out / "summary.md").read_text()
    assert "| 50% |" in table and "| 100% | – | – | – |" in table


def test_pooled_bt_utilities_track_mean_p_yes(data):
    frame = pd.read_csv(data, index_col=0)
    result = fit(
        frame, query="YesNo == 0", item_a="Item_l", item_b="Item_r", choice="choice", a_chosen_value=1,
        strength="rt", stratum="subj", methods=["bt"], folds=2, train_fractions=[1.0], seed=0,
    )  # fmt: skip
    assert result.comparisons.num_comparisons == 31 * 136 and result.comparisons.num_items == 17
    p_yes = frame[frame["YesNo"] == 1].groupby("Item")["response"].mean()
    p_yes.index = p_yes.index.astype(int).astype(str)
    bt = result.utilities[result.utilities["method"] == "bt"].set_index("item")["utility"]
    rho = scipy.stats.spearmanr(bt, p_yes.loc[bt.index]).statistic
    assert rho > 0.8
    assert np.isfinite(result.metrics["heldout_accuracy"]).all()


def test_example_without_a_file_argument_uses_the_dataset_loader(data, example, tmp_path, monkeypatch):
    """No path: the data come from responserank.datasets (here pointed at the local copy, no network)."""
    monkeypatch.setenv("RESPONSERANK_CLITHERO", str(data))
    monkeypatch.setenv(
        "RESPONSERANK_CLITHERO_PARAMS", str(data.with_name("Clithero_subjectIdx_2_params.csv"))
    )
    out = tmp_path / "clithero"
    status = example.main(
        [
            "--out",
            str(out),
            "--subjects",
            "2",
            "--repeats",
            "1",
            "--fractions",
            "1.0",
            "--methods",
            "responserank",
        ]
    )
    assert status == 0
    per_subject = pd.read_csv(out / "per_subject.csv")
    assert set(per_subject["subject"]) == {601, 602} and per_subject["spearman_drift"].notna().all()

"""``generate`` on hand-made caches: outputs, determinism, bad input, atomic output, fixed defects."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from responserank.errors import AnalysisError
from responserank.synthetic.analysis import figures, generate
from responserank.synthetic.analysis.cache import DatasetResults, load_cache
from responserank.synthetic.analysis.cli import main
from responserank.synthetic.analysis.statistics import paired_comparison, rr_vs_bt
from responserank.synthetic.analysis.tables import statistical_table_markdown

STOCHASTIC_OUTPUTS = {
    "combined_metrics_boxplot_with_variability",
    "metrics_vs_datasize_combined_with_variability",
    "test_abs_logit_diff_rt_kendall_tau_combined_histograms_with_variability",
    "stochastic_confusion_matrix",
}
STOCHASTIC_TEXT = {
    "choice_accuracy_table_with_variability.tex",
    "pearson_distance_correlation_table_with_variability.tex",
    "statistical_table_with_variability.tex",
    "vars_with_variability.tex",
    "summary.md",
}


def run_cli(capsys, *args) -> tuple[int, str]:
    code = main([str(a) for a in args])
    return code, capsys.readouterr().err


def assert_one_line_error(code: int, err: str, *fragments: str) -> None:
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


@pytest.fixture(scope="module")
def stochastic_cache(tmp_path_factory, make_cache) -> Path:
    """A 4-trial, two-size stochastic cache (the shape of a mini run)."""
    cache_dir = tmp_path_factory.mktemp("mini") / "results"
    make_cache(cache_dir, "stochastic", num_trials=4, seed=1)
    return cache_dir


def test_generate_writes_every_output_and_is_byte_deterministic(stochastic_cache, tmp_path, capsys):
    """Byte-identical across processes (a second process with another hash seed runs the documented command)."""
    first, second = tmp_path / "a", tmp_path / "b"
    code, err = run_cli(capsys, "generate", stochastic_cache, first)
    assert code == 0, err
    subprocess.run(
        [
            sys.executable,
            "-m",
            "responserank.synthetic.analysis.cli",
            "generate",
            str(stochastic_cache),
            str(second),
        ],
        env={**os.environ, "PYTHONHASHSEED": "12345"},
        check=True,
        capture_output=True,
    )

    names = {p.name for p in first.iterdir()}
    expected = {f"{stem}.{ext}" for stem in STOCHASTIC_OUTPUTS for ext in ("pdf", "png")} | STOCHASTIC_TEXT
    assert names == expected
    for name in sorted(names):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    assert (first / "combined_metrics_boxplot_with_variability.pdf").read_bytes().startswith(b"%PDF")
    assert (first / "stochastic_confusion_matrix.png").read_bytes().startswith(b"\x89PNG")
    # No staging folders left beside the output.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b"]

    summary = (first / "summary.md").read_text()
    for link in re.findall(r"\]\(([^)]+)\)", summary):
        assert (first / link).is_file(), link
    assert "\\newcommand{\\numTrials}{4}" in (first / "vars_with_variability.tex").read_text()
    table = (first / "choice_accuracy_table_with_variability.tex").read_text()
    assert table.count("\\textbf{") == 2  # one best learner per size (50 %, 100 %)
    assert "50\\% & 100\\%" in table


def test_generate_failure_leaves_no_output(stochastic_cache, tmp_path, monkeypatch, capsys):
    """An error while drawing leaves neither the output folder nor a staging folder behind."""

    def broken(datasets):
        raise AnalysisError("simulated failure while drawing")

    monkeypatch.setattr(figures, "kendall_tau_histograms", broken)
    out = tmp_path / "figures"
    code, err = run_cli(capsys, "generate", stochastic_cache, out)
    assert_one_line_error(code, err, "simulated failure")
    assert list(tmp_path.iterdir()) == []


def test_generate_failure_keeps_previous_output(stochastic_cache, tmp_path, capsys):
    out = tmp_path / "figures"
    out.mkdir()
    (out / "summary.md").write_text("previous run")
    (stochastic_cache.parent / "broken").mkdir(exist_ok=True)
    broken = stochastic_cache.parent / "broken"
    (broken / "stochastic.json").write_text("{")
    code, err = run_cli(capsys, "generate", broken, out)
    assert code == 1, err
    assert [p.name for p in out.iterdir()] == ["summary.md"]
    assert (out / "summary.md").read_text() == "previous run"


def _corrupt(cache: dict, problem: str) -> tuple[dict | str, str]:
    """Return the damaged cache (or raw text) and the expected message fragment."""
    if problem == "corrupt_json":
        return json.dumps(cache)[:-40], "corrupt cache file"
    if problem == "missing_learner":
        del cache["rr_pooled"]
        return cache, "missing learner(s) rr_pooled"
    if problem == "missing_size":
        del cache["rr"]["sizes"]["0.5"]
        return cache, "learner 'rr': missing size(s) 0.5"
    if problem == "extra_size":
        cache["bt"]["sizes"]["0.7"] = cache["bt"]["sizes"]["0.5"]
        return cache, "learner 'bt': unexpected size(s) 0.7"
    if problem == "missing_metric":
        del cache["bt"]["sizes"]["1.0"]["summary_metrics"]["pearson_distance_correlation"]
        return cache, "bt @ size 1.0: 'pearson_distance_correlation' missing"
    if problem == "fewer_trials":
        cache["rr_perm"]["sizes"]["1.0"]["summary_metrics"]["choice_accuracy"].pop()
        return cache, "rr_perm @ size 1.0: 'choice_accuracy' has 3 trials"
    if problem == "non_numeric":
        cache["rr"]["sizes"]["0.5"]["summary_metrics"]["choice_accuracy"][2]["value"] = "high"
        return cache, "expected a number, got 'high'"
    if problem == "missing_dataset_metric":
        del cache["dataset_metrics"]["test_confusion_matrix"]
        return cache, "dataset metric 'test_confusion_matrix' missing"
    raise ValueError(problem)


@pytest.mark.parametrize(
    "problem",
    [
        "corrupt_json",
        "missing_learner",
        "missing_size",
        "extra_size",
        "missing_metric",
        "fewer_trials",
        "non_numeric",
        "missing_dataset_metric",
    ],
)
def test_generate_bad_cache_names_file_and_writes_nothing(stochastic_cache, tmp_path, capsys, problem):
    cache_dir = tmp_path / "cache"
    cache_dir.mkdir()
    shutil.copy(stochastic_cache / "stochastic.json", cache_dir / "deterministic_all.json")
    cache = json.loads((stochastic_cache / "stochastic.json").read_text())
    damaged, expected = _corrupt(cache, problem)
    bad_file = cache_dir / "stochastic.json"
    bad_file.write_text(damaged if isinstance(damaged, str) else json.dumps(damaged))
    out = tmp_path / "figures"

    code, err = run_cli(capsys, "generate", cache_dir, out)

    assert_one_line_error(code, err, str(bad_file), expected)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache"]


@pytest.mark.parametrize("case", ["missing", "empty", "only_paths_file", "not_a_folder"])
def test_generate_missing_or_empty_cache_folder(tmp_path, capsys, case):
    cache_dir = tmp_path / "cache"
    if case != "missing":
        cache_dir.mkdir()
    if case == "only_paths_file":
        (cache_dir / "experiment_paths.json").write_text("{}")
    out = tmp_path / "figures"
    if case == "not_a_folder":
        out.write_text("")
        (cache_dir / "stochastic.json").write_text("{}")
    code, err = run_cli(capsys, "generate", cache_dir, out)
    expected = {
        "missing": "cache folder does not exist",
        "empty": "no cache files",
        "only_paths_file": "no cache files",
        "not_a_folder": "is not a folder",
    }[case]
    assert_one_line_error(code, err, expected)
    assert not out.is_dir()


def test_triplet_with_different_sizes_is_an_error(tmp_path, capsys, make_cache):
    cache_dir = tmp_path / "cache"
    make_cache(cache_dir, "stochastic", num_trials=2, percents=(50, 100))
    make_cache(cache_dir, "drift_diffusion", num_trials=2, percents=(50, 75, 100))
    code, err = run_cli(capsys, "generate", cache_dir, tmp_path / "figures")
    assert_one_line_error(code, err, "drift_diffusion.json", "training sizes")
    assert not (tmp_path / "figures").exists()


def test_usetex_without_latex_is_a_clear_error(stochastic_cache, tmp_path, capsys):
    if all(shutil.which(tool) for tool in ("latex", "dvipng", "gs")):
        pytest.skip("LaTeX is installed here; the error path cannot be reached")
    code, err = run_cli(capsys, "generate", stochastic_cache, tmp_path / "figures", "--usetex")
    assert_one_line_error(code, err, "--usetex needs")
    assert not (tmp_path / "figures").exists()


def test_usetex_renders_when_latex_is_installed(stochastic_cache, tmp_path, capsys):
    if not all(shutil.which(tool) for tool in ("latex", "dvipng", "gs")):
        pytest.skip("LaTeX (latex, dvipng, ghostscript) not installed")
    code, err = run_cli(capsys, "generate", stochastic_cache, tmp_path / "figures", "--usetex")
    assert code == 0, err
    assert (tmp_path / "figures" / "metrics_vs_datasize_combined_with_variability.pdf").is_file()


# ------------------------------------------------------------------------- statistics and fixed defects


def _results(metric_values: dict[str, np.ndarray], confusion=None, sizes=(0.5, 1.0)) -> DatasetResults:
    """DatasetResults with the same values for accuracy and PDC (learner → [sizes, trials])."""
    num_trials = next(iter(metric_values.values())).shape[1]
    return DatasetResults(
        config="stochastic",
        display_name="Stochastic",
        path=Path("stochastic.json"),
        sizes=np.array(sizes),
        metrics={m: metric_values for m in ("choice_accuracy", "pearson_distance_correlation")},
        kendall_tau=np.full(num_trials, 0.5),
        confusion=np.array(confusion if confusion is not None else [[[1, 0], [0, 1]]] * num_trials),
    )


def test_pdc_improvement_gets_an_up_arrow():
    """The original treated only accuracy as higher-is-better; a PDC gain must show ↑ as well."""
    rng = np.random.default_rng(0)
    base = rng.uniform(0.2, 0.4, size=(2, 30))
    learners = ("bt", "rt_regression", "rt_regression_perm", "rr", "rr_pooled", "rr_perm")
    values = {learner: base + 0.01 * k for k, learner in enumerate(learners)}
    values["rr"] = base + 0.3
    table = statistical_table_markdown([_results(values)])
    pdc_rows = [row for row in table.splitlines() if "ResponseRank vs BT" in row]
    assert len(pdc_rows) == 2  # accuracy and PDC
    assert all("| ↑ |" in row for row in pdc_rows), pdc_rows
    worse = [row for row in table.splitlines() if "RtRegression vs BT" in row]
    assert all("| ↑ |" in row for row in worse)  # rt_regression = bt + 0.01
    values["rt_regression"] = base - 0.1
    table = statistical_table_markdown([_results(values)])
    assert all("| ↓ |" in row for row in table.splitlines() if "RtRegression vs BT" in row)


def test_confusion_matrix_labels_match_cells():
    """Index 1 of the cache is option 1; the figure must show option 1 first on both axes."""
    # Cache layout: row = 1[u1 > u2], column = y. True option 1 & chosen option 1 = [1][1] = 40.
    confusion = [[[30, 5], [7, 40]]]
    fig = figures.confusion_matrix_figure(_results({"bt": np.zeros((2, 1))}, confusion=confusion))
    ax = fig.axes[0]
    cells = {}
    for text in ax.texts:
        x, y = text.get_position()
        cells[(round(y), round(x))] = int(text.get_text().split("\n")[0])
    labels_x = [t.get_text() for t in ax.get_xticklabels()]
    labels_y = [t.get_text() for t in ax.get_yticklabels()]
    assert labels_x == labels_y == ["Option 1", "Option 2"]
    assert ax.get_xlabel() == "Chosen Option" and ax.get_ylabel() == "True Preference"
    # (row = true preference, column = chosen), option 1 first.
    assert cells == {(0, 0): 40, (0, 1): 7, (1, 0): 5, (1, 1): 30}


def test_rr_vs_bt_crossing_and_difference():
    bt = np.array([[0.70, 0.70], [0.76, 0.76]])  # BT mean 0.76 at 100 %
    rr = np.array([[0.74, 0.74], [0.80, 0.80]])  # reaches 0.76 a third of the way from 50 % to 100 %
    values = {learner: bt for learner in ("rt_regression", "rt_regression_perm", "rr_pooled", "rr_perm")}
    result = rr_vs_bt(_results({**values, "bt": bt, "rr": rr}), "choice_accuracy")
    assert result.crossing == pytest.approx(50 + 50 / 3)
    assert result.difference == pytest.approx(0.04)
    never = rr_vs_bt(_results({**values, "bt": bt, "rr": bt - 0.1}), "choice_accuracy")
    assert never.crossing is None


paired_samples = st.lists(
    st.tuples(st.floats(0, 1, allow_nan=False), st.floats(0, 1, allow_nan=False)), min_size=3, max_size=40
)


@settings(max_examples=40, deadline=None)
@given(paired_samples)
def test_paired_comparison_is_antisymmetric(pairs):
    a, b = np.array(pairs).T
    forward, backward = paired_comparison(a, b, "f"), paired_comparison(b, a, "b")
    assert forward.n == backward.n == len(pairs)
    assert forward.mean_difference == pytest.approx(-backward.mean_difference, abs=1e-12)
    if math.isnan(forward.p_value):
        assert np.all(a == b) and math.isnan(backward.p_value)
    else:
        assert forward.p_value == pytest.approx(backward.p_value)
        assert 0 <= forward.p_value <= 1
    if not math.isnan(forward.effect_size):
        assert np.sign(forward.effect_size) == np.sign(forward.mean_difference)
        assert forward.model2_better == (forward.mean_difference > 0 if forward.mean_difference else None)


def test_paired_comparison_drops_nan_pairs():
    a = np.array([0.1, 0.2, np.nan, 0.4, 0.5])
    b = np.array([0.3, 0.1, 0.5, np.nan, 0.8])
    result = paired_comparison(a, b, "x")
    assert result.n == 3  # pairs 0, 1, 4 (2 and 3 have a NaN)
    assert result.mean_difference == pytest.approx(np.mean([0.2, -0.1, 0.3]))


def test_paired_comparison_of_unequal_lengths_names_both():
    with pytest.raises(AnalysisError, match=r"RR vs BT: paired samples differ in length \(6 and 5 values\)"):
        paired_comparison(np.zeros(6), np.zeros(5), "RR vs BT")


@pytest.mark.parametrize(
    "path_in_cache, value, expected",
    [
        (("rr", "0.5", "pearson_distance_correlation", 1), None, "rr @ size 0.5: 'pearson_distance_correlation' trial 2: value is null"),
        (("bt", "1.0", "choice_accuracy", 0), float("nan"), "bt @ size 1.0: 'choice_accuracy' trial 1: value is nan"),
        (("rr", "1.0", "choice_accuracy", 3), 75.0, "rr @ size 1.0: 'choice_accuracy' trial 4: value 75 is outside [0, 1] (an accuracy is a fraction"),
        (("rr_perm", "0.5", "pearson_distance_correlation", 0), -1.5, "value -1.5 is outside [-1, 1] (a correlation"),
    ],
)  # fmt: skip
def test_null_nan_and_out_of_range_values_are_errors_naming_learner_size_and_trial(
    stochastic_cache, tmp_path, capsys, path_in_cache, value, expected
):
    """Issue 11: a null was dropped (a cell averaged 1 of the 2 trials its header claimed); 75.0 was shown as
    the best accuracy ("319.7 ± 1356.1")."""
    cache = json.loads((stochastic_cache / "stochastic.json").read_text())
    learner, size, metric, trial = path_in_cache
    assert size in cache[learner]["sizes"], sorted(cache[learner]["sizes"])
    cache[learner]["sizes"][size]["summary_metrics"][metric][trial]["value"] = value
    cache_dir = tmp_path / "cache"
    cache_dir.mkdir()
    (cache_dir / "stochastic.json").write_text(json.dumps(cache))
    with pytest.raises(AnalysisError, match=re.escape(expected)):
        load_cache(cache_dir / "stochastic.json")
    code, err = run_cli(capsys, "generate", cache_dir, tmp_path / "figures")
    assert_one_line_error(code, err, "stochastic.json", expected)
    assert not (tmp_path / "figures").exists()


@pytest.mark.parametrize(
    "name, value, expected",
    [
        ("test_abs_logit_diff_rt_kendall_tau", None, "value is null"),
        ("test_abs_logit_diff_rt_kendall_tau", 2.0, "outside [-1, 1]"),
        ("test_confusion_matrix", -3, "outside [0, inf]"),
    ],
)
def test_dataset_metrics_are_checked_too(stochastic_cache, tmp_path, name, value, expected):
    cache = json.loads((stochastic_cache / "stochastic.json").read_text())
    entry = cache["dataset_metrics"][name][1]
    if name == "test_confusion_matrix":
        entry["value"][0][1] = value
    elif isinstance(entry["value"], dict):
        entry["value"]["x"] = value
    else:
        entry["value"] = value
    path = tmp_path / "stochastic.json"
    path.write_text(json.dumps(cache))
    with pytest.raises(AnalysisError, match=re.escape(expected)):
        load_cache(path)


def test_confusion_file_names():
    assert generate.confusion_stem("drift_diffusion") == "ddm"
    assert generate.confusion_stem("deterministic_all_no_variability") == "deterministic_no_variability"
    assert generate.confusion_stem("stochastic") == "stochastic"

"""Statistical reproduction mode: t intervals, Welch tests, bootstrap crossings, summaries, claims and the CLI."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import scipy.stats
from helpers import REPO_ROOT, shared_path
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from responserank.errors import AnalysisError
from responserank.reporting import crossing_point, crossing_points, summarize
from responserank.synthetic.analysis import reproduction_stats as stats
from responserank.synthetic.analysis.cache import load_caches
from responserank.synthetic.analysis.names import LEARNERS
from responserank.synthetic.reproduction import main

finite = st.floats(-10, 10, allow_nan=False, allow_infinity=False)
sample = st.lists(finite, min_size=2, max_size=40).filter(lambda v: np.ptp(v) > 1e-3)


# ---- t interval and Welch test --------------------------------------------------------------------------------


@given(sample)
def test_t_half_width_matches_summarize(values):
    x = np.array(values)
    expected = summarize(x)
    assert stats.t_half_width(x.std(ddof=1), x.size) == pytest.approx(expected.ci95, rel=1e-12)


def test_t_half_width_known_value_and_small_n():
    # n = 4, sd = 2: t_{0.975, 3} = 3.182446…, half width = 3.182446 · 2 / 2.
    assert stats.t_half_width(2.0, 4) == pytest.approx(3.182446305284263)
    assert math.isnan(stats.t_half_width(1.0, 1))


def test_welch_known_values():
    # Means 1 vs 0, SD 1, n 2 each: SE = 1, df = 2, t = 1, p = 2·(1 − F_t2(1)) = 0.42265, CI = 1 ± 4.302653.
    result = stats.welch_test(1.0, 1.0, 2, 0.0, 1.0, 2)
    assert float(result.statistic) == pytest.approx(1.0)
    assert float(result.df) == pytest.approx(2.0)
    assert float(result.p_value) == pytest.approx(0.4226497308103742)
    assert float(result.ci_low) == pytest.approx(1 - 4.302652729749464)
    assert float(result.ci_high) == pytest.approx(1 + 4.302652729749464)


@given(sample, sample)
def test_welch_from_summaries_equals_scipy_on_the_raw_samples(a, b):
    a, b = np.array(a), np.array(b)
    result = stats.welch_test(a.mean(), a.std(ddof=1), a.size, b.mean(), b.std(ddof=1), b.size)
    reference = scipy.stats.ttest_ind(a, b, equal_var=False)
    interval = reference.confidence_interval(0.95)
    assert float(result.statistic) == pytest.approx(reference.statistic, rel=1e-9, abs=1e-9)
    assert float(result.p_value) == pytest.approx(reference.pvalue, rel=1e-7, abs=1e-12)
    assert float(result.df) == pytest.approx(reference.df, rel=1e-9)
    assert float(result.ci_low) == pytest.approx(interval.low, rel=1e-9, abs=1e-9)
    assert float(result.ci_high) == pytest.approx(interval.high, rel=1e-9, abs=1e-9)


def test_welch_is_vectorised_and_nan_without_spread():
    result = stats.welch_test(
        [1.0, 2.0, 3.0], [1.0, 1.0, 0.0], [10, 10, 10], [0.0, 0.0, 3.0], [1.0, 1.0, 0.0], 10
    )
    assert result.difference.tolist() == [1.0, 2.0, 0.0]
    assert result.p_value[1] < result.p_value[0] < 0.05
    assert np.isnan(result.p_value[2]) and np.isnan(result.ci_low[2])  # both SDs 0: nothing to test


# ---- crossing points and their bootstrap ----------------------------------------------------------------------


curves = arrays(np.float64, st.tuples(st.integers(1, 5), st.just(4)), elements=st.floats(0, 1))


@given(curves, arrays(np.float64, 5, elements=st.floats(0, 1)))
def test_vectorised_crossing_points_agree_with_the_scalar_rule(means, thresholds):
    thresholds = thresholds[: means.shape[0]]
    sizes = [50.0, 60.0, 80.0, 100.0]
    points = crossing_points(sizes, means, thresholds)
    for row, threshold, point in zip(means, thresholds, points, strict=True):
        expected = crossing_point(sizes, row, threshold)
        assert (expected is None and np.isnan(point)) or point == expected


def _linear_trials(num_trials: int, noise: float, seed: int = 1):
    """BT: 0.70 → 0.80 over 50 … 100 %; RR: 0.75 → 0.85, so RR reaches 0.80 at exactly 75 %."""
    sizes = np.array([50.0, 60.0, 70.0, 80.0, 90.0, 100.0])
    rng = np.random.default_rng(seed)
    bt_mean = 0.70 + 0.10 * (sizes - 50) / 50
    rr_mean = bt_mean + 0.05
    bt = bt_mean[:, None] + noise * rng.standard_normal((6, num_trials))
    rr = rr_mean[:, None] + noise * rng.standard_normal((6, num_trials))
    return sizes, bt, rr


def test_bootstrap_without_noise_collapses_to_the_exact_crossing():
    sizes, bt, rr = _linear_trials(20, noise=0.0)
    estimate = stats.bootstrap_crossing(sizes, bt, rr, resamples=200, seed=3)
    assert estimate.point == pytest.approx(75.0)
    assert estimate.ci_low == pytest.approx(75.0) and estimate.ci_high == pytest.approx(75.0)
    assert estimate.never_fraction == 0.0


def test_bootstrap_is_seeded_and_covers_the_true_crossing():
    sizes, bt, rr = _linear_trials(400, noise=0.05)
    first = stats.bootstrap_crossing(sizes, bt, rr, resamples=500, seed=7)
    assert first == stats.bootstrap_crossing(sizes, bt, rr, resamples=500, seed=7)
    assert first != stats.bootstrap_crossing(sizes, bt, rr, resamples=500, seed=8)
    assert first.ci_low < 75.0 < first.ci_high
    assert first.ci_low <= first.point <= first.ci_high
    assert first.ci_high - first.ci_low < 10  # 400 trials pin the crossing to a few percent


def test_bootstrap_of_a_curve_that_never_crosses_is_never():
    sizes, bt, rr = _linear_trials(30, noise=0.01)
    estimate = stats.bootstrap_crossing(sizes, bt, rr - 0.2, resamples=100, seed=0)
    assert math.isnan(estimate.point) and estimate.never_fraction == 1.0 and math.isinf(estimate.ci_high)


def test_bootstrap_means_ignore_nan_trials():
    values = np.array([[1.0, np.nan, 3.0]])
    weights = np.array([[1.0, 1.0, 1.0], [0.0, 3.0, 0.0], [2.0, 0.0, 1.0]])
    means = stats.bootstrap_means(values, weights)
    assert means[0, 0] == 2.0 and np.isnan(means[1, 0]) and means[2, 0] == pytest.approx(5 / 3)


def test_bootstrap_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="shape"):
        stats.bootstrap_crossing([50, 100], np.zeros((2, 3)), np.zeros((2, 4)))


# ---- summaries from caches, JSON round trip and validation ----------------------------------------------------


@pytest.fixture
def caches_dir(tmp_path, make_cache):
    cache_dir = tmp_path / "caches"
    for seed, config in enumerate(("deterministic_all", "stochastic", "drift_diffusion")):
        make_cache(cache_dir, config, num_trials=12, percents=(50, 75, 100), seed=seed)
    return cache_dir


def test_summary_cells_are_the_per_size_statistics_of_the_cache(caches_dir):
    caches = load_caches(caches_dir)
    summary = stats.summarize_results(caches, resamples=50, seed=0)
    assert len(summary.cells) == 3 * 6 * 2 * 3 and len(summary.crossings) == 3 * 2
    values = caches["stochastic"].metrics["choice_accuracy"]["rr"][1]  # size 0.75
    row = summary.cells.query("config == 'stochastic' and learner == 'rr' and size == 0.75")
    row = row[row["metric"] == "choice_accuracy"].iloc[0]
    assert (row["n"], row["mean"], row["sd"]) == (
        12,
        pytest.approx(values.mean(), abs=1e-6),  # stored with 6 decimals
        pytest.approx(values.std(ddof=1), abs=1e-6),
    )
    assert row["ci95"] == pytest.approx(summarize(values).ci95, abs=2e-6)
    assert summary.num_trials == "12"


def test_summary_round_trips_through_json(caches_dir, tmp_path):
    summary = stats.summarize_results(load_caches(caches_dir), resamples=50, seed=0)
    path = stats.save_summary(summary, tmp_path / "summary.json")
    loaded = stats.load_summary(path)
    pd.testing.assert_frame_equal(
        loaded.cells, summary.cells, check_exact=False, atol=1e-6, check_dtype=False
    )
    pd.testing.assert_frame_equal(loaded.crossings, summary.crossings, check_exact=False, atol=1e-4)
    assert loaded.metadata["bootstrap_resamples"] == 50


def test_merge_takes_each_config_from_the_first_source_that_has_it(caches_dir):
    whole = stats.summarize_results(load_caches(caches_dir), resamples=20, seed=0, source="whole")
    is_det = whole.cells["config"] == "deterministic_all"
    first = stats.ReproductionSummary(
        whole.cells[is_det].assign(mean=whole.cells[is_det]["mean"] / 2),
        whole.crossings[whole.crossings["config"] == "deterministic_all"],
        {"source": "first", "num_trials": {"deterministic_all": 12}},
    )
    merged = stats.merge_summaries([first, whole])
    assert len(merged.cells) == len(whole.cells) and len(merged.crossings) == len(whole.crossings)
    det = merged.cells[merged.cells["config"] == "deterministic_all"]
    np.testing.assert_allclose(det["mean"], whole.cells[is_det]["mean"] / 2)
    stoch = merged.cells[merged.cells["config"] == "stochastic"]
    np.testing.assert_allclose(stoch["mean"], whole.cells[whole.cells["config"] == "stochastic"]["mean"])
    assert merged.metadata["source"] == "first + whole"


def _corrupt(path, tmp_path, edit):
    document = json.loads(path.read_text())
    edit(document)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(document))
    return bad


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d["cells"][0].update(mean=1.5), "outside the metric's range"),
        (lambda d: d["cells"][0].update(mean=None), "mean must be a finite number"),
        (lambda d: d["cells"][0].update(n=0), "n must be a positive integer"),
        (lambda d: d["cells"][0].update(ci95=0.5), "ci95 does not match"),
        (lambda d: d["cells"][0].update(learner="svm"), "unknown learner"),
        (lambda d: d["cells"][0].pop("sd"), "missing field"),
        (lambda d: d["cells"][0].update(sd="wide"), "sd must be a number"),
        (lambda d: d["cells"].append(dict(d["cells"][0])), "duplicate cell"),
        (lambda d: d["cells"].pop(0), "all six learners"),
        (lambda d: d["crossings"][0].update(ci_low=99.0), "ci_low <= ci_high"),
        (lambda d: d.update(format="other"), "not a reproduction summary"),
    ],
)
def test_corrupt_summaries_fail_in_one_line(caches_dir, tmp_path, edit, message):
    summary = stats.summarize_results(load_caches(caches_dir), resamples=20, seed=0)
    path = stats.save_summary(summary, tmp_path / "summary.json")
    with pytest.raises(AnalysisError, match=message) as error:
        stats.load_summary(_corrupt(path, tmp_path, edit))
    assert "\n" not in str(error.value)


# ---- claims ---------------------------------------------------------------------------------------------------


def _summary_with(rr_shift: float, sd: float = 0.05, n: int = 1000) -> stats.ReproductionSummary:
    """Det only: BT at 0.70…0.80, RR = BT + rr_shift, the others 0.1 below BT."""
    rows = []
    for metric in ("choice_accuracy", "pearson_distance_correlation"):
        for size in (0.5, 0.75, 1.0):
            bt = 0.70 + 0.2 * (size - 0.5)
            means = {learner: bt - 0.1 for learner in LEARNERS} | {"bt": bt, "rr": bt + rr_shift}
            for learner, mean in means.items():
                rows.append(
                    ("deterministic_all", learner, metric, size, n, mean, sd, stats.t_half_width(sd, n))
                )
    cells = pd.DataFrame(rows, columns=list(stats.CELL_COLUMNS))
    return stats.ReproductionSummary(cells, pd.DataFrame(columns=list(stats.CROSSING_COLUMNS)))


@pytest.mark.parametrize(("shift", "verdict"), [(0.05, "holds"), (-0.05, "fails"), (0.002, "inconclusive")])
def test_rr_beats_bt_verdicts(shift, verdict):
    found = {(c.claim, c.metric): c for c in stats.claims(_summary_with(shift))}
    claim = found[("RR > BT at every size", "choice_accuracy")]
    assert claim.verdict == verdict, claim.evidence
    assert (
        found[
            ("RR-Pool, both permutation controls and RtRegression below BT at every size", "choice_accuracy")
        ].verdict
        == "holds"
    )


# ---- the CLI --------------------------------------------------------------------------------------------------


def test_statistical_mode_on_caches_and_on_its_own_summary_prints_the_same_report(
    caches_dir, tmp_path, capsys
):
    summary_path = tmp_path / "ours.json"
    args = ["--bootstrap-resamples", "100", "--bootstrap-seed", "5"]
    assert main(["--statistical", str(caches_dir), "--save-summary", str(summary_path), *args]) == 0
    from_caches = capsys.readouterr().out
    assert "| Stoch | ResponseRank | 75 % |" not in from_caches  # the paper has no 75 % size: inner join
    assert "| Stoch | ResponseRank | 50 % |" in from_caches
    assert "RR > BT at every size" in from_caches and "bootstrap" in from_caches
    assert main(["--statistical", str(summary_path)]) == 0
    from_summary = capsys.readouterr().out
    strip = lambda text: text.split("\n", 1)[1]  # noqa: E731 (the first line names the source)
    assert strip(from_summary) == strip(from_caches)


def test_statistical_mode_errors_are_one_line(tmp_path, capsys):
    assert main(["--statistical", str(tmp_path)]) == 1
    assert main(["--statistical"]) == 1
    assert main(["--statistical", "--run", "1"]) == 1
    for line in capsys.readouterr().err.strip().splitlines():
        assert line.startswith("error:")


def test_quick_report_prints_markdown_and_fails_in_one_line(capsys, tmp_path):
    assert main([str(REPO_ROOT / "results" / "synthetic")]) == 0
    out = capsys.readouterr().out
    assert "| Det | ResponseRank-Pool |" in out and "RR > BT at every size" in out
    assert main([str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error:") and len(err.strip().splitlines()) == 1


@pytest.mark.slow
def test_statistical_mode_runs_a_tiny_experiment(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    overrides = ["dataset_sizes=[0.5,1.0]", "show_progress=false", "execution_backend.num_processes=1"]
    overrides += [f"learners.{learner}.num_epochs=3" for learner in LEARNERS]
    argv = ["--statistical", "--run", "3", "--configs", "stochastic", "--runs-dir", "runs"]
    argv += [arg for override in overrides for arg in ("--override", override)]
    assert main([*argv, "--save-summary", "ours.json", "--bootstrap-resamples", "20"]) == 0
    assert (tmp_path / "runs" / "stochastic" / "trial_3").is_dir()
    summary = stats.load_summary(tmp_path / "ours.json")
    assert set(summary.cells["config"]) == {"stochastic"} and summary.num_trials == "3"
    assert "| Stoch | BT | 100 % |" in capsys.readouterr().out


# ---- the shipped paper summary --------------------------------------------------------------------------------


def test_shipped_paper_summary_has_the_spec_numbers():
    paper = stats.paper_summary()
    cells = paper.cells.set_index(["config", "learner", "metric", "size"])
    assert cells.loc[("deterministic_all", "bt", "choice_accuracy", 0.5), "mean"] == pytest.approx(
        0.708, abs=5e-4
    )
    assert cells.loc[("stochastic", "rr", "choice_accuracy", 1.0), "mean"] == pytest.approx(0.808, abs=5e-4)
    assert (paper.cells["n"] == 100).all() and len(paper.cells) == 432
    crossings = paper.crossings.set_index(["config", "metric"])
    assert crossings.loc[("deterministic_all", "choice_accuracy"), "point"] == pytest.approx(61.2, abs=0.05)
    assert crossings.loc[("drift_diffusion", "choice_accuracy"), "point"] == pytest.approx(82.6, abs=0.05)


def test_shipped_paper_summary_is_derived_from_the_papers_caches():
    reference = shared_path("reference-results", "synthetic")
    shipped = stats.paper_summary()
    derived = stats.summarize_results(
        load_caches(reference),
        resamples=shipped.metadata["bootstrap_resamples"],
        seed=shipped.metadata["bootstrap_seed"],
    )
    pd.testing.assert_frame_equal(
        shipped.cells, derived.cells, check_exact=False, atol=1e-6, check_dtype=False
    )
    pd.testing.assert_frame_equal(shipped.crossings, derived.crossings, check_exact=False, atol=1e-4)


def test_committed_reproduction_summary_has_1000_trials_per_config_and_no_failed_claim():
    summary = stats.load_summary(REPO_ROOT / "results" / "synthetic" / "reproduction_summary.json")
    trials = summary.cells.groupby("config")["n"].agg(["min", "max"])
    assert set(trials.index) == set(stats.SHORT_DATASET)
    assert (trials["min"] == 1000).all() and (trials["max"] == 1000).all()
    verdicts = [claim.verdict for claim in stats.claims(summary)]
    assert len(verdicts) == 42 and "fails" not in verdicts

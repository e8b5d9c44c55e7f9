"""``generate`` on the paper's own caches (``../shared/reference-results/synthetic``) against spec §7.

Skipped when ``../shared`` is absent. One ``generate`` run (module fixture, ≈12 s) feeds every check.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from helpers import shared_path

from responserank.synthetic.analysis.cache import load_caches
from responserank.synthetic.analysis.cli import main
from responserank.synthetic.analysis.statistics import comparisons, rr_vs_bt, size_summaries

SUFFIXES = ("with_variability", "no_variability")
TITLES = {"Det": "Deterministic", "Stoch": "Stochastic", "DDM": "Drift Diffusion"}
CONFIGS = {
    "Det": "deterministic_all",
    "Stoch": "stochastic",
    "DDM": "drift_diffusion",
    "Det-NoVar": "deterministic_all_no_variability",
    "Stoch-NoVar": "stochastic_no_variability",
    "DDM-NoVar": "drift_diffusion_no_variability",
}

# Spec §7: BT and RR means at 50 … 100 %.
MEANS = {
    ("Det", "choice_accuracy"): (".708 .733 .742 .757 .774 .777", ".752 .775 .789 .805 .814 .821"),
    ("Det", "pearson_distance_correlation"): (
        ".341 .393 .436 .475 .515 .535",
        ".475 .537 .582 .617 .648 .669",
    ),
    ("Stoch", "choice_accuracy"): (".716 .730 .739 .753 .758 .769", ".749 .768 .783 .791 .800 .808"),
    ("DDM", "pearson_distance_correlation"): (
        ".330 .377 .416 .444 .470 .504",
        ".380 .419 .471 .515 .533 .562",
    ),
    ("Stoch-NoVar", "choice_accuracy"): (
        ".701 .711 .727 .739 .751 .760",
        ".743 .760 .778 .791 .800 .807",
    ),
    ("DDM-NoVar", "pearson_distance_correlation"): (
        ".309 .361 .402 .443 .468 .498",
        ".374 .419 .469 .504 .538 .556",
    ),
}
# Spec §7: crossing (acc, PDC) in %, Wilcoxon p (acc, PDC) and effect sizes (acc, PDC) of RR vs BT.
EFFICIENCY = {
    "Det": ((61.2, 59.7), (2e-68, 4e-83), (0.78, 0.87)),
    "Stoch": ((60.8, 58.6), (1e-67, 2e-86), (0.75, 0.91)),
    "DDM": ((82.6, 77.4), (9e-12, 9e-24), (0.26, 0.39)),
    "Det-NoVar": ((58.6, 57.4), (2e-69, 9e-90), (0.74, 0.87)),
    "Stoch-NoVar": ((60.1, 55.7), (2e-80, 2e-92), (0.86, 0.98)),
    "DDM-NoVar": ((75.9, 78.1), (1e-21, 3e-30), (0.35, 0.42)),
}


@pytest.fixture(scope="module")
def reference_dir() -> Path:
    return shared_path("reference-results", "synthetic")


@pytest.fixture(scope="module")
def figures_dir(reference_dir, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("reference") / "figures"
    assert main(["generate", str(reference_dir), str(out)]) == 0
    return out


def test_every_expected_output_exists(figures_dir):
    stems = []
    for suffix in SUFFIXES:
        stems += [
            f"combined_metrics_boxplot_{suffix}",
            f"metrics_vs_datasize_combined_{suffix}",
            f"test_abs_logit_diff_rt_kendall_tau_combined_histograms_{suffix}",
        ]
        tail = "" if suffix == "with_variability" else "_no_variability"
        stems += [f"{name}{tail}_confusion_matrix" for name in ("deterministic", "stochastic", "ddm")]
    expected = {f"{stem}.{ext}" for stem in stems for ext in ("pdf", "png")}
    for suffix in SUFFIXES:
        expected |= {
            f"pearson_distance_correlation_table_{suffix}.tex",
            f"choice_accuracy_table_{suffix}.tex",
            f"vars_{suffix}.tex",
            f"statistical_table_{suffix}.tex",
        }
    expected.add("summary.md")
    assert {p.name for p in figures_dir.iterdir()} == expected
    for name in expected:
        assert (figures_dir / name).stat().st_size > 100, name


def _row(table: str, dataset: str, learner: str) -> list[str]:
    """Cells of ``learner``'s row inside ``dataset``'s block of a LaTeX metric table."""
    block = table.split(f"{dataset} & ", 1)[1]
    line = next(line for line in ("x & " + block).splitlines() if f"& {learner} &" in line)
    return [cell.strip() for cell in line.rstrip(" \\").split(" & ")[2:]]


def test_accuracy_and_pdc_tables_match_spec(figures_dir):
    accuracy = (figures_dir / "choice_accuracy_table_with_variability.tex").read_text()
    pdc = (figures_dir / "pearson_distance_correlation_table_with_variability.tex").read_text()
    # Deterministic at 100 %: BT 77.7 % / 0.535 PDC, RR 82.1 % / 0.669 (best, bold).
    assert _row(accuracy, "Deterministic", "BT")[-1].startswith("77.7 $\\pm$ 4.2 [$\\pm$ 0.8]")
    assert _row(accuracy, "Deterministic", "ResponseRank")[-1].startswith("\\textbf{82.1} $\\pm$ 4.3")
    assert _row(pdc, "Deterministic", "BT")[-1].startswith("0.53 $\\pm$ 0.10")
    assert _row(pdc, "Deterministic", "ResponseRank")[-1].startswith("\\textbf{0.67} $\\pm$ 0.12")
    # With variability RR has the best mean at every size of every dataset (spec §7).
    for table in (accuracy, pdc):
        for title in TITLES.values():
            assert all(cell.startswith("\\textbf") for cell in _row(table, title, "ResponseRank"))
    # Without variability RtRegression is best on Det/Stoch at 100 % (correctly specified link).
    no_var = (figures_dir / "choice_accuracy_table_no_variability.tex").read_text()
    assert _row(no_var, "Deterministic", "RtRegression")[-1].startswith("\\textbf{83.2}")
    assert _row(no_var, "Drift Diffusion", "ResponseRank")[-1].startswith("\\textbf{78.0}")
    assert "\\newcommand{\\numTrials}{100}" in (figures_dir / "vars_with_variability.tex").read_text()


def test_statistical_tables(figures_dir):
    for suffix in SUFFIXES:
        table = (figures_dir / f"statistical_table_{suffix}.tex").read_text()
        rows = [line for line in table.splitlines() if "ResponseRank vs BT" in line]
        assert len(rows) == 6  # 2 metrics × 3 datasets
        # Fixed defect: PDC gains are ↑ too (higher is better for both metrics).
        assert all("$<$ 0.0001 & $\\uparrow$" in row for row in rows), rows
    table = (figures_dir / "statistical_table_with_variability.tex").read_text()
    det_acc, *_ = [line for line in table.splitlines() if "ResponseRank vs BT" in line]
    assert det_acc.endswith("& +4.4 (0.78) \\\\")  # pooled over sizes: +4.4 pp, effect size 0.78
    rt_vs_bt = [line for line in table.splitlines() if "RtRegression vs BT" in line]
    assert all("$\\downarrow$" in row for row in rt_vs_bt)  # RtRegression collapses with variability


def test_summary_reports_efficiency_and_datasets(figures_dir):
    summary = (figures_dir / "summary.md").read_text()
    assert "| Deterministic | 77.7% → 82.1% (+4.5 pp) | 61.2% | 0.535 → 0.669 (+0.134) | 59.7% |" in summary
    assert "| Drift Diffusion | 76.3% → 77.7% (+1.4 pp) | 82.6% | 0.504 → 0.562 (+0.058) | 77.4% |" in summary
    # Kendall τ and label agreement (spec §7 sanity numbers).
    for line in (
        "| Deterministic | 100 | 0.412 | 100.0% |",
        "| Stochastic | 100 | 0.366 | 92.3% |",
        "| Drift Diffusion | 100 | 0.297 | 93.3% |",
        "| Deterministic | 100 | 1.000 | 100.0% |",
        "| Stochastic | 100 | 0.872 | 92.5% |",
        "| Drift Diffusion | 100 | 0.506 | 92.9% |",
    ):
        assert line in summary
    assert re.search(r"\| < 0\.0001 \(2e-68\) \| ↑ \| \+4\.4 \(0\.78\) \|", summary)


@pytest.fixture(scope="module")
def caches(reference_dir):
    return load_caches(reference_dir)


@pytest.mark.parametrize(("dataset", "metric"), list(MEANS))
def test_per_size_means_match_spec(caches, dataset, metric):
    summaries = size_summaries(caches[CONFIGS[dataset]], metric)
    for learner, expected in zip(("bt", "rr"), MEANS[dataset, metric], strict=True):
        means = [s.mean for s in summaries[learner]]
        np.testing.assert_allclose(means, [float(v) for v in expected.split()], atol=5e-4 + 1e-9)


@pytest.mark.parametrize("dataset", list(EFFICIENCY))
def test_crossing_and_wilcoxon_match_spec(caches, dataset):
    results = caches[CONFIGS[dataset]]
    crossings, p_values, effects = EFFICIENCY[dataset]
    for k, metric in enumerate(("choice_accuracy", "pearson_distance_correlation")):
        assert rr_vs_bt(results, metric).crossing == pytest.approx(crossings[k], abs=0.05)
        rr_vs_bt_test = comparisons(results, metric)[0]
        assert rr_vs_bt_test.label == "ResponseRank vs BT" and rr_vs_bt_test.n == 600
        # p matches the spec's one-significant-digit value.
        assert float(f"{rr_vs_bt_test.p_value:.0e}") == pytest.approx(p_values[k])
        assert round(rr_vs_bt_test.effect_size, 2) == effects[k]

"""``generate`` on the paper's LLM cache reproduces the reference numbers of spec llm.md §14."""

from __future__ import annotations

import re

import pytest
from helpers import REPO_ROOT

from responserank.llm.analysis.cli import main
from responserank.llm.analysis.figures import BAR_PLOTS

# spec llm.md §14, data-size curves (means, fractions 0.1 … 1.0)
CURVES = {
    "MultiPref test accuracy": {
        "BT": "71.0 71.9 71.6 71.4 71.2 71.2 71.0 71.0 71.1 70.9",
        "BT@2": "71.8 73.5 73.6 73.6 74.2 74.3 74.2 74.5 74.3 74.2",
        "RR-RT": "71.3 71.9 72.2 72.7 72.5 72.5 72.6 72.1 72.1 72.4",
        "RR-Stated": "72.1 73.4 73.9 73.9 74.3 74.4 73.8 73.9 73.9 73.9",
        "RR-Agree": "73.2 74.5 75.0 74.9 75.4 75.3 75.4 75.0 75.3 75.4",
    },
    "RewardBench v1": {
        "BT": "65.2 69.1 70.4 72.8 74.6 76.3 76.3 77.4 77.9 78.4",
        "BT@2": "61.9 64.9 69.0 69.4 71.9 73.5 74.3 75.8 77.8 77.8",
        "RR-RT": "61.1 64.1 66.7 68.6 71.2 71.4 72.4 73.4 72.8 74.0",
        "RR-Stated": "64.0 68.3 70.8 72.3 74.5 77.0 75.6 78.4 78.3 79.2",
        "RR-Agree": "62.4 69.5 71.3 74.4 77.0 78.0 79.1 78.6 79.2 80.0",
    },
    "RewardBench v2": {
        "BT": "33.2 37.7 40.8 43.4 46.2 48.6 49.0 51.6 52.7 52.6",
        "BT@2": "29.9 32.9 36.8 38.8 41.6 44.7 46.9 48.8 49.9 51.1",
        "RR-RT": "29.6 32.0 34.7 35.8 40.2 41.2 43.2 45.2 44.0 47.2",
        "RR-Stated": "31.1 36.2 39.8 42.7 46.2 49.1 48.7 51.6 51.8 53.2",
        "RR-Agree": "30.0 37.7 41.2 45.2 49.5 50.9 53.1 53.3 54.2 55.6",
    },
}
# spec §14 table at 100 %: key → (test, RB v1, RB v2) as "mean ± sd"
FULL_DATA = {
    "bt": ("70.9 ± 1.4", "78.4 ± 2.3", "52.6 ± 2.7"),
    "rr_agree": ("75.4 ± 1.2", "80.0 ± 2.0", "55.6 ± 2.3"),
    "rr_stated": ("73.9 ± 1.4", "79.2 ± 2.2", "53.2 ± 3.2"),
    "rr_consensus": ("76.0 ± 1.1", "79.7 ± 1.7", "55.3 ± 2.4"),  # finished runs only (54.4 with failed ones)
    "rr_agree_bt": ("71.8 ± 1.4", "79.1 ± 2.7", "53.0 ± 2.8"),
    "bt_meanpref": ("71.2 ± 1.2", "77.4 ± 5.2", "52.2 ± 6.1"),
    "rr_stated_partialshuffle100": ("72.4 ± 1.4", "76.0 ± 3.8", "46.7 ± 5.1"),
}
EXPECTED_FILES = {
    "multipref_datasize.pdf",
    "multipref_datasize.png",
    "multipref_datasize_rb.pdf",
    "multipref_datasize_rb.png",
    *(
        f"multipref_{metric}_table_part{part}.tex"
        for metric in ("test_accuracy", "rewardbench_v1", "rewardbench_v2")
        for part in (1, 2)
    ),
    *(f"{plot.name}.{ext}" for plot in BAR_PLOTS for ext in ("pdf", "png")),
    "stats.tex",
    "summary.md",
}


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    cache = REPO_ROOT / "results" / "llm"  # the paper's cache, committed (results/llm/SOURCE.md)
    out = tmp_path_factory.mktemp("llm") / "figures"
    assert main(["generate", str(cache), str(out)]) == 0
    return out


def _markdown_section(summary: str, title: str) -> str:
    return summary.split(f"## {title}")[1].split("\n## ")[0]


def _means(row: str) -> list[str]:
    cells = [c.strip() for c in row.strip("|").split("|")[1:]]
    return [c.split(" ± ")[0].strip("*") for c in cells]


def test_every_expected_file_is_written(outputs):
    assert {p.name for p in outputs.iterdir()} == EXPECTED_FILES
    assert len({plot.name for plot in BAR_PLOTS}) == len(BAR_PLOTS)  # no plot overwrites another
    # the paper's cache has runs for every bar plot
    assert "skipped (no finished runs" not in (outputs / "summary.md").read_text()


@pytest.mark.parametrize("metric", list(CURVES))
def test_data_size_curves_match_the_reference(outputs, metric):
    section = _markdown_section((outputs / "summary.md").read_text(), f"{metric} vs training data")
    rows = {line.split("|")[1].strip(): line for line in section.splitlines() if line.startswith("| ")}
    for label, expected in CURVES[metric].items():
        assert _means(rows[label]) == expected.split(), (metric, label)
    assert _means(rows["RR-Random"])[-1] == {"MultiPref test accuracy": "72.2", "RewardBench v1": "76.3"}.get(
        metric, "47.7"
    )


def test_full_data_table_matches_the_reference(outputs):
    section = _markdown_section((outputs / "summary.md").read_text(), "All experiments at 100 %")
    for key, expected in FULL_DATA.items():
        row = next(line for line in section.splitlines() if line.startswith(f"| `{key}` |"))
        assert [c.strip() for c in row.strip(" |").split("|")[2:]] == ["30", *expected], key


def test_latex_tables_bold_the_best_mean_and_carry_the_ci(outputs):
    part2 = (outputs / "multipref_test_accuracy_table_part2.tex").read_text()
    assert "Method & 60\\% & 70\\% & 80\\% & 90\\% & 100\\% \\\\" in part2
    bt = next(line for line in part2.splitlines() if line.startswith("BT & "))
    agree = next(line for line in part2.splitlines() if line.startswith("RR-Agree & "))
    assert bt.split(" & ")[-1].startswith("70.9 $\\pm$ 1.4 [$\\pm$ 0.5]")  # CI 0.529
    assert agree.split(" & ")[-1].startswith("\\textbf{75.4} $\\pm$ 1.2 [$\\pm$ 0.5]")  # CI 0.451
    assert agree.count("\\textbf") == 5  # best in every column
    random_row = next(line for line in part2.splitlines() if line.startswith("RR-Random & "))
    assert random_row.count("--") == 4  # run at 100 % only
    part1 = (outputs / "multipref_rewardbench_v2_table_part1.tex").read_text()
    assert "Method & 10\\% & 20\\% & 30\\% & 40\\% & 50\\% \\\\" in part1
    assert next(line for line in part1.splitlines() if line.startswith("BT & ")).startswith(
        "BT & \\textbf{33.2}"
    )


def test_stats_macros_match_the_reference(outputs):
    stats = (outputs / "stats.tex").read_text()
    macros = dict(re.findall(r"\\newcommand\{\\(\w+)\}\{(.*)\}", stats))
    expected = {
        "agreeMultiprefMeanDiff": "+4.6",  # +4.55 pp, p ≈ 1e-17, d 3.4
        "agreeMultiprefMeanP": "\\ensuremath{<}0.001",
        "agreeMultiprefMeanD": "3.42",
        "agreeRewardBenchMeanDiff": "+3.0",  # +2.99 pp, p 1.6e-5, d 0.94
        "agreeRewardBenchMeanD": "0.94",
        "statedMultiprefMeanD": "2.53",
        "statedRewardBenchMeanP": "0.41",
        "rtRewardBenchMeanDiff": "-5.4",
        "rtRewardBenchMeanD": "-0.94",
        "batchingMultiprefMeanP": "\\ensuremath{<}0.001",  # 3.8e-4
        "batchingMultiprefMeanD": "0.73",
        "batchingRewardBenchMeanP": "0.54",
        "btAgreeMultiprefMeanP": "0.18",
        "btAgreeRewardBenchMeanP": "0.31",
        "btMeanPrefMultiprefMeanP": "0.06",  # 0.057
        "btMeanPrefRewardBenchMeanP": "0.69",
        "statedGlobalMultiprefMeanDiff": "-0.3",
        "statedGlobalMultiprefMeanP": "0.18",
        "statedGlobalRewardBenchMeanP": "0.15",
        "meanPrefSixVsFullMultiprefMeanP": "0.37",
        "meanPrefSixVsFullRewardBenchMeanP": "0.52",
        "fragSizeAgree": "4.58",
        "fragSizeStated": "1.50",
        "numSeedsLLM": "30",
    }
    for name, value in expected.items():
        assert macros.get(name) == value, name
    assert all(
        f"{p}{m}{s}" in macros
        for p in ("agree", "btAgree")
        for m in ("Multipref", "RewardBench")
        for s in ("MeanDiff", "MeanP", "MeanD", "VarP")
    )
    assert 1 - float(macros["singletonFracStated"]) / 100 == pytest.approx(0.669, abs=0.001)


def test_summary_reports_crossings_and_the_soft_label_quirk(outputs):
    summary = (outputs / "summary.md").read_text()
    assert "RewardBench v1: RR-Agree reaches BT@100 % (78.4 %) at 63.6 % of the data" in summary
    assert "RewardBench v2: RR-Agree reaches BT@100 % (52.6 %) at 67.7 % of the data" in summary
    assert (
        "MultiPref test accuracy: RR-Agree is at or above BT@100 % (70.9 %) already at the smallest"
        in summary
    )
    assert "ignored the soft targets" in summary
    assert "dataset_stats.tex skipped" in summary
    assert "## Warnings" not in summary  # every main experiment has 30 seeds

"""Column names of the LLM results cache and the labels the paper uses for the main experiments.

Metric columns hold fractions in [0, 1]; figures and tables show them in percent.
"""

from __future__ import annotations

TEST_ACCURACY = "eval_accuracy"  # MultiPref held-out test accuracy
REWARDBENCH_V1 = "eval/rewardbench_v1/overall/accuracy_score"
REWARDBENCH_V2 = "eval/rewardbench_v2/overall/accuracy_score"
RB2_CATEGORIES = ("Factuality", "Focus", "Math", "Precise IF", "Safety", "Ties")
RB2_CATEGORY_COLUMNS = tuple(f"eval/rewardbench_v2/section/{name}_score" for name in RB2_CATEGORIES)

METRIC_COLUMNS = (TEST_ACCURACY, REWARDBENCH_V1, REWARDBENCH_V2, *RB2_CATEGORY_COLUMNS)
STATISTIC_COLUMNS = ("train_examples", "test_examples", "non_singleton_fraction", "avg_fragment_size")

# runs.csv: the layout of the paper's cache, plus two columns of ours at the end.
IDENTITY_COLUMNS = (
    "run_id",
    "run_name",
    "egid",
    "experiment_name",
    "seed",
    "fraction",
    "run_state",
    "display_name",
)
EXTRA_COLUMNS = ("preset", "source")  # preset name of a local run (may be empty); "wandb:<path>" / "local"
CACHE_COLUMNS = IDENTITY_COLUMNS + METRIC_COLUMNS[:3] + STATISTIC_COLUMNS + METRIC_COLUMNS[3:] + EXTRA_COLUMNS
REQUIRED_COLUMNS = ("egid", "seed", "fraction", "run_state", *METRIC_COLUMNS)

FINISHED = "finished"
EXPECTED_SEEDS = 30

METRIC_LABELS = {
    TEST_ACCURACY: "MultiPref test accuracy",
    REWARDBENCH_V1: "RewardBench v1",
    REWARDBENCH_V2: "RewardBench v2",
}
METRIC_FILE_NAMES = {
    TEST_ACCURACY: "test_accuracy",
    REWARDBENCH_V1: "rewardbench_v1",
    REWARDBENCH_V2: "rewardbench_v2",
}

# Rows of the data-size tables and the RB v2 category plot: registry key → label (paper's names).
MAIN_ROWS = {
    "bt": "BT",
    "bt_ep2": "BT@2",
    "rr_randrank_randsize2": "RR-Random",
    "rr_rt_annostrat_spread2": "RR-RT",
    "rr_stated": "RR-Stated",
    "rr_agree": "RR-Agree",
}
DATASIZE_CURVES = ("bt", "rr_stated", "rr_agree")
BASELINE = "bt"
MAIN = "rr_agree"

# egids of the paper's soft-label BT runs: the original BT trainer ignored bt_target, so they were trained on
# hard labels (spec llm.md §13)
PAPER_HARD_LABEL_EGIDS = frozenset({"bt_agree-v10.2-444e2c41", "bt_meanpref-v10.1-d009051c"})

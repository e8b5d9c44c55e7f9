"""Helpers of the LLM-analysis tests (import as ``llm_analysis.run_records``): a hand-made local run store in the trainer's record schema (``run_record.json`` per run folder).

Metric values follow simple formulas so that the tests can state the expected means by hand:

* test accuracy of ``bt`` = 0.70 + 0.002·(seed − 40) + 0.01·fraction;
* ``rr_agree`` = bt + 0.04 + 0.001·(seed − 40);  ``rr_agree_spread2`` (fraction 1.0 only) = bt + 0.03;
* RB v1 = test − 0.10, RB v2 = test − 0.20, RB v2 category i = test − 0.30 + 0.01·i.
"""

from __future__ import annotations

from pathlib import Path

from helpers import REPO_ROOT

from responserank.llm.analysis.names import RB2_CATEGORY_COLUMNS
from responserank.llm.analysis.run_store import RunRecord, write_run_record

SEEDS = (40, 41, 42)
REGISTRY = REPO_ROOT / "src" / "responserank" / "conf" / "llm" / "registry.yaml"
LOCAL_EGIDS = {
    "bt": "bt-v10.3-0a1b2c3d",
    "rr_agree": "rr_agree-v10.7-1a2b3c4d",
    "rr_agree_spread2": "rr_agree_spread2-v10.4-5e6f7a8b",
}
PAPER_BT_EP2_EGID = "bt_ep2-v10.1-ae983be4"  # a record carrying the paper's egid matches by egid


def accuracy_of(experiment: str, seed: int, fraction: float) -> float:
    bt = 0.70 + 0.002 * (seed - 40) + 0.01 * fraction
    return {
        "bt": bt,
        "bt_ep2": bt + 0.01,
        "rr_agree": bt + 0.04 + 0.001 * (seed - 40),
        "rr_agree_spread2": bt + 0.03,
    }[experiment]


def metrics(accuracy: float) -> dict[str, float]:
    out = {
        "eval/accuracy": accuracy,  # wandb-style name, renamed by the writer
        "eval/rewardbench/overall/accuracy_score": accuracy - 0.10,
        "eval/rewardbench_v2/overall/accuracy_score": accuracy - 0.20,
        "eval/loss": 0.5,  # kept in the record, not collected
    }
    for i, column in enumerate(RB2_CATEGORY_COLUMNS):
        out[column] = accuracy - 0.30 + 0.01 * i
    return out


def record(
    experiment: str, egid: str, seed: int, fraction: float, preset: str | None = None, **overrides
) -> RunRecord:
    """A finished run of ``experiment`` (metric formulas above); ``preset`` overrides the recorded preset name."""
    fields = {
        "run_name": f"{egid}-{fraction}-{seed}",
        "egid": egid,
        "experiment": preset or experiment,
        "seed": seed,
        "fraction": fraction,
        "run_state": "finished",
        "metrics": metrics(accuracy_of(experiment, seed, fraction)),
        "statistics": {
            "train_examples": round(5785 * fraction),
            "test_examples": 1443,
            "partitioner/train/non_singleton_fraction": 0.5 if experiment.startswith("rr") else 1.0,
            "packing/avg_fragment_size": 2.0 if experiment == "rr_agree_spread2" else 4.5,
        },
        "config": {"seed": seed, "experiment": {"name": experiment, "fraction": fraction}},
    }
    fields.update(overrides)
    return RunRecord(**fields)


def build_run_store(root: Path) -> Path:
    """Three experiments × seeds 40–42 (bt, rr_agree at 50 % and 100 %; rr_agree_spread2 and bt_ep2 at 100 %)
    plus runs collect must skip or keep-but-not-use: a failed run, a dry run, an unregistered preset."""
    store = root / "outputs" / "rr_llm"
    for seed in SEEDS:
        for fraction in (0.5, 1.0):
            for experiment in ("bt", "rr_agree"):
                run_dir = store / "2025-01-01" / f"{experiment}-{fraction}-{seed}"
                write_run_record(run_dir, record(experiment, LOCAL_EGIDS[experiment], seed, fraction))
        write_run_record(
            store / "2025-01-02" / f"spread2-{seed}",
            record("rr_agree_spread2", LOCAL_EGIDS["rr_agree_spread2"], seed, 1.0),
        )
        write_run_record(store / "2025-01-02" / f"ep2-{seed}", record("bt_ep2", PAPER_BT_EP2_EGID, seed, 1.0))
    failed = record("bt", LOCAL_EGIDS["bt"], 43, 1.0, run_state="failed", metrics={})
    write_run_record(store / "2025-01-03" / "bt-failed", failed)
    dry = record("bt", "dry-" + LOCAL_EGIDS["bt"], 40, 1.0, dry_run=True)
    write_run_record(store / "2025-01-03" / "bt-dry", dry)
    write_run_record(store / "2025-01-03" / "foo", record("bt", "foo-v10.1-00000000", 40, 1.0, preset="foo"))
    return store

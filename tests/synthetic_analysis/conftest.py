"""Hand-made runner outputs in the spec's layout (``synthetic.md`` §4) for the analysis tests."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from responserank.synthetic.analysis.names import DATASET_CONFIGS, LEARNERS

# Mean accuracy / PDC at 100 % per learner; every learner loses 0.06 / 0.15 at 50 %.
_TOP = {
    "bt": (0.77, 0.53),
    "rt_regression": (0.64, 0.23),
    "rt_regression_perm": (0.56, 0.12),
    "rr": (0.82, 0.67),
    "rr_pooled": (0.73, 0.42),
    "rr_perm": (0.69, 0.27),
}


def write_experiment(
    root: Path,
    config: str = "stochastic",
    *,
    num_trials: int = 3,
    learners=tuple(LEARNERS),
    percents=(50, 100),
    timestamp: str = "2025-01-02 03:04:05",
    seed: int = 0,
    folder_name: str | None = None,
) -> Path:
    """Write one experiment folder with made-up but plausible results; returns its path.

    Values are drawn from a seeded generator: accuracy and PDC grow linearly from 50 % to 100 % towards the
    learner's ``_TOP`` value plus trial noise (SD 0.03 / 0.08), so RR beats BT and RR crosses BT's 100 % level.
    """
    rng = np.random.default_rng(seed)
    name = folder_name or f"03-04-05-configv2+dataset={config}"
    experiment = root / name
    experiment.mkdir(parents=True)
    metadata = {
        "dataset": DATASET_CONFIGS.get(config, config),
        "timestamp": timestamp,
        "num_trials": num_trials,
        "learners": list(learners),
        "dataset_sizes": [pct / 100 for pct in percents],
    }
    (experiment / "metadata.json").write_text(json.dumps(metadata))
    for trial in range(1, num_trials + 1):
        folder = experiment / f"trial_{trial}"
        folder.mkdir()
        tau = float(rng.uniform(0.2, 0.6))
        agree = int(rng.integers(85, 100))
        confusion = [[agree, 100 - agree], [100 - agree, agree]]
        for learner in learners:
            for pct in percents:
                top_acc, top_pdc = _TOP.get(learner, (0.7, 0.4))
                shrink = (100 - pct) / 50
                acc = top_acc - 0.06 * shrink + rng.normal(0, 0.03)
                pdc = top_pdc - 0.15 * shrink + rng.normal(0, 0.08)
                results = {
                    "summary_metrics": {
                        "choice_accuracy": {"value": acc, "type": "scalar", "dataset_metric": False},
                        "pearson_distance_correlation": {
                            "value": pdc,
                            "type": "scalar",
                            "dataset_metric": False,
                        },
                        "spearman_distance_correlation": {
                            "value": pdc,
                            "type": "scalar",
                            "dataset_metric": False,
                        },
                        "test_abs_logit_diff_rt_kendall_tau": {
                            "value": {"x": [tau], "range": [0, 1]},
                            "type": "histogram",
                            "dataset_metric": True,
                        },
                        "test_confusion_matrix": {
                            "value": confusion,
                            "type": "confusion_matrix",
                            "dataset_metric": True,
                        },
                    },
                    "epoch_metrics": [],
                }
                (folder / f"{learner}_frac_{pct}_results.json").write_text(json.dumps(results))
    return experiment


@pytest.fixture(scope="session")
def make_experiment():
    return write_experiment


def write_cache(cache_dir: Path, config: str = "stochastic", **experiment_options) -> Path:
    """Write a hand-made experiment beside ``cache_dir`` and collect it into ``<cache_dir>/<config>.json``."""
    from responserank.synthetic.analysis.collect import collect

    experiment = write_experiment(cache_dir.parent / f"runs_{config}", config, **experiment_options)
    (path,) = collect(cache_dir, {config: experiment})
    return path


@pytest.fixture(scope="session")
def make_cache():
    return write_cache

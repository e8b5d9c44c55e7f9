"""Test-set metrics of the trained models (batched over models) and the per-run results-file format.

Orientation (spec §3): ``Δu_true = u2 − u1``, ``Δu_pred = û2 − û1``; ``y = 1`` means option 1 was chosen.
Every metric takes arrays with models on the leading axis and the 200 test pairs on the last axis, using the core
:mod:`responserank.metrics` (which is vectorised over leading axes).

Results file of one (learner, size) run::

    {"summary_metrics": {name: {"value": v, "type": "scalar" | "histogram" | "confusion_matrix",
                                "dataset_metric": bool}},
     "epoch_metrics": [{name: {"value": v, "type": "scalar"}}, …]}      # one entry per step, only on request
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.special import expit

from responserank import metrics
from responserank.synthetic.data import SyntheticDataset


def scalar(value, dataset_metric: bool = False) -> dict:
    return {"value": float(value), "type": "scalar", "dataset_metric": dataset_metric}


def model_metrics(
    u_pred_first: np.ndarray,
    u_pred_second: np.ndarray,
    u_true_first: np.ndarray,
    u_true_second: np.ndarray,
    first_chosen: np.ndarray,
) -> dict[str, np.ndarray]:
    """Summary metrics per model; all inputs ``[M, n]`` (labels and true utilities repeated per model).

    Returns ``{name: [M] float64}``.
    """
    u1p, u2p = np.asarray(u_pred_first, np.float64), np.asarray(u_pred_second, np.float64)
    u1, u2, y = (np.asarray(a, np.float64) for a in (u_true_first, u_true_second, first_chosen))
    delta_true, delta_pred = u2 - u1, u2p - u1p
    both_true = np.concatenate([u1, u2], axis=-1)
    both_pred = np.concatenate([u1p, u2p], axis=-1)
    return {
        "choice_accuracy": metrics.choice_accuracy(u1p, u2p, y),
        "true_preference_accuracy": metrics.true_preference_accuracy(u1p, u2p, u1, u2),
        "pearson_distance_correlation": metrics.pearson_distance_correlation(delta_true, delta_pred),
        "spearman_distance_correlation": metrics.utility_correlation(
            np.abs(delta_true), np.abs(delta_pred), method="spearman"
        ),
        "pearson_utility_correlation": metrics.utility_correlation(both_true, both_pred, method="pearson"),
        "spearman_utility_correlation": metrics.utility_correlation(both_true, both_pred, method="spearman"),
        "pearson_difference_correlation": metrics.utility_correlation(
            delta_true, delta_pred, method="pearson"
        ),
        "spearman_difference_correlation": metrics.utility_correlation(
            delta_true, delta_pred, method="spearman"
        ),
        "log_likelihood_pl_ranking": metrics.plackett_luce_log_likelihood(delta_pred, delta_true),
        "expected_calibration_error_bt_probs": metrics.expected_calibration_error(expit(u1p - u2p), y),
        "true_calibration_error_bt_probs": metrics.true_calibration_error(delta_true, delta_pred),
        "bt_log_likelihood": metrics.bradley_terry_log_likelihood(u1p, u2p, y),
    }


def dataset_metrics(dataset: SyntheticDataset, num_partitions: int) -> dict[str, dict]:
    """Metrics of the test split itself (``dataset_metric: true``), identical for every learner of a trial."""
    test = dataset.split("test")
    u1, u2, y, t = dataset.u1[test], dataset.u2[test], dataset.y[test], dataset.t[test]
    partition = dataset.partition_id[test]
    result = {
        "test_confusion_matrix": {
            "value": metrics.confusion_matrix(u1 > u2, y).tolist(),
            "type": "confusion_matrix",
            "dataset_metric": True,
        },
        "test_abs_logit_diff_rt_kendall_tau": {
            "value": {"x": [metrics.strength_kendall_tau(t, u2 - u1)], "range": [0, 1]},
            "type": "histogram",
            "dataset_metric": True,
        },
        "test_dataset_accuracy": scalar(metrics.label_agreement(u1, u2, y), dataset_metric=True),
    }
    sizes = np.bincount(partition, minlength=num_partitions)
    for k, size in enumerate(sizes):
        result[f"test_partition_{k}_size"] = scalar(size, dataset_metric=True)
    return result


def torch_step_metrics(
    u_pred_first: torch.Tensor,
    u_pred_second: torch.Tensor,
    delta_true: torch.Tensor,
    first_chosen: torch.Tensor,
) -> dict[str, torch.Tensor]:
    """Per-step test accuracy and PDC in torch (``[M, n]`` inputs → ``[M]``), for ``log_epoch_metrics``."""
    predicted = torch.where(
        u_pred_first > u_pred_second, 1.0, torch.where(u_pred_first < u_pred_second, 0.0, 0.5)
    )
    accuracy = (1.0 - (predicted - first_chosen).abs()).mean(dim=-1)
    a = delta_true.abs()
    b = (u_pred_second - u_pred_first).abs()
    a = a - a.mean(dim=-1, keepdim=True)
    b = b - b.mean(dim=-1, keepdim=True)
    denominator = torch.sqrt((a * a).sum(-1) * (b * b).sum(-1))
    pdc = torch.where(denominator > 0, (a * b).sum(-1) / denominator.clamp_min(1e-30), torch.nan)
    return {"test_choice_accuracy": accuracy, "test_pearson_distance_correlation": pdc}

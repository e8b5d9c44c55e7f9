"""Metrics: definitions from the synthetic spec, batch axes, and agreement with scipy."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats
import torch

from responserank import metrics


def test_choice_accuracy_gives_ties_half_credit_and_accepts_tensors():
    u1 = np.array([1.0, 0.0, 2.0, 5.0])
    u2 = np.array([0.0, 1.0, 2.0, 1.0])
    y = np.array([1, 1, 0, 0])
    assert metrics.choice_accuracy(u1, u2, y) == pytest.approx((1 + 0 + 0.5 + 0) / 4)
    assert metrics.choice_accuracy(torch.tensor(u1), torch.tensor(u2), torch.tensor(y)) == pytest.approx(
        0.375
    )


def test_metrics_broadcast_over_leading_model_axis():
    rng = np.random.default_rng(0)
    u_true1, u_true2 = rng.normal(size=(2, 200))
    y = (u_true1 > u_true2).astype(float)
    preds = rng.normal(size=(3, 2, 200))
    batched = metrics.choice_accuracy(preds[:, 0], preds[:, 1], y)
    assert batched.shape == (3,)
    for m in range(3):
        assert batched[m] == pytest.approx(metrics.choice_accuracy(preds[m, 0], preds[m, 1], y))
        pdc = metrics.pearson_distance_correlation(u_true2 - u_true1, preds[m, 1] - preds[m, 0])
        assert pdc == pytest.approx(
            scipy.stats.pearsonr(np.abs(u_true2 - u_true1), np.abs(preds[m, 1] - preds[m, 0]))[0]
        )
    assert metrics.choice_accuracy(u_true1, u_true2, y) == 1.0
    assert metrics.true_preference_accuracy(u_true1, u_true2, u_true1, u_true2) == 1.0
    assert metrics.true_preference_accuracy(u_true2, u_true1, u_true1, u_true2) == 0.0


def test_pdc_is_direction_blind_scale_free_and_nan_when_constant():
    delta = np.array([0.5, -2.0, 1.0, 3.0])
    assert metrics.pearson_distance_correlation(delta, -3 * delta) == pytest.approx(1.0)
    assert math.isnan(metrics.pearson_distance_correlation(delta, np.ones(4)))


def test_utility_correlation_perfect_and_inverted():
    u = np.array([0.1, 2.0, -1.0, 0.7])
    assert metrics.utility_correlation(u, 2 * u + 1) == pytest.approx(1.0)
    assert metrics.utility_correlation(u, -u, method="spearman") == pytest.approx(-1.0)
    with pytest.raises(ValueError, match="method='kendall' is not valid"):
        metrics.utility_correlation(u, u, method="kendall")


def test_strength_kendall_tau_matches_scipy():
    rng = np.random.default_rng(1)
    delta = rng.normal(size=50)
    rt = 10 / (np.abs(delta) + 1) + rng.normal(scale=0.5, size=50)
    expected = scipy.stats.kendalltau(-rt, np.abs(delta)).statistic
    assert metrics.strength_kendall_tau(rt, delta) == pytest.approx(expected)
    assert metrics.strength_kendall_tau(10 / (np.abs(delta) + 1), delta) == pytest.approx(1.0)


def test_confusion_matrix_rows_truth_columns_choice():
    truth = np.array([1, 1, 0, 0, 1])
    chosen = np.array([1, 0, 0, 0, 1])
    assert metrics.confusion_matrix(truth, chosen).tolist() == [[2, 0], [1, 2]]


def test_plackett_luce_log_likelihood_equals_loop():
    rng = np.random.default_rng(2)
    scores, key = rng.normal(size=(2, 7))
    ordered = scores[np.argsort(-key)]
    expected = sum(ordered[k] - np.log(np.exp(ordered[k:]).sum()) for k in range(7))
    assert metrics.plackett_luce_log_likelihood(scores, key) == pytest.approx(expected)
    assert metrics.plackett_luce_log_likelihood(np.stack([scores, scores]), key) == pytest.approx(
        [expected] * 2
    )


def test_expected_calibration_error_hand_computed():
    p = np.array([0.05, 0.05, 0.95, 0.95, 0.55])
    y = np.array([0, 1, 1, 1, 0])
    # bins: [0,.1): mean y .5 vs p .05 (n=2); [.9,1]: 1 vs .95 (n=2); [.5,.6): 0 vs .55 (n=1)
    expected = (2 * 0.45 + 2 * 0.05 + 1 * 0.55) / 5
    assert metrics.expected_calibration_error(p, y) == pytest.approx(expected)
    assert metrics.expected_calibration_error(np.array([1.0]), np.array([1])) == pytest.approx(0.0)


def test_true_calibration_and_log_likelihood():
    delta = np.array([0.0, 1.0])
    assert metrics.true_calibration_error(delta, delta) == 0.0
    assert metrics.bradley_terry_log_likelihood(
        np.array([0.0]), np.array([0.0]), np.array([1])
    ) == pytest.approx(math.log(0.5))


def test_metrics_reject_mismatched_and_empty_input():
    with pytest.raises(ValueError, match="differ in the number of comparisons"):
        metrics.choice_accuracy(np.zeros(3), np.zeros(4), np.zeros(3))
    with pytest.raises(ValueError, match="at least one comparison"):
        metrics.pearson_distance_correlation(np.zeros(0), np.zeros(0))

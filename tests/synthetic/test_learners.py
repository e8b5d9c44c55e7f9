"""Learners: per-model losses, permutation controls, ranks, fitting sanity (spec §9) and the evaluation metrics."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from helpers import synthetic_config

from responserank.losses import responserank_loss
from responserank.synthetic.data import SyntheticDataset, generate_dataset, hyperbolic_rt, init_mlp
from responserank.synthetic.engine import train_stacked
from responserank.synthetic.evaluation import dataset_metrics, model_metrics
from responserank.synthetic.learners import (
    ModelSpec,
    build_model_data,
    loss_block,
    permuted_prefix_times,
    responserank_loss_block,
)

SHIPPED = synthetic_config().learners
RR, RR_POOLED, RR_PERM = SHIPPED["rr"], SHIPPED["rr_pooled"], SHIPPED["rr_perm"]
RT_PERM = SHIPPED["rt_regression_perm"]
LEARNERS = {"rr": RR, "rr_pooled": RR_POOLED, "rr_perm": RR_PERM, "rt_regression_perm": RT_PERM}
DDM = synthetic_config("dataset=drift_diffusion").dataset
STOCHASTIC = synthetic_config("dataset=stochastic").dataset


@pytest.fixture(scope="module")
def datasets():
    config = STOCHASTIC
    return [generate_dataset(config, 3, trial) for trial in (1, 2)]


def test_responserank_block_equals_the_core_loss_per_model(datasets):
    """One core call over combined stratum ids = the core loss of each model alone (singletons skipped, mean)."""
    specs = [
        ModelSpec(slot, key, size)
        for key in ("rr", "rr_pooled", "rr_perm")
        for slot in (0, 1)
        for size in (0.5, 1.0)
    ]
    data = build_model_data(specs, LEARNERS, datasets, [1, 2], 3, dtype=torch.float64)
    block = responserank_loss_block(0, data, num_partitions=5)
    generator = torch.Generator().manual_seed(0)
    u1 = torch.randn(len(specs), 50, generator=generator, dtype=torch.float64)
    u2 = torch.randn(len(specs), 50, generator=generator, dtype=torch.float64)
    batched = block.loss(u1, u2)
    for index in range(len(specs)):
        rows = data.mask[index]
        chosen = data.first_chosen[index, rows] > 0.5
        a, b = u1[index, rows], u2[index, rows]
        alone = responserank_loss(
            torch.where(chosen, a, b),
            torch.where(chosen, b, a),
            data.response_time[index, rows],
            data.stratum[index, rows],
            singletons="skip",
        )
        torch.testing.assert_close(batched[index], alone, rtol=1e-12, atol=1e-12)


def test_responserank_without_a_stratum_of_two_is_an_error_naming_the_model():
    dataset = generate_dataset(dataclasses.replace(STOCHASTIC, name="S", num_partitions=50), 1, 1)
    specs = [ModelSpec(0, "rr", 0.06)]  # 3 pairs spread over 50 partitions
    data = build_model_data(specs, LEARNERS, [dataset], [1], 1)
    data.stratum[0, :3] = torch.tensor([0, 1, 2])
    with pytest.raises(ValueError, match=r"learner rr at size 0\.06"):
        responserank_loss_block(0, data, 50, names=["learner rr at size 0.06 in trial 1"])


def test_permutation_controls_shuffle_the_prefix_times_across_strata(datasets):
    dataset = datasets[0]
    t = permuted_prefix_times(dataset, 0.6, 3, 1)
    np.testing.assert_array_equal(np.sort(t[:30]), np.sort(dataset.t[:30]))
    np.testing.assert_array_equal(t[30:], dataset.t[30:50])
    assert not np.array_equal(t[:30], dataset.t[:30])
    np.testing.assert_array_equal(t, permuted_prefix_times(dataset, 0.6, 3, 1))  # seeded
    assert not np.array_equal(t, permuted_prefix_times(dataset, 0.6, 4, 1))
    data = build_model_data(
        [ModelSpec(0, "rr_perm", 0.6), ModelSpec(0, "rt_regression_perm", 0.6), ModelSpec(0, "rr", 0.6)],
        LEARNERS,
        [dataset],
        [1],
        3,
        dtype=torch.float64,
    )
    # Both permutation learners see the same permuted data; partition ids are untouched.
    torch.testing.assert_close(data.response_time[0], data.response_time[1])
    np.testing.assert_array_equal(data.stratum[0].numpy(), dataset.partition_id[:50])
    np.testing.assert_array_equal(data.stratum[1].numpy(), np.zeros(50))
    np.testing.assert_allclose(data.response_time[2].numpy(), dataset.t[:50])


def test_ranks_are_ordinal_within_the_prefix_with_ties_broken_by_row_order():
    ddm = generate_dataset(dataclasses.replace(DDM, partition_rt_variability=0.0), 5, 1)
    t = ddm.t.copy()
    t[:4] = [0.5, 0.5, 0.4, 0.5]  # DDM times sit on a 1 ms grid: ties happen
    dataset = dataclasses.replace(ddm, t=t)
    data = build_model_data([ModelSpec(0, "rr", 1.0)], LEARNERS, [dataset], [1], 5)
    rank = data.rank[0].numpy()
    assert sorted(rank) == list(range(50))
    assert rank[2] < rank[0] < rank[1] < rank[3]
    assert rank[1] == rank[0] + 1 and rank[3] == rank[1] + 1


def _feature_sum_dataset(seed: int, num_train: int = 20, num_test: int = 100) -> SyntheticDataset:
    """Spec §9: 3 features, utility = feature sum (rescaled to SD 1), deterministic choices, t = g(|Δu|)."""
    generator = np.random.default_rng(seed)
    n = num_train + num_test
    items = generator.random((2 * n, 3))
    utility = items.sum(axis=1)
    utility = utility / utility.std()
    u1, u2 = utility[:n], utility[n:]
    return SyntheticDataset(
        x1=items[:n],
        x2=items[n:],
        u1=u1,
        u2=u2,
        y=(u1 > u2).astype(np.int64),
        t=hyperbolic_rt(np.abs(u1 - u2), 0.0, 10.0),
        partition_id=np.zeros(n, np.int64),
        num_train=num_train,
        multipliers=np.ones(1),
    )


@pytest.mark.parametrize("loss", ["bt", "rt_regression", "responserank"])
def test_fitting_sanity(loss):
    """20 train / 100 test pairs, hidden [10], 100 steps, lr 0.01: test accuracy and utility Pearson > 0.7."""
    dataset = _feature_sum_dataset(0)
    shipped = SHIPPED["rr_pooled" if loss == "responserank" else loss]
    learner = dataclasses.replace(shipped, name=loss, hidden_layers=(10,), num_epochs=100, learning_rate=0.01)
    data = build_model_data([ModelSpec(0, "x", 1.0)], {"x": learner}, [dataset], [1], 0)
    init = [
        torch.as_tensor(a, dtype=torch.float32)[None]
        for layer in init_mlp((3, 10, 1), np.random.default_rng(1))
        for a in layer
    ]
    x = torch.as_tensor(np.concatenate([dataset.x1[:20], dataset.x2[:20]]), dtype=torch.float32)[None]
    result = train_stacked(
        init, x, 20, [loss_block(0, data, learner, 1)], num_epochs=100, learning_rate=0.01, weight_decay=0.01
    )
    from responserank.synthetic.engine import StackedMLP

    test = dataset.split("test")
    x_test = torch.as_tensor(np.concatenate([dataset.x1[test], dataset.x2[test]]), dtype=torch.float32)[None]
    with torch.no_grad():
        u = StackedMLP(result.params)(x_test).double().numpy()
    u1p, u2p = u[:, :100], u[:, 100:]
    scores = model_metrics(u1p, u2p, dataset.u1[test][None], dataset.u2[test][None], dataset.y[test][None])
    assert scores["choice_accuracy"][0] > 0.7
    assert scores["pearson_utility_correlation"][0] > 0.7
    if loss == "rt_regression":
        predicted_rt = hyperbolic_rt(np.abs(u1p - u2p)[0], 0.0, 10.0)
        assert np.corrcoef(predicted_rt, dataset.t[test])[0, 1] > 0.7


def test_metrics_of_a_perfect_and_an_inverted_model():
    dataset = _feature_sum_dataset(1, num_test=200)
    test = dataset.split("test")
    u1, u2, y = dataset.u1[test][None], dataset.u2[test][None], dataset.y[test][None]
    perfect = model_metrics(u1, u2, u1, u2, y)
    assert perfect["pearson_utility_correlation"][0] == pytest.approx(1.0)
    assert perfect["pearson_distance_correlation"][0] == pytest.approx(1.0)
    assert perfect["choice_accuracy"][0] == 1.0
    inverted = model_metrics(-u1, -u2, u1, u2, y)
    assert inverted["pearson_utility_correlation"][0] == pytest.approx(-1.0)
    assert inverted["choice_accuracy"][0] == 0.0
    # PDC is direction-blind: an inverted model still knows the preference strengths.
    assert inverted["pearson_distance_correlation"][0] == pytest.approx(1.0)
    # Exact utility ties earn half credit.
    tied = model_metrics(np.zeros_like(u1), np.zeros_like(u2), u1, u2, y)
    assert tied["choice_accuracy"][0] == 0.5
    assert np.isnan(tied["pearson_distance_correlation"][0])


def test_dataset_metrics():
    dataset = _feature_sum_dataset(2, num_test=200)
    result = dataset_metrics(dataset, num_partitions=1)
    matrix = np.array(result["test_confusion_matrix"]["value"])
    assert matrix.sum() == 200 and matrix[0, 1] == 0 and matrix[1, 0] == 0  # deterministic: all agree
    tau = result["test_abs_logit_diff_rt_kendall_tau"]
    assert tau == {
        "value": {"x": [pytest.approx(1.0)], "range": [0, 1]},
        "type": "histogram",
        "dataset_metric": True,
    }
    assert result["test_dataset_accuracy"]["value"] == 1.0
    assert result["test_partition_0_size"]["value"] == 200

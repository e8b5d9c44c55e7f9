"""The DDM learner and the RT-outlier option of the synthetic datasets."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from helpers import synthetic_config

from responserank.ddm import ddm_loss
from responserank.errors import ConfigError
from responserank.synthetic.config import DatasetConfig, LearnerConfig
from responserank.synthetic.data import generate_dataset, init_mlp
from responserank.synthetic.engine import train_stacked
from responserank.synthetic.evaluation import model_metrics
from responserank.synthetic.learners import T0_CEILING, ModelSpec, build_model_data, ddm_loss_block

DDM_LEARNER = synthetic_config().learners["ddm"]
DDM_GLOBAL = dataclasses.replace(DDM_LEARNER, name="DDM-Global", use_strata=False)
LEARNERS = {"ddm": DDM_LEARNER, "ddm_global": DDM_GLOBAL}
DRIFT_DIFFUSION = synthetic_config("dataset=drift_diffusion").dataset


@pytest.fixture(scope="module")
def datasets():
    return [generate_dataset(DRIFT_DIFFUSION, 5, trial) for trial in (1, 2)]


def test_block_equals_the_core_loss_per_model_with_its_own_parameters(datasets):
    specs = [ModelSpec(slot, key, size) for key in LEARNERS for slot in (0, 1) for size in (0.5, 1.0)]
    data = build_model_data(specs, LEARNERS, datasets, [1, 2], 5, dtype=torch.float64)
    blocks = [
        ddm_loss_block(
            0, build_model_data(specs[:4], LEARNERS, datasets, [1, 2], 5, torch.float64), DDM_LEARNER, 5
        ),
        ddm_loss_block(
            4, build_model_data(specs[4:], LEARNERS, datasets, [1, 2], 5, torch.float64), DDM_GLOBAL, 5
        ),
    ]
    generator = torch.Generator().manual_seed(0)
    u1 = torch.randn(len(specs), 50, generator=generator, dtype=torch.float64)
    u2 = torch.randn(len(specs), 50, generator=generator, dtype=torch.float64)
    for block, groups in zip(blocks, (5, 1), strict=True):
        log_a, t0_logit, log_k = block.parameters
        with torch.no_grad():  # distinct values per stratum, so a mix-up would show
            t0_logit.copy_(torch.linspace(-2, 2, t0_logit.numel(), dtype=torch.float64))
            log_k.copy_(torch.linspace(-0.5, 0.5, log_k.numel(), dtype=torch.float64))
        batched = block.loss(u1[block.start : block.stop], u2[block.start : block.stop])
        for local, index in enumerate(range(block.start, block.stop)):
            rows = data.mask[index]
            stratum = (
                data.stratum[index, rows] if groups == 5 else torch.zeros(int(rows.sum()), dtype=torch.int64)
            )
            rt = data.response_time[index, rows]
            params = slice(local * groups, (local + 1) * groups)
            fastest = torch.stack(
                [
                    rt[stratum == s].min()
                    if bool((stratum == s).any())
                    else torch.tensor(1.0, dtype=rt.dtype)
                    for s in range(groups)
                ]
            )
            t0 = T0_CEILING * fastest * torch.sigmoid(t0_logit[params])
            assert bool((rt > t0[stratum]).all())
            alone = ddm_loss(
                u1[index, rows],
                u2[index, rows],
                data.first_chosen[index, rows],
                rt,
                boundary=log_a[params].exp(),
                non_decision_time=t0,
                drift_scale=log_k[params].exp(),
                stratum=stratum,
            )
            torch.testing.assert_close(batched[local], alone, rtol=1e-12, atol=1e-12)
        batched.sum().backward()
        assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in block.parameters)


def test_joint_training_learns_utilities_and_moves_the_ddm_parameters(datasets):
    """The DDM learner trained by the engine beats chance clearly on drift-diffusion data."""
    dataset = datasets[0]
    specs = [ModelSpec(0, "ddm", 1.0)]
    data = build_model_data(specs, LEARNERS, [dataset], [1], 5)
    block = ddm_loss_block(0, data, DDM_LEARNER, 5)
    initial = [p.detach().clone() for p in block.parameters]
    init = [
        torch.as_tensor(a, dtype=torch.float32)[None]
        for layer in init_mlp((20, 64, 1), np.random.default_rng(0))
        for a in layer
    ]
    x = torch.as_tensor(np.concatenate([dataset.x1[:50], dataset.x2[:50]]), dtype=torch.float32)[None]
    result = train_stacked(init, x, 50, [block], num_epochs=200, learning_rate=1e-3, weight_decay=0.01)
    assert float(result.losses[-1, 0]) < float(result.losses[0, 0])
    assert any(not torch.equal(a, b.detach()) for a, b in zip(initial, block.parameters, strict=True))
    test = dataset.split("test")
    w = [p[0] for p in result.params]

    def u(features):
        return (
            torch.relu(torch.as_tensor(features, dtype=torch.float32) @ w[0] + w[1]) @ w[2] + w[3]
        ).squeeze(-1)

    with torch.no_grad():
        metrics = model_metrics(
            u(dataset.x1[test]).double().numpy()[None],
            u(dataset.x2[test]).double().numpy()[None],
            dataset.u1[test][None],
            dataset.u2[test][None],
            dataset.y[test][None],
        )
    assert metrics["choice_accuracy"][0] > 0.6  # chance is 0.5; the observed choices themselves are noisy


def test_ddm_learner_config_is_validated():
    with pytest.raises(ConfigError, match="ddm_learning_rate"):
        LearnerConfig.from_mapping("ddm", {"name": "DDM", "loss": "ddm", "ddm_learning_rate": 0})


# --------------------------------------------------------------------------------------------------------------
# RT outliers (attention lapses)
# --------------------------------------------------------------------------------------------------------------


def test_rt_outliers_delay_about_the_requested_share_and_keep_everything_else():
    clean = generate_dataset(DRIFT_DIFFUSION, 7, 1)
    config = dataclasses.replace(
        DRIFT_DIFFUSION, rt_outlier_fraction=0.05, rt_outlier_max_delay=20.0, num_test_samples=4000
    )
    lapsed = generate_dataset(config, 7, 1)
    reference = generate_dataset(dataclasses.replace(DRIFT_DIFFUSION, num_test_samples=4000), 7, 1)
    np.testing.assert_array_equal(lapsed.y, reference.y)
    delayed = lapsed.t > reference.t
    assert 0.04 < delayed.mean() < 0.06
    np.testing.assert_array_equal(lapsed.t[~delayed], reference.t[~delayed])
    delay = (lapsed.t - reference.t)[delayed] / lapsed.multipliers[lapsed.partition_id[delayed]]
    assert delay.max() <= 20.0 and 8.0 < delay.mean() < 12.0  # U(0, 20 s) before the stratum scaling
    assert clean.t.shape == (250,)
    np.testing.assert_array_equal(generate_dataset(config, 7, 1).t, lapsed.t)  # seeded


@pytest.mark.parametrize(
    ("key", "value"),
    [("rt_outlier_fraction", 1.0), ("rt_outlier_fraction", -0.1), ("rt_outlier_max_delay", 0.0)],
)
def test_bad_outlier_options_name_the_key(key, value):
    with pytest.raises(ConfigError, match=key):
        DatasetConfig.from_mapping({"name": "X", "trial_generator": "drift_diffusion", key: value})

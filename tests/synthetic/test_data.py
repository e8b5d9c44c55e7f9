"""Data generation: utility scale, RT models, the vectorised drift diffusion against its closed form, strata."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import scipy.stats
from helpers import synthetic_config
from scipy.special import expit

from responserank.errors import ConfigError
from responserank.synthetic.config import DatasetConfig
from responserank.synthetic.data import (
    SyntheticDataset,
    dataset_from_frames,
    feature_columns,
    generate_dataset,
    hyperbolic_rt,
    init_mlp,
    lognormal_with_moments,
    true_utility_network,
)
from responserank.synthetic.drift_diffusion import (
    mean_decision_time,
    simulate_drift_diffusion,
    upper_hit_probability,
)
from responserank.synthetic.seeding import rng
from responserank.synthetic.trials import learner_init_params

DETERMINISTIC = synthetic_config("dataset=deterministic_all").dataset
STOCHASTIC = synthetic_config("dataset=stochastic").dataset
DDM = synthetic_config("dataset=drift_diffusion").dataset


def _large(config: DatasetConfig, **changes) -> DatasetConfig:
    return dataclasses.replace(config, num_train_samples=50, num_test_samples=30_000, **changes)


# ---------------------------------------------------------------------------------------------------------------
# Utilities and items
# ---------------------------------------------------------------------------------------------------------------


def test_utilities_are_rescaled_to_unit_sd_without_centering():
    dataset = generate_dataset(_large(DETERMINISTIC), 42, 1)
    pooled = np.concatenate([dataset.u1, dataset.u2])
    assert pooled.std() == pytest.approx(1.0, abs=1e-12)
    assert dataset.u1.std() == pytest.approx(1.0, abs=0.05)
    assert dataset.u2.std() == pytest.approx(1.0, abs=0.05)
    # No centering: the rescaled utilities are the raw network outputs times one positive constant.
    items = np.concatenate([dataset.x1, dataset.x2])
    from responserank.synthetic.data import mlp_forward

    raw = mlp_forward(true_utility_network(_large(DETERMINISTIC), 42, 1), items)
    np.testing.assert_allclose(pooled, raw / raw.std(), rtol=1e-12)
    assert abs(pooled.mean()) > 0.05  # a random network's output is not centred


def test_items_are_uniform_and_never_reused():
    dataset = generate_dataset(_large(DETERMINISTIC), 1, 1)
    items = np.concatenate([dataset.x1, dataset.x2])
    assert items.min() >= 0 and items.max() < 1
    assert scipy.stats.kstest(items[:, 3], "uniform").pvalue > 1e-3
    assert np.unique(items, axis=0).shape[0] == items.shape[0]


def test_true_network_uses_pytorch_default_linear_init_bounds():
    layers = init_mlp((20, 64, 64, 1), rng(0, 1, "true_network"))
    for (weight, bias), fan_in in zip(layers, (20, 64, 64), strict=True):
        bound = 1 / np.sqrt(fan_in)
        assert np.abs(weight).max() <= bound and np.abs(bias).max() <= bound
        assert np.abs(weight).max() > 0.9 * bound  # spread over the whole interval
    assert [w.shape for w, _ in layers] == [(20, 64), (64, 64), (64, 1)]


# ---------------------------------------------------------------------------------------------------------------
# Choice and RT models
# ---------------------------------------------------------------------------------------------------------------


def test_deterministic_choices_and_response_times():
    dataset = generate_dataset(dataclasses.replace(DETERMINISTIC, partition_rt_variability=0.0), 3, 2)
    np.testing.assert_array_equal(dataset.y, (dataset.u1 > dataset.u2).astype(int))
    np.testing.assert_allclose(dataset.t, 10 / (np.abs(dataset.u1 - dataset.u2) + 1), rtol=1e-15)


def test_hyperbolic_link():
    np.testing.assert_allclose(hyperbolic_rt(np.array([0.0, 1.0, 9.0]), 0.0, 10.0), [10.0, 5.0, 1.0])
    np.testing.assert_allclose(hyperbolic_rt(np.array([1.0]), 2.0, 10.0), [6.0])


@pytest.mark.parametrize("sd", [1.0, 0.4])
def test_lognormal_response_times_have_the_requested_mean_and_sd(sd):
    generator = np.random.default_rng(0)
    mean = generator.uniform(1.0, 10.0, size=200_000)
    t = lognormal_with_moments(mean, sd, generator)
    residual = t - mean
    assert residual.mean() == pytest.approx(0.0, abs=0.01)
    assert residual.std() == pytest.approx(sd, rel=0.02)
    assert (t > 0).all()


def test_stochastic_choices_follow_the_logistic_model():
    config = _large(STOCHASTIC, partition_rt_variability=0.0)
    dataset = generate_dataset(config, 5, 1)
    p = expit((dataset.u1 - dataset.u2) / 0.2)
    bins = np.digitize(p, [0.2, 0.4, 0.6, 0.8])
    for b in range(5):
        inside = bins == b
        se = np.sqrt(p[inside].mean() * (1 - p[inside].mean()) / inside.sum())
        assert abs(dataset.y[inside].mean() - p[inside].mean()) < 4 * se + 1e-3
    # RT is drawn independently of the choice: its lognormal CDF value given |Δu| is U(0, 1) for both
    # correct and incorrect choices.
    m = hyperbolic_rt(np.abs(dataset.u1 - dataset.u2), 0.0, 10.0)
    sigma = np.sqrt(np.log1p(0.4**2 / m**2))
    mu = np.log(m**2 / np.sqrt(m**2 + 0.4**2))
    level = scipy.stats.lognorm.cdf(dataset.t, s=sigma, scale=np.exp(mu))
    correct = dataset.y == (dataset.u1 > dataset.u2)
    assert scipy.stats.kstest(level[correct], "uniform").pvalue > 1e-3
    assert scipy.stats.kstest(level[~correct], "uniform").pvalue > 1e-3


# ---------------------------------------------------------------------------------------------------------------
# Drift diffusion
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("drift", [0.0, 0.2, 0.5, -0.5, 1.0])
def test_drift_diffusion_matches_the_closed_form(drift):
    """Choice probability and mean decision time of 6,000 walks against P = 1/(1+e^{−va/σ²}) and a/(2v)·tanh(·).

    The Euler walk with dt = 1 ms overshoots the boundaries by ≈ 0.58·σ·√dt ≈ 0.007 (0.6 % of a), which makes
    decision times ≈ 1–2 % longer than the continuous formula; hence the 4 % tolerance.
    """
    a, sigma, n = 1.2, 0.4, 6000
    upper, time = simulate_drift_diffusion(
        np.full(n, drift), threshold=a, noise_std=sigma, dt=0.001, rng=np.random.default_rng(11)
    )
    p = float(upper_hit_probability(drift, a, sigma))
    assert upper.mean() == pytest.approx(p, abs=4 * np.sqrt(p * (1 - p) / n) + 0.005)
    expected_time = float(mean_decision_time(drift, a, sigma))
    assert time.mean() == pytest.approx(expected_time, rel=0.04)
    assert time.min() >= 0.001
    np.testing.assert_allclose(time / 0.001, np.round(time / 0.001), atol=1e-6)


def test_closed_form_values_quoted_in_the_spec():
    assert float(mean_decision_time(0.0, 1.2, 0.4)) == pytest.approx(2.25)
    assert float(mean_decision_time(1.0, 1.2, 0.4)) == pytest.approx(0.60, abs=0.005)
    assert float(upper_hit_probability(0.2, 1.2, 0.4)) == pytest.approx(1 / (1 + np.exp(-1.5)))


def test_drift_diffusion_rejects_walks_that_never_finish():
    with pytest.raises(RuntimeError, match="max_time"):
        simulate_drift_diffusion(
            np.zeros(3), threshold=50.0, noise_std=0.01, dt=0.001, rng=np.random.default_rng(0), max_time=0.5
        )


def test_ddm_dataset_uses_normalised_drift_and_non_decision_time():
    config = dataclasses.replace(_large(DDM, partition_rt_variability=0.0), num_test_samples=8000)
    dataset = generate_dataset(config, 2, 1)
    assert dataset.t.min() > 0.3
    agreement = (dataset.y == (dataset.u1 > dataset.u2)).mean()
    # With drift SD 1 the expected agreement is E[1/(1 + e^{−7.5|v|})] over the drift distribution.
    drift = (dataset.u1 - dataset.u2) / (dataset.u1 - dataset.u2).std()
    expected = float(np.mean(upper_hit_probability(np.abs(drift), 1.2, 0.4)))
    assert agreement == pytest.approx(expected, abs=0.015)
    expected_rt = float(np.mean(mean_decision_time(drift, 1.2, 0.4))) + 0.3
    assert dataset.t.mean() == pytest.approx(expected_rt, rel=0.04)


# ---------------------------------------------------------------------------------------------------------------
# Strata and RT variability
# ---------------------------------------------------------------------------------------------------------------


def test_stratum_sizes_are_balanced():
    dataset = generate_dataset(dataclasses.replace(_large(STOCHASTIC), num_test_samples=10_000), 4, 1)
    sizes = np.bincount(dataset.partition_id, minlength=5)
    assert sizes.shape == (5,)
    assert np.all(np.abs(sizes / sizes.mean() - 1) < 0.1)


@pytest.mark.parametrize("config", [DETERMINISTIC, STOCHASTIC, DDM], ids=["det", "stoch", "ddm"])
def test_variability_is_a_pure_per_stratum_scale(config):
    """Same seed with and without variability: t_var / t_novar = m_k in stratum k (incl. the DDM's t0)."""
    with_var = generate_dataset(dataclasses.replace(config, partition_rt_variability=0.3), 8, 3)
    without = generate_dataset(dataclasses.replace(config, partition_rt_variability=0.0), 8, 3)
    np.testing.assert_array_equal(with_var.y, without.y)
    np.testing.assert_array_equal(with_var.partition_id, without.partition_id)
    np.testing.assert_allclose(
        with_var.t / without.t, with_var.multipliers[with_var.partition_id], rtol=1e-12
    )
    np.testing.assert_array_equal(without.multipliers, np.ones(5))


def test_multipliers_have_the_requested_spread():
    """``m_k = |N(1, c)|``: with many strata the per-stratum mean-RT ratios have SD ≈ c."""
    config = dataclasses.replace(
        _large(STOCHASTIC), num_test_samples=20_000, num_partitions=400, partition_rt_variability=0.3
    )
    with_var = generate_dataset(config, 9, 1)
    without = generate_dataset(dataclasses.replace(config, partition_rt_variability=0.0), 9, 1)
    ratios = np.array(
        [
            with_var.t[with_var.partition_id == k].mean() / without.t[without.partition_id == k].mean()
            for k in range(400)
        ]
    )
    assert ratios.std(ddof=1) == pytest.approx(0.3, abs=0.03)
    assert ratios.mean() == pytest.approx(1.0, abs=0.05)
    assert (ratios > 0).all()


# ---------------------------------------------------------------------------------------------------------------
# Seeding and files
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("config", [DETERMINISTIC, STOCHASTIC, DDM], ids=["det", "stoch", "ddm"])
def test_same_seed_same_dataset_other_trial_other_dataset(config):
    first, again = generate_dataset(config, 42, 1), generate_dataset(config, 42, 1)
    for field in ("x1", "x2", "u1", "u2", "y", "t", "partition_id"):
        np.testing.assert_array_equal(getattr(first, field), getattr(again, field))
    other = generate_dataset(config, 42, 2)
    assert not np.allclose(first.u1, other.u1)
    assert not np.allclose(first.x1, other.x1)


def test_fixed_true_network_is_shared_across_trials():
    fixed = dataclasses.replace(STOCHASTIC, fixed_true_network=True)
    one, two = true_utility_network(fixed, 42, 1), true_utility_network(fixed, 42, 2)
    np.testing.assert_array_equal(one[0][0], two[0][0])
    per_trial = true_utility_network(STOCHASTIC, 42, 1), true_utility_network(STOCHASTIC, 42, 2)
    assert not np.allclose(per_trial[0][0][0], per_trial[1][0][0])


def test_learner_init_is_independent_of_the_true_network():
    """The true network and the learners' initial weights come from separate, independent streams."""
    true_first = true_utility_network(STOCHASTIC, 42, 1)[0][0]
    learner_first = learner_init_params(20, (64,), 42, 1)[0]
    assert true_first.shape == learner_first.shape
    assert abs(np.corrcoef(true_first.ravel(), learner_first.ravel())[0, 1]) < 0.1


def test_csv_round_trip_keeps_columns_and_values(tmp_path):
    config = dataclasses.replace(STOCHASTIC, num_features=101)
    dataset = generate_dataset(config, 1, 1)
    names1, names2 = feature_columns(101)
    assert names1[0] == "x1_000" and names1[-1] == "x1_100" and names2[5] == "x2_005"
    assert feature_columns(20)[0][-1] == "x1_19"
    for part in ("train", "test"):
        dataset.to_frame(part).to_csv(tmp_path / f"{part}.csv", index=False)
    train, test = pd.read_csv(tmp_path / "train.csv"), pd.read_csv(tmp_path / "test.csv")
    assert list(train.columns) == [*names1, *names2, "u1", "u2", "y", "t", "partition_id"]
    assert len(train) == 50 and len(test) == 200
    back = dataset_from_frames(train, test)
    assert isinstance(back, SyntheticDataset)
    for field in ("x1", "x2", "u1", "u2", "y", "t", "partition_id"):
        np.testing.assert_array_equal(getattr(back, field), getattr(dataset, field))


def test_bad_dataset_config_is_rejected_with_the_key_named():
    with pytest.raises(ConfigError, match="trial_generator"):
        DatasetConfig.from_mapping({"name": "x", "trial_generator": "quantum"})
    with pytest.raises(ConfigError, match=r"dataset\.drift_diffusion\.dt"):
        DatasetConfig.from_mapping(
            {"name": "x", "trial_generator": "drift_diffusion", "drift_diffusion": {"dt": 0}}
        )
    with pytest.raises(ConfigError, match=r"dataset\.num_featres"):
        DatasetConfig.from_mapping({"name": "x", "trial_generator": "stochastic", "num_featres": 3})
    shipped = dataclasses.asdict(DDM)
    with pytest.raises(
        ConfigError, match=r"dataset\.drift_diffusion must be set for trial_generator=drift_diffusion"
    ):
        DatasetConfig.from_mapping({**shipped, "drift_diffusion": None})
    with pytest.raises(ConfigError, match=r"missing key\(s\) dataset\.num_features"):
        DatasetConfig.from_mapping({k: v for k, v in shipped.items() if k != "num_features"})
    assert DatasetConfig.from_mapping(shipped) == DDM


def test_configs_of_one_trial_share_their_random_streams():
    """Documented pairing: every config of a trial shares items, network and strata; twins share choices and RTs."""
    configs = {
        config.name: config
        for base in (DETERMINISTIC, STOCHASTIC, DDM)
        for config in (
            base,
            dataclasses.replace(base, name=base.name + " NoVar", partition_rt_variability=0.0),
        )
    }
    data = {name: generate_dataset(config, 42, 5) for name, config in configs.items()}
    first = data["Deterministic"]
    for dataset in data.values():
        np.testing.assert_array_equal(dataset.x1, first.x1)
        np.testing.assert_array_equal(dataset.u1, first.u1)
        np.testing.assert_array_equal(dataset.partition_id, first.partition_id)
    np.testing.assert_array_equal(data["Stochastic"].multipliers, first.multipliers)
    for base in ("Deterministic", "Stochastic", "Drift Diffusion"):
        twin, scaled = data[base + " NoVar"], data[base]
        np.testing.assert_array_equal(twin.y, scaled.y)
        np.testing.assert_allclose(scaled.t, twin.t * scaled.multipliers[twin.partition_id], rtol=1e-12)
    assert not np.array_equal(data["Stochastic"].y, data["Drift Diffusion"].y)

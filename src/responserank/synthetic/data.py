"""Synthetic datasets (one per trial): items, a random utility network, choices, response times and strata.

Pipeline for one trial (spec §1), every draw from its own named stream (:mod:`responserank.synthetic.seeding`):

1. ``2N`` items ``x ~ U[0, 1]^d``; comparison ``i`` pairs item ``i`` (option 1) with item ``N + i`` (option 2).
2. True utility ``u(x)``: a random MLP ``d → 64 → ReLU → 64 → ReLU → 1`` with PyTorch's default ``Linear`` init
   (weights and biases ``U(±1/√fan_in)``); all ``2N`` utilities are then divided by their population SD so that
   ``std(u) = utility_sd`` (no centering).
3. Choice ``y`` (1 = option 1 chosen) and response time ``t`` in seconds from the trial generator:
   deterministic ``y = 1[u1 > u2]``, ``t = g(|Δu|)``; stochastic ``y ~ Bernoulli(σ(Δu/T))``, ``t ~ LogNormal`` with
   mean ``g(|Δu|)`` and SD ``response_time_sd``; drift diffusion (vectorised walks, drift ``∝ Δu`` scaled to SD 1).
   ``g(Δ) = min_rt + (max_rt − min_rt)/(Δ + 1)`` is the hyperbolic link.
4. Strata: ``partition_id ~ UniformInt{0 … K−1}``; with ``partition_rt_variability c > 0`` every RT of stratum
   ``k`` is multiplied by ``m_k = |N(1, c)|`` (a per-annotator speed; within-stratum order is preserved).

Train = the first ``num_train_samples`` rows, test = the rest.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import expit
from threadpoolctl import threadpool_limits

from responserank.synthetic.config import DatasetConfig
from responserank.synthetic.drift_diffusion import simulate_drift_diffusion
from responserank.synthetic.seeding import rng as stream_rng

# --------------------------------------------------------------------------------------------------------------
# Building blocks
# --------------------------------------------------------------------------------------------------------------


def init_mlp(layer_sizes: tuple[int, ...], rng: np.random.Generator) -> list[tuple[np.ndarray, np.ndarray]]:
    """Weights of an MLP with PyTorch's default ``nn.Linear`` init: ``W, b ~ U(±1/√fan_in)``.

    Returns ``[(W [fan_in, fan_out], b [fan_out]), …]`` in float64 (``W`` is the transpose of ``Linear.weight``);
    layer by layer, weight then bias are drawn from ``rng`` in row-major order.
    """
    layers = []
    for fan_in, fan_out in itertools.pairwise(layer_sizes):
        bound = 1.0 / np.sqrt(fan_in)
        weight = rng.uniform(-bound, bound, size=(fan_in, fan_out))
        bias = rng.uniform(-bound, bound, size=fan_out)
        layers.append((weight, bias))
    return layers


def mlp_forward(layers: list[tuple[np.ndarray, np.ndarray]], x: np.ndarray) -> np.ndarray:
    """Apply ``Linear → ReLU → … → Linear`` to ``x [..., fan_in]``; returns ``[...]`` (the scalar output).

    The matrix products run on one BLAS thread: a multi-threaded BLAS sums in an order that depends on its thread
    count, so the true utilities would differ in the last bits between machines, process pools and Ray / SLURM
    workers (which start with one thread); with one thread they are the same everywhere.
    """
    h = x
    with threadpool_limits(limits=1, user_api="blas"):
        for index, (weight, bias) in enumerate(layers):
            h = h @ weight + bias
            if index < len(layers) - 1:
                h = np.maximum(h, 0.0)
    return h[..., 0]


def hyperbolic_rt(abs_delta: np.ndarray, min_rt: float, max_rt: float) -> np.ndarray:
    """``g(|Δu|) = min_rt + (max_rt − min_rt)/(|Δu| + 1)``: indifference is slow, large gaps are fast."""
    return min_rt + (max_rt - min_rt) / (abs_delta + 1.0)


def lognormal_with_moments(mean: np.ndarray, sd: float, rng: np.random.Generator) -> np.ndarray:
    """Lognormal draws with the given mean and SD in natural units.

    ``μ = ln(m²/√(m² + s²))``, ``σ_log = √(ln(1 + s²/m²))`` so that ``E[t] = m`` and ``SD[t] = s``.
    """
    mean = np.asarray(mean, dtype=np.float64)
    mu = np.log(mean**2 / np.sqrt(mean**2 + sd**2))
    sigma = np.sqrt(np.log1p(sd**2 / mean**2))
    return rng.lognormal(mu, sigma)


def stratum_multipliers(num_partitions: int, variability: float, rng: np.random.Generator) -> np.ndarray:
    """Per-stratum RT scale ``m_k = |N(1, c)|`` (``c`` = SD); all ones without drawing when ``c = 0``."""
    if variability == 0:
        return np.ones(num_partitions)
    return np.abs(rng.normal(1.0, variability, size=num_partitions))


# --------------------------------------------------------------------------------------------------------------
# A dataset
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SyntheticDataset:
    """``N`` comparisons (train rows first). Arrays have one row per comparison.

    Attributes:
        x1, x2: item features of option 1 / option 2, ``[N, d]``.
        u1, u2: true utilities, ``[N]``.
        y: ``[N]`` int, 1 if option 1 was chosen.
        t: ``[N]`` response time in seconds (after the stratum scaling).
        partition_id: ``[N]`` int stratum id in ``0 … K−1``.
        num_train: the first ``num_train`` rows are the training split.
        multipliers: ``[K]`` the per-stratum RT scales that were applied (ones without variability).
    """

    x1: np.ndarray
    x2: np.ndarray
    u1: np.ndarray
    u2: np.ndarray
    y: np.ndarray
    t: np.ndarray
    partition_id: np.ndarray
    num_train: int
    multipliers: np.ndarray

    @property
    def num_features(self) -> int:
        return self.x1.shape[1]

    def split(self, part: str) -> slice:
        """Row slice of ``"train"`` or ``"test"``."""
        if part == "train":
            return slice(0, self.num_train)
        if part == "test":
            return slice(self.num_train, self.y.shape[0])
        raise ValueError(f"part must be 'train' or 'test', got {part!r}")

    def to_frame(self, part: str | None = None) -> pd.DataFrame:
        """The dataset CSV layout: ``x1_00 … x1_{d-1}``, ``x2_…``, ``u1``, ``u2``, ``y``, ``t``, ``partition_id``."""
        rows = slice(None) if part is None else self.split(part)
        names1, names2 = feature_columns(self.num_features)
        columns = {
            **dict(zip(names1, self.x1[rows].T, strict=True)),
            **dict(zip(names2, self.x2[rows].T, strict=True)),
            "u1": self.u1[rows],
            "u2": self.u2[rows],
            "y": self.y[rows].astype(np.int64),
            "t": self.t[rows],
            "partition_id": self.partition_id[rows].astype(np.int64),
        }
        return pd.DataFrame(columns)


def feature_columns(num_features: int) -> tuple[list[str], list[str]]:
    """``x1_00 … x1_19`` and ``x2_…``: indices zero-padded to the digit count of ``num_features − 1``."""
    width = len(str(max(num_features - 1, 0)))
    return (
        [f"x1_{i:0{width}d}" for i in range(num_features)],
        [f"x2_{i:0{width}d}" for i in range(num_features)],
    )


def dataset_from_frames(train: pd.DataFrame, test: pd.DataFrame) -> SyntheticDataset:
    """Rebuild a dataset from its train and test tables (the CSV files); raises naming a missing column."""
    frame = pd.concat([train, test], ignore_index=True)
    x1_cols = sorted(c for c in frame.columns if c.startswith("x1_"))
    x2_cols = sorted(c for c in frame.columns if c.startswith("x2_"))
    if not x1_cols or len(x1_cols) != len(x2_cols):
        raise ValueError(
            f"dataset table needs matching x1_* and x2_* feature columns; got {list(frame.columns)}"
        )
    missing = [c for c in ("u1", "u2", "y", "t", "partition_id") if c not in frame.columns]
    if missing:
        raise ValueError(f"dataset table lacks column(s) {missing}")
    partition = frame["partition_id"].to_numpy(np.int64)
    return SyntheticDataset(
        x1=frame[x1_cols].to_numpy(np.float64),
        x2=frame[x2_cols].to_numpy(np.float64),
        u1=frame["u1"].to_numpy(np.float64),
        u2=frame["u2"].to_numpy(np.float64),
        y=frame["y"].to_numpy(np.int64),
        t=frame["t"].to_numpy(np.float64),
        partition_id=partition,
        num_train=len(train),
        multipliers=np.full(int(partition.max()) + 1 if partition.size else 0, np.nan),
    )


# --------------------------------------------------------------------------------------------------------------
# Generation
# --------------------------------------------------------------------------------------------------------------


def true_utility_network(
    config: DatasetConfig, random_seed: int, trial: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """The trial's true utility MLP (``fixed_true_network: true`` → one network for all trials)."""
    stream_trial = 0 if config.fixed_true_network else trial
    sizes = (config.num_features, *config.true_network_hidden_layers, 1)
    return init_mlp(sizes, stream_rng(random_seed, stream_trial, "true_network"))


def choices_and_response_times(
    config: DatasetConfig, u1: np.ndarray, u2: np.ndarray, random_seed: int, trial: int
) -> tuple[np.ndarray, np.ndarray]:
    """``(y, t)`` of the trial generator before stratum scaling; ``y`` is int (1 = option 1 chosen)."""
    delta = u1 - u2
    expected_rt = hyperbolic_rt(np.abs(delta), config.min_rt, config.max_rt)
    if config.trial_generator == "deterministic":
        return (delta > 0).astype(np.int64), expected_rt
    if config.trial_generator == "stochastic":
        choice_rng = stream_rng(random_seed, trial, "choice_noise")
        y = (choice_rng.random(delta.shape[0]) < expit(delta / config.choice_temperature)).astype(np.int64)
        t = lognormal_with_moments(
            expected_rt, config.response_time_sd, stream_rng(random_seed, trial, "rt_noise")
        )
        return y, t
    ddm = config.drift_diffusion
    drift = ddm.drift_rate_multiplier * delta
    if ddm.normalize_drift_rate_mean:
        drift = drift - drift.mean()
    if ddm.normalize_drift_rate_sd:
        sd = drift.std()
        if sd == 0:
            raise ValueError("cannot normalise drift rates to SD 1: all utility differences are equal")
        drift = drift / sd
    upper, decision_time = simulate_drift_diffusion(
        drift,
        threshold=ddm.decision_threshold,
        noise_std=ddm.noise_std,
        dt=ddm.dt,
        rng=stream_rng(random_seed, trial, "choice_noise"),
        max_time=ddm.max_time,
    )
    return upper.astype(np.int64), decision_time + ddm.non_decision_time


def add_rt_outliers(
    t: np.ndarray, fraction: float, max_delay: float, random_seed: int, trial: int
) -> np.ndarray:
    """Attention lapses: each RT independently, with probability ``fraction``, gets a delay ``U(0, max_delay)`` s.

    Choices are unchanged (the decision was made, only the response came late). Drawn from the stream
    ``rt_outliers`` (one uniform for "is it a lapse" and one for the delay per comparison, always both), before
    the per-stratum multipliers, so a lapse lasts longer for a slow annotator as everything else does.
    """
    draws = stream_rng(random_seed, trial, "rt_outliers").random((t.shape[0], 2))
    return t + np.where(draws[:, 0] < fraction, draws[:, 1] * max_delay, 0.0)


def generate_dataset(config: DatasetConfig, random_seed: int, trial: int) -> SyntheticDataset:
    """Simulate the dataset of trial ``trial`` (1-based) of an experiment seeded with ``random_seed``."""
    n = config.num_comparisons
    items = stream_rng(random_seed, trial, "items").random((2 * n, config.num_features))
    utility = mlp_forward(true_utility_network(config, random_seed, trial), items)
    sd = utility.std()
    if sd == 0:
        raise ValueError("the true utility network is constant on the items; cannot rescale to utility_sd")
    utility = utility * (config.utility_sd / sd)
    u1, u2 = utility[:n], utility[n:]
    y, t = choices_and_response_times(config, u1, u2, random_seed, trial)
    if config.rt_outlier_fraction:  # None (left out) or 0: no outliers
        t = add_rt_outliers(t, config.rt_outlier_fraction, config.rt_outlier_max_delay, random_seed, trial)

    partition_id = stream_rng(random_seed, trial, "strata").integers(0, config.num_partitions, size=n)
    multipliers = stratum_multipliers(
        config.num_partitions, config.partition_rt_variability, stream_rng(random_seed, trial, "multipliers")
    )
    t = t * multipliers[partition_id]
    return SyntheticDataset(
        x1=items[:n],
        x2=items[n:],
        u1=u1,
        u2=u2,
        y=y,
        t=t,
        partition_id=partition_id.astype(np.int64),
        num_train=config.num_train_samples,
        multipliers=multipliers,
    )

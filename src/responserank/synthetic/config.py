"""Typed, validated configuration of the synthetic experiments (built from the Hydra configs in ``conf/synthetic``).

The YAML files stay the user interface (``dataset=stochastic``, ``learners.bt.num_epochs=100``); this module turns
the composed config into frozen dataclasses and rejects bad values with a one-line :class:`ConfigError` naming the
key, before any work starts.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from responserank import cluster as cluster_tools
from responserank.errors import ConfigError
from responserank.resources import conf_dir, group_options, search_dirs

#: The shipped configs (package data ``responserank/conf/synthetic``; ``conf/synthetic`` in the repository).
CONF_DIR: Path = conf_dir("synthetic")

#: Learner order used in files, tables and figures.
LEARNER_ORDER = ("bt", "rt_regression", "rt_regression_perm", "rr", "rr_pooled", "rr_perm", "ddm")
TRIAL_GENERATORS = ("deterministic", "stochastic", "drift_diffusion")
LOSSES = ("bt", "rt_regression", "responserank", "ddm")


def available_options(group: str, user_dir: str | os.PathLike | None = None) -> list[str]:
    """Config names of a group (``dataset`` or ``learner``) in the shipped configs and ``user_dir``, sorted."""
    return group_options(search_dirs("synthetic", user_dir), group)


def _build(cls, section: str, values: Mapping[str, Any]):
    """Instantiate dataclass ``cls`` from ``values``; unknown keys are an error naming ``section.key``."""
    names = {f.name for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(values) - names)
    if unknown:
        raise ConfigError(
            f"unknown key(s) {', '.join(f'{section}.{k}' for k in unknown)}; valid keys: {', '.join(sorted(names))}"
        )
    try:
        return cls(**{k: v for k, v in values.items()})
    except TypeError as error:  # pragma: no cover - dataclass signature problems
        raise ConfigError(f"{section}: {error}") from None


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigError(message)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# --------------------------------------------------------------------------------------------------------------
# Dataset
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DriftDiffusionConfig:
    """Drift-diffusion parameters (times in seconds). Variability parameters of the full Ratcliff model are 0."""

    decision_threshold: float = 1.2
    non_decision_time: float = 0.3
    drift_rate_multiplier: float = 1.0
    noise_std: float = 0.4
    normalize_drift_rate_sd: bool = True
    normalize_drift_rate_mean: bool = False
    dt: float = 0.001
    max_time: float = 1000.0

    def validate(self, section: str) -> None:
        for key in ("decision_threshold", "noise_std", "dt", "max_time"):
            value = getattr(self, key)
            _require(
                _is_number(value) and value > 0, f"{section}.{key} must be a positive number, got {value!r}"
            )
        for key in ("non_decision_time", "drift_rate_multiplier"):
            value = getattr(self, key)
            _require(_is_number(value), f"{section}.{key} must be a number, got {value!r}")
        _require(self.non_decision_time >= 0, f"{section}.non_decision_time must be >= 0")
        for key in ("normalize_drift_rate_sd", "normalize_drift_rate_mean"):
            _require(isinstance(getattr(self, key), bool), f"{section}.{key} must be true or false")


@dataclass(frozen=True)
class DatasetConfig:
    """One of the six dataset configs (``conf/synthetic/dataset/*.yaml``); field names follow the original."""

    name: str
    trial_generator: str
    num_features: int = 20
    item_generator: str = "uniform"
    true_utility: str = "fixed_net_utility"
    true_network_hidden_layers: tuple[int, ...] = (64, 64)
    fixed_true_network: bool = False
    utility_sd: float = 1.0
    udiff_rt_rel: str = "hyperbolic"
    min_rt: float = 0.0
    max_rt: float = 10.0
    choice_temperature: float = 0.2
    response_time_sd: float = 0.4
    num_train_samples: int = 50
    num_test_samples: int = 200
    num_partitions: int = 5
    partition_rt_variability: float = 3.0
    rt_outlier_fraction: float = 0.0
    rt_outlier_max_delay: float = 20.0
    drift_diffusion: DriftDiffusionConfig = field(default_factory=DriftDiffusionConfig)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> DatasetConfig:
        values = dict(values)
        ddm = _build(
            DriftDiffusionConfig, "dataset.drift_diffusion", values.pop("drift_diffusion", None) or {}
        )
        if "true_network_hidden_layers" in values:
            values["true_network_hidden_layers"] = tuple(values["true_network_hidden_layers"])
        config = _build(cls, "dataset", {**values, "drift_diffusion": ddm})
        config.validate()
        return config

    @property
    def num_comparisons(self) -> int:
        return self.num_train_samples + self.num_test_samples

    def validate(self) -> None:
        _require(isinstance(self.name, str) and bool(self.name), "dataset.name must be a non-empty string")
        _require(
            self.trial_generator in TRIAL_GENERATORS,
            f"dataset.trial_generator={self.trial_generator!r} is not valid; expected one of {', '.join(TRIAL_GENERATORS)}",
        )
        _require(self.item_generator == "uniform", "dataset.item_generator must be 'uniform'")
        _require(self.true_utility == "fixed_net_utility", "dataset.true_utility must be 'fixed_net_utility'")
        _require(self.udiff_rt_rel == "hyperbolic", "dataset.udiff_rt_rel must be 'hyperbolic'")
        for key in ("num_features", "num_train_samples", "num_test_samples", "num_partitions"):
            value = getattr(self, key)
            _require(
                _is_int(value) and value >= 1, f"dataset.{key} must be a positive integer, got {value!r}"
            )
        _require(self.num_train_samples >= 2, "dataset.num_train_samples must be at least 2")
        _require(
            all(_is_int(h) and h >= 1 for h in self.true_network_hidden_layers),
            "dataset.true_network_hidden_layers must be a list of positive integers",
        )
        _require(
            isinstance(self.fixed_true_network, bool), "dataset.fixed_true_network must be true or false"
        )
        for key in ("utility_sd", "choice_temperature", "response_time_sd"):
            value = getattr(self, key)
            _require(
                _is_number(value) and value > 0, f"dataset.{key} must be a positive number, got {value!r}"
            )
        _require(
            _is_number(self.min_rt) and _is_number(self.max_rt) and 0 <= self.min_rt < self.max_rt,
            f"dataset.min_rt/max_rt must satisfy 0 <= min_rt < max_rt, got {self.min_rt!r}, {self.max_rt!r}",
        )
        _require(
            _is_number(self.partition_rt_variability) and self.partition_rt_variability >= 0,
            f"dataset.partition_rt_variability must be >= 0, got {self.partition_rt_variability!r}",
        )
        _require(
            _is_number(self.rt_outlier_fraction) and 0 <= self.rt_outlier_fraction < 1,
            f"dataset.rt_outlier_fraction must lie in [0, 1), got {self.rt_outlier_fraction!r}",
        )
        _require(
            _is_number(self.rt_outlier_max_delay) and self.rt_outlier_max_delay > 0,
            f"dataset.rt_outlier_max_delay must be a positive number, got {self.rt_outlier_max_delay!r}",
        )
        self.drift_diffusion.validate("dataset.drift_diffusion")


# --------------------------------------------------------------------------------------------------------------
# Learners
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LearnerConfig:
    """A learner (``conf/synthetic/learner/*.yaml``): loss, strata, RT permutation and training hyper-parameters."""

    name: str
    loss: str
    use_strata: bool = False
    permute_response_times: bool = False
    hidden_layers: tuple[int, ...] = (64,)
    num_epochs: int = 200
    learning_rate: float = 0.001
    l2_reg: float = 0.01
    label_smoothing: float | None = None
    min_rt: float = 0.0
    max_rt: float = 10.0
    ddm_learning_rate: float = 0.05

    @classmethod
    def from_mapping(cls, key: str, values: Mapping[str, Any]) -> LearnerConfig:
        values = dict(values)
        if "hidden_layers" in values:
            values["hidden_layers"] = tuple(values["hidden_layers"])
        config = _build(cls, f"learners.{key}", values)
        config.validate(f"learners.{key}")
        return config

    @property
    def training_key(self) -> tuple:
        """Hyper-parameters that must be equal for models to be trained in one batch.

        DDM models always get a batch of their own: float32 batched matmuls can round differently when the batch
        grows, so keeping them apart leaves the other learners' numbers bit-identical with or without ``ddm``.
        """
        key = (self.hidden_layers, self.num_epochs, self.learning_rate, self.l2_reg)
        return (*key, "ddm") if self.loss == "ddm" else key

    def validate(self, section: str) -> None:
        _require(isinstance(self.name, str) and bool(self.name), f"{section}.name must be a non-empty string")
        _require(
            self.loss in LOSSES,
            f"{section}.loss={self.loss!r} is not valid; expected one of {', '.join(LOSSES)}",
        )
        for key in ("use_strata", "permute_response_times"):
            _require(isinstance(getattr(self, key), bool), f"{section}.{key} must be true or false")
        _require(
            len(self.hidden_layers) >= 1 and all(_is_int(h) and h >= 1 for h in self.hidden_layers),
            f"{section}.hidden_layers must be a non-empty list of positive integers, got {list(self.hidden_layers)}",
        )
        _require(
            _is_int(self.num_epochs) and self.num_epochs >= 1,
            f"{section}.num_epochs must be a positive integer, got {self.num_epochs!r}",
        )
        _require(
            _is_number(self.learning_rate) and self.learning_rate > 0,
            f"{section}.learning_rate must be a positive number, got {self.learning_rate!r}",
        )
        _require(
            _is_number(self.l2_reg) and self.l2_reg >= 0,
            f"{section}.l2_reg must be >= 0, got {self.l2_reg!r}",
        )
        _require(
            self.label_smoothing is None
            or (_is_number(self.label_smoothing) and 0 <= self.label_smoothing <= 0.5),
            f"{section}.label_smoothing must be null or in [0, 0.5], got {self.label_smoothing!r}",
        )
        _require(
            _is_number(self.min_rt) and _is_number(self.max_rt) and self.min_rt < self.max_rt,
            f"{section}.min_rt must be < max_rt",
        )
        _require(
            _is_number(self.ddm_learning_rate) and self.ddm_learning_rate > 0,
            f"{section}.ddm_learning_rate must be a positive number, got {self.ddm_learning_rate!r}",
        )


# --------------------------------------------------------------------------------------------------------------
# Experiment
# --------------------------------------------------------------------------------------------------------------

#: Top-level keys that do not change any number (execution knobs); everything else must match to resume.
EXECUTION_KEYS = ("resume", "execution_backend", "show_progress")
EXECUTION_BACKENDS = ("local", "ray", "slurm")


@dataclass(frozen=True)
class ExecutionBackendConfig:
    """Where the trial batches run (``conf/synthetic/execution_backend/{local,ray,slurm}.yaml``); never changes a number.

    * ``local``: a process pool of ``num_processes`` one-thread workers on this machine (inline for one).
    * ``ray``: chunks of ``batches_per_task`` batches as Ray tasks (one CPU each) on the cluster at ``address``
      (``auto``, ``<host>:<port>``, or null to start a local instance with ``num_cpus`` CPUs); the driver writes
      every returned trial into the run folder.
    * ``slurm``: one submitit job array, one task per chunk, each task writing its trial folders itself, so the run
      folder must be on a filesystem shared with the compute nodes; submitit's job files go to ``folder`` (null:
      ``<run folder>/.submitit``). ``cluster=local`` runs the same array through submitit's local executor
      (subprocesses on this machine, no SLURM needed). ``time`` is ``minutes`` or ``[days-]hours:minutes:seconds``.
    """

    name: str = "local"
    num_processes: int | None = None
    address: str | None = None
    num_cpus: int | None = None
    batches_per_task: int = 1
    cluster: str = "slurm"
    folder: str | None = None
    partition: str | None = None
    time: str | int = "1:00:00"
    cpus_per_task: int = 1
    mem_gb: float | None = None
    account: str | None = None
    qos: str | None = None
    array_parallelism: int = 256
    setup: tuple[str, ...] = ()

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> ExecutionBackendConfig:
        values = dict(values)
        if isinstance(values.get("setup"), list | tuple):
            values["setup"] = tuple(values["setup"])
        config = _build(cls, "execution_backend", values)
        config.validate()
        return config

    @property
    def timeout_min(self) -> int:
        """``time`` in whole minutes (at least 1)."""
        return parse_time_minutes(self.time, "execution_backend.time")

    def validate(self) -> None:
        _require(
            self.name in EXECUTION_BACKENDS,
            f"execution_backend={self.name!r} is not valid; expected one of {', '.join(EXECUTION_BACKENDS)}",
        )
        _require(
            self.num_processes is None or _is_int(self.num_processes),
            f"execution_backend.num_processes must be null or an integer, got {self.num_processes!r}",
        )
        _require(
            self.address is None or (isinstance(self.address, str) and bool(self.address)),
            f"execution_backend.address must be null, 'auto' or '<host>:<port>', got {self.address!r}",
        )
        for key in ("num_cpus", "mem_gb"):
            value = getattr(self, key)
            _require(
                value is None or (_is_number(value) and value > 0),
                f"execution_backend.{key} must be null or a positive number, got {value!r}",
            )
        for key in ("batches_per_task", "cpus_per_task", "array_parallelism"):
            value = getattr(self, key)
            _require(
                _is_int(value) and value >= 1,
                f"execution_backend.{key} must be a positive integer, got {value!r}",
            )
        _require(
            self.cluster in cluster_tools.SUBMITIT_CLUSTERS,
            f"execution_backend.cluster={self.cluster!r} is not valid; expected one of {', '.join(cluster_tools.SUBMITIT_CLUSTERS)}",
        )
        _require(
            all(isinstance(line, str) for line in self.setup),
            "execution_backend.setup must be a list of shell lines",
        )
        self.timeout_min  # noqa: B018 - validates ``time``

    def require_modules(self) -> None:
        """One-line :class:`ConfigError` naming the extra when the backend's engine is not installed."""
        module = {"ray": "ray", "slurm": "submitit"}.get(self.name)
        message = module and cluster_tools.missing_engine_message(f"execution_backend={self.name}", module)
        if message:
            raise ConfigError(message)


def parse_time_minutes(value: Any, key: str) -> int:
    """SLURM-style time limit → whole minutes (:func:`responserank.cluster.parse_time_minutes`); ConfigError."""
    try:
        return cluster_tools.parse_time_minutes(value, key)
    except ValueError as error:
        raise ConfigError(str(error)) from None


@dataclass(frozen=True)
class ExperimentConfig:
    """The runner's configuration (``conf/synthetic/config.yaml`` after overrides)."""

    dataset_key: str
    dataset: DatasetConfig
    learners: dict[str, LearnerConfig]
    num_trials: int = 100
    random_seed: int = 42
    version: int = 2
    dataset_sizes: tuple[float, ...] = (0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
    trials_per_batch: int = 4
    log_epoch_metrics: bool = False
    save_datasets: bool = True
    execution_backend: ExecutionBackendConfig = field(default_factory=ExecutionBackendConfig)
    show_progress: bool = True
    resume: str | None = None

    @classmethod
    def from_mapping(
        cls, values: Mapping[str, Any], dataset_key: str, user_dir: str | os.PathLike | None = None
    ) -> ExperimentConfig:
        """Build from the resolved config as a plain dict (``OmegaConf.to_container(cfg, resolve=True)``)."""
        values = dict(values)
        allowed = {
            "dataset",
            "learners",
            "num_trials",
            "random_seed",
            "version",
            "dataset_sizes",
            "trials_per_batch",
            "log_epoch_metrics",
            "save_datasets",
            "execution_backend",
            "show_progress",
            "resume",
        }
        unknown = sorted(set(values) - allowed)
        if unknown:
            raise ConfigError(
                f"unknown top-level key(s) {', '.join(unknown)}; valid: {', '.join(sorted(allowed))}"
            )
        _require(
            dataset_key in available_options("dataset", user_dir),
            _unknown_dataset_message(dataset_key, user_dir),
        )
        dataset = DatasetConfig.from_mapping(values.pop("dataset"))
        raw_learners = values.pop("learners") or {}
        _require(
            isinstance(raw_learners, Mapping) and len(raw_learners) > 0,
            "learners must name at least one learner",
        )
        learners = {key: LearnerConfig.from_mapping(key, spec or {}) for key, spec in raw_learners.items()}
        backend = ExecutionBackendConfig.from_mapping(values.pop("execution_backend", None) or {})
        sizes = values.pop("dataset_sizes", cls.dataset_sizes)
        _require(
            isinstance(sizes, list | tuple) and len(sizes) > 0,
            f"dataset_sizes must be a non-empty list, got {sizes!r}",
        )
        config = cls(
            dataset_key=dataset_key,
            dataset=dataset,
            learners=learners,
            dataset_sizes=tuple(sizes),
            execution_backend=backend,
            **values,
        )
        config.validate()
        return config

    def validate(self) -> None:
        _require(
            _is_int(self.num_trials) and self.num_trials >= 1,
            f"num_trials must be an integer >= 1, got {self.num_trials!r}",
        )
        _require(
            _is_int(self.random_seed) and self.random_seed >= 0,
            f"random_seed must be a non-negative integer, got {self.random_seed!r}",
        )
        for size in self.dataset_sizes:
            _require(
                _is_number(size) and 0 < size <= 1,
                f"dataset_sizes must lie in (0, 1], got {size!r} in {list(self.dataset_sizes)}",
            )
        percents = [size_percent(s) for s in self.dataset_sizes]
        _require(
            len(set(percents)) == len(percents),
            f"dataset_sizes {list(self.dataset_sizes)} map to duplicate file names (frac_<int(100·f)>)",
        )
        for size in self.dataset_sizes:
            rows = num_train_rows(size, self.dataset.num_train_samples)
            _require(
                rows >= 2,
                f"dataset size {size} keeps only {rows} of {self.dataset.num_train_samples} train pairs; need at least 2",
            )
        _require(
            _is_int(self.trials_per_batch) and self.trials_per_batch >= 1,
            f"trials_per_batch must be a positive integer, got {self.trials_per_batch!r}",
        )
        for key in ("log_epoch_metrics", "save_datasets", "show_progress"):
            _require(isinstance(getattr(self, key), bool), f"{key} must be true or false")

    @property
    def num_processes(self) -> int | None:
        """Worker processes of the ``local`` backend (``execution_backend.num_processes``)."""
        return self.execution_backend.num_processes

    def sizes_sorted(self) -> tuple[float, ...]:
        return tuple(sorted(self.dataset_sizes))


def _unknown_dataset_message(key: str, user_dir: str | os.PathLike | None = None) -> str:
    return f"unknown dataset {key!r}; valid datasets: {', '.join(available_options('dataset', user_dir))}"


def size_percent(fraction: float) -> int:
    """The ``<pct>`` of ``<learner>_frac_<pct>_results.json``: ``int(100·f)`` (rounded to absorb 0.7·100 = 70.000…01)."""
    return int(round(100 * fraction, 6))


def num_train_rows(fraction: float, num_train: int) -> int:
    """Train rows used at a dataset size: the prefix of ``int(num_train·f)`` rows (rounding guards 0.7·50 = 34.999…)."""
    return int(round(num_train * fraction, 6))


def resolve_num_processes(requested: int | None) -> int:
    """Worker processes: ``None`` = all usable CPUs (``SLURM_CPUS_PER_TASK`` if set), negative ``n`` = CPUs + n."""
    if os.environ.get("SLURM_CPUS_PER_TASK"):
        cpus = int(os.environ["SLURM_CPUS_PER_TASK"])
    elif hasattr(os, "sched_getaffinity"):
        cpus = len(os.sched_getaffinity(0))
    else:  # pragma: no cover
        cpus = os.cpu_count() or 1
    if requested is None or requested == 0:
        return max(1, cpus)
    if requested < 0:
        return max(1, cpus + requested)
    return requested

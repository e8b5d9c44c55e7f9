"""Typed, validated configuration of the synthetic experiments (built from the Hydra configs in ``conf/synthetic``).

The YAML files are the user interface (``dataset=stochastic``, ``learners.bt.num_epochs=100``) and the only place
of default values; this module turns the composed config into frozen dataclasses and rejects bad values with a
one-line :class:`ConfigError` naming the key, before any work starts. Each value is checked against its field's
type (``Annotated[int, Range(1)]``: an integer >= 1; ``Literal[...]``: one of the listed words); a key may be left
out of the YAML only when its field may be None (an option of another loss, generator or backend).
"""

from __future__ import annotations

import dataclasses
import math
import os
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from responserank import cluster as cluster_tools
from responserank.errors import ConfigError
from responserank.resources import conf_dir, group_options, search_dirs

#: The shipped configs (package data ``responserank/conf/synthetic``; ``conf/synthetic`` in the repository).
CONF_DIR: Path = conf_dir("synthetic")

#: Learner order used in files, tables and figures.
LEARNER_ORDER = ("bt", "rt_regression", "rt_regression_perm", "rr", "rr_pooled", "rr_perm", "ddm")
TRIAL_GENERATORS = ("deterministic", "stochastic", "drift_diffusion")
LOSSES = ("bt", "rt_regression", "responserank", "ddm")
EXECUTION_BACKENDS = ("local", "ray", "slurm")
#: Top-level keys that do not change any number (execution knobs); everything else must match to resume.
EXECUTION_KEYS = ("resume", "execution_backend", "show_progress")


def available_options(group: str, user_dir: str | os.PathLike | None = None) -> list[str]:
    """Config names of a group (``dataset`` or ``learner``) in the shipped configs and ``user_dir``, sorted."""
    return group_options(search_dirs("synthetic", user_dir), group)


# --------------------------------------------------------------------------------------------------------------
# Checking a mapping against the field types of a dataclass
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Range:
    """The allowed interval of a number field, e.g. ``Annotated[float, Range(0, 1, "[)")]``."""

    low: float
    high: float = math.inf
    bounds: str = "[]"

    def __contains__(self, value: float) -> bool:
        above = self.low <= value if self.bounds[0] == "[" else self.low < value
        return above and (value <= self.high if self.bounds[1] == "]" else value < self.high)

    def __str__(self) -> str:
        if self.high == math.inf:
            return f"{'>=' if self.bounds[0] == '[' else '>'} {self.low:g}"
        return f"in {self.bounds[0]}{self.low:g}, {self.high:g}{self.bounds[1]}"


PositiveInt = Annotated[int, Range(1)]
PositiveFloat = Annotated[float, Range(0, bounds="(]")]
NonNegativeFloat = Annotated[float, Range(0)]
_UNIONS = (typing.Union, types.UnionType)


def _matches(kind: Any, value: Any) -> bool:
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin is Annotated:
        return _matches(args[0], value) and value in args[1]
    if origin in _UNIONS:
        return any(_matches(arm, value) for arm in args)
    if origin is Literal:
        return value in args
    if origin is tuple:
        return isinstance(value, list | tuple) and all(_matches(args[0], item) for item in value)
    if kind in (int, float) and (isinstance(value, bool) or not isinstance(value, int | float)):
        return False
    if kind is float:
        return math.isfinite(value)
    return isinstance(value, kind) and value != ""


def _describe(kind: Any) -> str:
    """``kind`` in words: ``Annotated[int, Range(1)] | None`` → "null or an integer >= 1"."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin is Annotated:
        return f"{_describe(args[0])} {args[1]}"
    if origin in _UNIONS:
        return " or ".join(_describe(arm) for arm in sorted(args, key=lambda arm: arm is not type(None)))
    if origin is Literal:
        return f"one of {', '.join(map(str, args))}"
    if origin is tuple:
        return f"a list, each {_describe(args[0])}"
    names = {type(None): "null", bool: "true or false", int: "an integer", float: "a number"}
    return names.get(kind, "a non-empty string")


def _key(section: str, name: str) -> str:
    return f"{section}.{name}" if section else name


def _value(kind: Any, key: str, value: Any) -> Any:
    """``value`` of option ``key`` checked against the field type ``kind``: lists become tuples, mappings the
    dataclass of the field; a one-line :class:`ConfigError` naming the key and the value otherwise."""
    arms = [arm for arm in typing.get_args(kind) if arm is not type(None)]
    inner = arms[0] if typing.get_origin(kind) in _UNIONS and len(arms) == 1 else kind
    if dataclasses.is_dataclass(inner) and (value is not None or inner is kind):
        return _build(inner, key, value or {})
    if typing.get_origin(inner) is dict:
        _require(isinstance(value, Mapping), f"{key} must map names to configs, got {value!r}")
        return {
            name: _value(typing.get_args(inner)[1], f"{key}.{name}", item) for name, item in value.items()
        }
    if typing.get_origin(inner) is Literal and value is not None and value not in typing.get_args(inner):
        choices = ", ".join(map(str, typing.get_args(inner)))
        raise ConfigError(f"{key}={value!r} is not valid; expected one of {choices}")
    if not _matches(kind, value):
        raise ConfigError(f"{key} must be {_describe(kind)}, got {value!r}")
    return tuple(value) if isinstance(value, list) else value


def _build(cls, section: str, values: Any, **given: Any):
    """Instantiate dataclass ``cls`` from the mapping ``values`` of option ``section`` (``given``: fields set by
    the code). Unknown keys, bad values and missing keys are errors, in this order; then ``cls.validate``
    checks the combinations."""
    if not isinstance(values, Mapping):
        raise ConfigError(f"{section} must be a mapping of keys to values, got {values!r}")
    kinds = typing.get_type_hints(cls, include_extras=True)
    names = [field.name for field in dataclasses.fields(cls) if field.name not in given]
    unknown = sorted(set(values) - set(names))
    if unknown:
        shown = ", ".join(_key(section, name) for name in unknown)
        raise ConfigError(f"unknown key(s) {shown}; valid keys: {', '.join(sorted(names))}")
    checked = {
        name: _value(kinds[name], _key(section, name), values[name]) for name in names if name in values
    }
    missing = [name for name in names if name not in values and not _matches(kinds[name], None)]
    if missing:
        raise ConfigError(f"missing key(s) {', '.join(_key(section, name) for name in missing)}")
    config = cls(**{name: checked.get(name) for name in names}, **given)
    if hasattr(config, "validate"):
        config.validate(section)
    return config


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigError(message)


def _require_keys(config: Any, section: str, names: tuple[str, ...], reason: str) -> None:
    missing = [_key(section, name) for name in names if getattr(config, name) is None]
    _require(not missing, f"{', '.join(missing)} must be set {reason}")


# --------------------------------------------------------------------------------------------------------------
# Dataset
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DriftDiffusionConfig:
    """Drift-diffusion parameters (times in seconds). Variability parameters of the full Ratcliff model are 0."""

    decision_threshold: PositiveFloat
    non_decision_time: NonNegativeFloat
    drift_rate_multiplier: float
    noise_std: PositiveFloat
    normalize_drift_rate_sd: bool
    normalize_drift_rate_mean: bool
    dt: PositiveFloat
    max_time: PositiveFloat


@dataclass(frozen=True)
class DatasetConfig:
    """One of the dataset configs (``conf/synthetic/dataset/*.yaml``); field names follow the original.

    ``drift_diffusion`` is needed by the drift-diffusion generator only; ``rt_outlier_fraction`` None (left out)
    means no RT outliers, like 0.
    """

    name: str
    trial_generator: Literal[TRIAL_GENERATORS]
    num_features: PositiveInt
    item_generator: Literal["uniform"]
    true_utility: Literal["fixed_net_utility"]
    true_network_hidden_layers: tuple[PositiveInt, ...]
    fixed_true_network: bool
    utility_sd: PositiveFloat
    udiff_rt_rel: Literal["hyperbolic"]
    min_rt: NonNegativeFloat
    max_rt: float
    choice_temperature: PositiveFloat
    response_time_sd: PositiveFloat
    num_train_samples: Annotated[int, Range(2)]
    num_test_samples: PositiveInt
    num_partitions: PositiveInt
    partition_rt_variability: NonNegativeFloat
    rt_outlier_fraction: Annotated[float, Range(0, 1, "[)")] | None
    rt_outlier_max_delay: PositiveFloat | None
    drift_diffusion: DriftDiffusionConfig | None

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> DatasetConfig:
        return _build(cls, "dataset", values)

    @property
    def num_comparisons(self) -> int:
        return self.num_train_samples + self.num_test_samples

    def validate(self, section: str = "dataset") -> None:
        _require(
            self.min_rt < self.max_rt,
            f"{section}.min_rt/max_rt must satisfy 0 <= min_rt < max_rt, got {self.min_rt!r}, {self.max_rt!r}",
        )
        if self.trial_generator == "drift_diffusion":
            _require_keys(self, section, ("drift_diffusion",), "for trial_generator=drift_diffusion")
        if self.rt_outlier_fraction:
            _require_keys(self, section, ("rt_outlier_max_delay",), "when rt_outlier_fraction > 0")


# --------------------------------------------------------------------------------------------------------------
# Learners
# --------------------------------------------------------------------------------------------------------------

#: Keys a loss needs beyond the common ones (other learners may leave them out).
LOSS_KEYS = {"rt_regression": ("min_rt", "max_rt"), "ddm": ("ddm_learning_rate",)}


@dataclass(frozen=True)
class LearnerConfig:
    """A learner (``conf/synthetic/learner/*.yaml``): loss, strata, RT permutation and training hyper-parameters."""

    name: str
    loss: Literal[LOSSES]
    use_strata: bool
    permute_response_times: bool
    hidden_layers: tuple[PositiveInt, ...]
    num_epochs: PositiveInt
    learning_rate: PositiveFloat
    l2_reg: NonNegativeFloat
    label_smoothing: Annotated[float, Range(0, 0.5)] | None
    min_rt: float | None
    max_rt: float | None
    ddm_learning_rate: PositiveFloat | None

    @classmethod
    def from_mapping(cls, key: str, values: Mapping[str, Any]) -> LearnerConfig:
        return _build(cls, f"learners.{key}", values)

    @property
    def training_key(self) -> tuple:
        """Hyper-parameters that must be equal for models to be trained in one batch.

        DDM models always get a batch of their own: float32 batched matmuls can round differently when the batch
        grows, so keeping them apart leaves the other learners' numbers bit-identical with or without ``ddm``.
        """
        key = (self.hidden_layers, self.num_epochs, self.learning_rate, self.l2_reg)
        return (*key, "ddm") if self.loss == "ddm" else key

    def validate(self, section: str) -> None:
        _require(len(self.hidden_layers) >= 1, f"{section}.hidden_layers must be a non-empty list")
        _require_keys(self, section, LOSS_KEYS.get(self.loss, ()), f"for loss {self.loss}")
        _require(
            self.min_rt is None or self.max_rt is None or self.min_rt < self.max_rt,
            f"{section}.min_rt must be < max_rt, got {self.min_rt!r}, {self.max_rt!r}",
        )


# --------------------------------------------------------------------------------------------------------------
# Experiment
# --------------------------------------------------------------------------------------------------------------

#: Keys each backend needs (other backends may leave them out).
BACKEND_KEYS = {
    "ray": ("batches_per_task",),
    "slurm": ("cluster", "time", "cpus_per_task", "array_parallelism", "batches_per_task", "setup"),
}


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

    Keys of the other backends are None.
    """

    name: Literal[EXECUTION_BACKENDS]
    num_processes: int | None
    address: str | None
    num_cpus: PositiveFloat | None
    batches_per_task: PositiveInt | None
    cluster: Literal[cluster_tools.SUBMITIT_CLUSTERS] | None
    folder: str | None
    partition: str | None
    time: str | int | None
    cpus_per_task: PositiveInt | None
    mem_gb: PositiveFloat | None
    account: str | None
    qos: str | None
    array_parallelism: PositiveInt | None
    setup: tuple[str, ...] | None

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> ExecutionBackendConfig:
        return _build(cls, "execution_backend", values)

    @property
    def timeout_min(self) -> int:
        """``time`` in whole minutes (at least 1)."""
        return parse_time_minutes(self.time, "execution_backend.time")

    def validate(self, section: str = "execution_backend") -> None:
        _require_keys(self, section, BACKEND_KEYS.get(self.name, ()), f"for execution_backend={self.name}")
        if self.time is not None:
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
    num_trials: PositiveInt
    random_seed: Annotated[int, Range(0)]
    version: int
    dataset_sizes: tuple[float, ...]
    trials_per_batch: PositiveInt
    log_epoch_metrics: bool
    save_datasets: bool
    execution_backend: ExecutionBackendConfig
    show_progress: bool
    resume: str | None

    @classmethod
    def from_mapping(
        cls, values: Mapping[str, Any], dataset_key: str, user_dir: str | os.PathLike | None = None
    ) -> ExperimentConfig:
        """Build from the resolved config as a plain dict (``OmegaConf.to_container(cfg, resolve=True)``)."""
        _require(
            dataset_key in available_options("dataset", user_dir),
            _unknown_dataset_message(dataset_key, user_dir),
        )
        return _build(cls, "", values, dataset_key=dataset_key)

    def validate(self, section: str = "") -> None:
        _require(len(self.learners) > 0, "learners must name at least one learner")
        _require(len(self.dataset_sizes) > 0, "dataset_sizes must be a non-empty list")
        for size in self.dataset_sizes:
            _require(
                0 < size <= 1, f"dataset_sizes must lie in (0, 1], got {size!r} in {list(self.dataset_sizes)}"
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

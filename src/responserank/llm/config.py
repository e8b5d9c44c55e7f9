"""Hydra configuration of the LLM experiments: compose ``conf/llm`` with a preset and overrides, validate it.

``compose_config(["experiment=rr_agree", "seed=43"])`` gives the same resolved config as the command line
``python -m responserank.llm.train experiment=rr_agree seed=43``. Every problem — an unknown preset, a misspelt
key, an option outside its range — raises :class:`PipelineError` with a one-line message *before* any data is
touched.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from responserank.errors import PipelineError
from responserank.llm.batching import PACKERS
from responserank.llm.partitioning import (
    DATASET_SAMPLERS,
    NO_OP_NAMES,
    PARTITIONERS,
    RANK_FILTERS,
    RANK_TRANSFORMS,
    STRATIFIERS,
)
from responserank.llm.signals import BT_TARGETS, TRAIN_PROCESSORS
from responserank.resources import conf_dir, group_options, initialize_config_dirs, search_dirs

#: The shipped configs (package data ``responserank/conf/llm``; ``conf/llm`` in the repository).
CONF_DIR: Path = conf_dir("llm")
PRESET_DIR = CONF_DIR / "experiment"
SAMPLERS = ("fixed_size", "random")


def _search_dirs(config_dir: str | os.PathLike | None) -> list[Path]:
    try:
        return search_dirs("llm", config_dir)
    except FileNotFoundError as error:
        raise PipelineError(str(error)) from None


def available_presets(config_dir: str | os.PathLike | None = None) -> list[str]:
    """Names usable as ``experiment=<name>``: files in ``conf/llm/experiment`` (and ``<config_dir>/experiment``)
    not starting with ``_``."""
    return group_options(_search_dirs(config_dir), "experiment")


def _one_line(text: str) -> str:
    return " ".join(part.strip() for part in str(text).strip().splitlines() if part.strip())


def compose_config(
    overrides: list[str], config_dir: str | os.PathLike | None = None, return_hydra_config: bool = False
) -> DictConfig:
    """Compose ``conf/llm/config.yaml`` with Hydra overrides (``experiment=<preset>`` is required).

    ``config_dir`` is a folder of the user's own presets (``experiment/<name>.yaml``), searched after the
    shipped configs as with Hydra's ``--config-dir``. ``return_hydra_config=True`` keeps the ``hydra`` node (run
    folder, choices) for the trainer.
    """
    from hydra import compose
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    dirs = _search_dirs(config_dir)
    presets = group_options(dirs, "experiment")
    chosen = [
        o.split("=", 1)[1] for o in overrides if o.split("=", 1)[0].lstrip("+~") == "experiment" and "=" in o
    ]
    if not chosen:
        raise PipelineError(f"choose a preset with experiment=<name>; valid presets: {', '.join(presets)}")
    if chosen[-1] not in presets:
        raise PipelineError(f"unknown preset experiment={chosen[-1]!r}; valid presets: {', '.join(presets)}")
    added = _added_keys(overrides, dirs)
    try:
        with initialize_config_dirs(dirs, version_base=None, job_name="rr_llm"):
            cfg = compose(
                config_name="config", overrides=list(overrides), return_hydra_config=return_hydra_config
            )
            if added:  # '+key=…' and '++key=…' may only touch keys the config already has
                base = compose(config_name="config", overrides=[o for o in overrides if o not in added])
    except (HydraException, OmegaConfBaseException, ValueError) as error:
        raise PipelineError(f"invalid configuration: {_one_line(error)}") from error
    for text, key in added.items():
        if not _has_key(base, key):
            raise PipelineError(
                f"unknown key {key!r} in override {text!r}: the config has no such option (every option is listed "
                "in conf/llm/config.yaml and conf/llm/experiment/_base.yaml; '+' cannot add new ones)"
            )
    return cfg


_ABSENT = object()


def _has_key(cfg: DictConfig, key: str) -> bool:
    """True if ``key`` (dotted) exists in ``cfg``, also when its value is null or still missing (``???``)."""
    from omegaconf.errors import MissingMandatoryValue

    try:
        return OmegaConf.select(cfg, key, default=_ABSENT, throw_on_missing=True) is not _ABSENT
    except MissingMandatoryValue:
        return True


def _added_keys(overrides: list[str], dirs: list[Path]) -> dict[str, str]:
    """``{override text: key}`` of the ``+key=…`` / ``++key=…`` overrides of config *keys* (not of config groups
    such as ``+experiment=bt``, nor Hydra's own ``hydra.*`` settings)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    try:
        parsed = OverridesParser.create().parse_overrides(list(overrides))
    except HydraException:
        return {}  # compose reports the syntax error in one line
    added = {}
    for text, override in zip(overrides, parsed, strict=True):
        key = override.key_or_group
        if not (override.is_add() or override.is_force_add()) or key == "hydra" or key.startswith("hydra."):
            continue
        if any((folder / key).is_dir() for folder in dirs):  # a config group
            continue
        added[text] = key
    return added


def to_container(cfg: DictConfig) -> dict[str, Any]:
    """The resolved config as plain Python data (interpolations resolved)."""
    try:
        return OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True)  # type: ignore[return-value]
    except Exception as error:
        raise PipelineError(f"invalid configuration: {_one_line(error)}") from error


def _choice(value: Any, options: tuple[str, ...], key: str) -> None:
    allowed = options + (NO_OP_NAMES if any(o in NO_OP_NAMES for o in options) else ())
    if value not in allowed:
        raise PipelineError(
            f"experiment.{key}={value!r} is not a valid option; expected one of {list(options)}"
        )


def _unit_interval(value: Any, key: str, *, closed_at_zero: bool = False) -> None:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    ok = ok and (0.0 <= value <= 1.0 if closed_at_zero else 0.0 < value <= 1.0)
    if not ok:
        interval = "[0, 1]" if closed_at_zero else "(0, 1]"
        raise PipelineError(f"experiment.{key} must lie in {interval}, got {value!r}")


def _positive_int(value: Any, key: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise PipelineError(f"experiment.{key} must be an integer >= 1, got {value!r}")


def validate_config(config: dict[str, Any]) -> None:
    """Check the options the data pipeline uses (names and ranges); raises :class:`PipelineError`."""
    for key in ("seed",):
        if isinstance(config.get(key), bool) or not isinstance(config.get(key), int):
            raise PipelineError(f"{key} must be an integer, got {config.get(key)!r}")
    if config.get("model_seed") is not None and not isinstance(config["model_seed"], int):
        raise PipelineError(f"model_seed must be an integer or null, got {config['model_seed']!r}")
    e = config["experiment"]
    _unit_interval(e["fraction"], "fraction")
    _positive_int(e["batch_size"], "batch_size")
    _positive_int(e["max_length"], "max_length")
    _choice(e["train_processor"], TRAIN_PROCESSORS, "train_processor")
    _choice(e["bt_target"], BT_TARGETS, "bt_target")
    _choice(e["dataset_sampler"], DATASET_SAMPLERS, "dataset_sampler")
    dataset = e["dataset"]
    if (
        isinstance(dataset["test_size"], bool)
        or not isinstance(dataset["test_size"], int)
        or dataset["test_size"] < 0
    ):
        raise PipelineError(
            f"experiment.dataset.test_size must be an integer >= 0, got {dataset['test_size']!r}"
        )
    _unit_interval(dataset["slight_preference_value"], "dataset.slight_preference_value", closed_at_zero=True)
    tolerance = e.get("tie_tolerance")
    if isinstance(tolerance, bool) or not isinstance(tolerance, int | float) or not 0.0 <= tolerance < 1.0:
        raise PipelineError(
            f"experiment.tie_tolerance must be a number in [0, 1) (0 = exact ties), got {tolerance!r}"
        )

    _choice(e["stratifier"]["name"], STRATIFIERS, "stratifier.name")
    if e["stratifier"]["name"] == "annotator_length_bucket":
        _positive_int(e["stratifier"].get("num_buckets"), "stratifier.num_buckets")

    partitioner = e["train_partitioner"]
    _choice(partitioner["name"], PARTITIONERS, "train_partitioner.name")
    if partitioner["name"] == "round_robin":
        target = partitioner.get("target_size")
        if target not in (-1, "auto"):
            if isinstance(target, bool) or not isinstance(target, int) or target < 1:
                raise PipelineError(
                    f"experiment.train_partitioner.target_size must be -1 (auto) or an integer >= 1, got {target!r}"
                )
    elif partitioner["name"] == "random":
        _positive_int(partitioner.get("partition_size"), "train_partitioner.partition_size")

    rank_filter = e["train_filter"]
    _choice(rank_filter["name"], RANK_FILTERS, "train_filter.name")
    if rank_filter["name"] == "random":
        _unit_interval(rank_filter.get("fraction"), "train_filter.fraction")

    transform = e["train_rank_transform"]
    _choice(transform["name"], RANK_TRANSFORMS, "train_rank_transform.name")
    if transform["name"] == "partial_shuffle":
        _unit_interval(transform.get("noise"), "train_rank_transform.noise", closed_at_zero=True)

    sampler = e["sampler"]
    _choice(sampler["name"], SAMPLERS, "sampler.name")
    _choice(sampler["packer"], PACKERS, "sampler.packer")

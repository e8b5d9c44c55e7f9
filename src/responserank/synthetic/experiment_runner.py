"""Runner of the synthetic experiments (the original's CLI)::

    python -m responserank.synthetic.experiment_runner dataset=stochastic [num_trials=2] [dataset_sizes=[0.5,1.0]]
        [learners.bt.num_epochs=100] [resume=<run directory>] [execution_backend.num_processes=2]
        [execution_backend=ray execution_backend.address=auto] [execution_backend=slurm execution_backend.partition=cpu]

Hydra composes ``conf/synthetic/config.yaml``; the run directory is
``outputs/experiment_runner/<date>/<time>-configv<version>+<overrides>/`` and holds ``metadata.json``,
``config/<key>.yaml``, ``trial_<k>/`` folders and, while unfinished, an ``ABORTED`` marker.

Flow: validate everything (unknown dataset / learner, sizes outside (0, 1], ``num_trials < 1``, a resume folder
from another config) and print **one line** on error before any folder is created; then run the fixed trial
batches (:mod:`responserank.synthetic.trials`) on the chosen ``execution_backend``
(:mod:`responserank.synthetic.execution`: a local process pool of one-thread workers by default, Ray tasks, or a
SLURM job array), every trial folder written atomically; a progress bar shows trials done and the time left.
``resume=<dir>`` skips the trials already in ``<dir>`` and gives exactly the numbers of an uninterrupted run,
whichever backend ran the first part.
"""

from __future__ import annotations

import datetime as _dt
import json
import shutil
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from omegaconf import OmegaConf

from responserank.errors import BackendError, ConfigError
from responserank.reporting import write_text_atomic
from responserank.resources import initialize_config_dirs, search_dirs, split_config_dir
from responserank.synthetic.config import (
    CONF_DIR,
    EXECUTION_KEYS,
    ExperimentConfig,
    available_options,
    resolve_num_processes,
)
from responserank.synthetic.execution import run_local, run_ray, run_slurm
from responserank.synthetic.processes import marker_text, new_owner_token
from responserank.synthetic.trials import is_trial_complete, trial_batches

PROGRAM = "experiment_runner"
ABORTED_MARKER = "ABORTED"


# --------------------------------------------------------------------------------------------------------------
# Hydra resolvers used by conf/synthetic/config.yaml (a resumed run writes into the resumed folder)
# --------------------------------------------------------------------------------------------------------------


def _run_dir(resume: str | None, default: str) -> str:
    return str(resume) if resume else default


def _output_subdir(resume: str | None) -> str | None:
    return None if resume else ".hydra"


OmegaConf.register_new_resolver("rr_run_dir", _run_dir, replace=True)
OmegaConf.register_new_resolver("rr_output_subdir", _output_subdir, replace=True)


# --------------------------------------------------------------------------------------------------------------
# The experiment folder
# --------------------------------------------------------------------------------------------------------------


def metadata(config: ExperimentConfig, timestamp: _dt.datetime) -> dict[str, Any]:
    """``metadata.json``: what the analysis ``find`` / ``collect`` steps read."""
    return {
        "dataset": config.dataset.name,
        "timestamp": timestamp.strftime("%Y-%m-%d %H:%M:%S"),
        "num_trials": config.num_trials,
        "learners": list(config.learners),
        "dataset_sizes": list(config.dataset_sizes),
    }


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        flat: dict[str, Any] = {}
        for key, item in value.items():
            flat.update(_flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return flat or {prefix: {}}
    return {prefix: value}


def result_identity(raw_config: dict[str, Any]) -> dict[str, Any]:
    """The resolved config without execution knobs, flattened to ``{"a.b": value}``: equal ⇔ same numbers."""
    return _flatten({k: v for k, v in raw_config.items() if k not in EXECUTION_KEYS})


def write_config_dump(directory: Path, raw_config: dict[str, Any]) -> None:
    """``config/<top-level key>.yaml``, each holding ``{key: value}`` of the resolved config."""
    for key, value in raw_config.items():
        write_text_atomic(directory / "config" / f"{key}.yaml", yaml.safe_dump({key: value}, sort_keys=False))


def read_config_dump(directory: Path) -> dict[str, Any]:
    folder = directory / "config"
    if not folder.is_dir():
        raise ConfigError(
            f"resume directory {directory} is not a synthetic experiment run (no config/ folder)"
        )
    saved: dict[str, Any] = {}
    for path in sorted(folder.glob("*.yaml")):
        saved.update(yaml.safe_load(path.read_text(encoding="utf-8")) or {})
    return saved


def check_resume_compatible(directory: Path, raw_config: dict[str, Any]) -> None:
    """Refuse to resume ``directory`` if its saved config differs from ``raw_config`` (naming the keys)."""
    if not directory.is_dir():
        raise ConfigError(f"resume directory {directory} does not exist")
    saved = result_identity(read_config_dump(directory))
    current = result_identity(raw_config)
    differing = sorted(
        k for k in saved.keys() | current.keys() if saved.get(k, "<absent>") != current.get(k, "<absent>")
    )
    if differing:
        shown = "; ".join(
            f"{k}: {saved.get(k, '<absent>')!r} (saved) vs {current.get(k, '<absent>')!r} (now)"
            for k in differing[:6]
        )
        more = f" and {len(differing) - 6} more" if len(differing) > 6 else ""
        raise ConfigError(f"cannot resume {directory}: its config differs in {shown}{more}")


def _remove_stale_staging(directory: Path) -> None:
    for stale in directory.glob(".trial_*.partial-*"):
        shutil.rmtree(stale, ignore_errors=True)


# --------------------------------------------------------------------------------------------------------------
# Execution
# --------------------------------------------------------------------------------------------------------------


def _progress(config: ExperimentConfig, done: int):
    from tqdm.auto import tqdm

    return tqdm(
        total=config.num_trials,
        initial=done,
        unit="trial",
        desc=config.dataset.name,
        disable=not config.show_progress,
        dynamic_ncols=True,
    )


def pending_batches(config: ExperimentConfig, directory: Path) -> tuple[list[list[int]], int]:
    """Batches with at least one unfinished trial, and the number of finished trials."""
    batches = trial_batches(config.num_trials, config.trials_per_batch)
    complete = {t for batch in batches for t in batch if is_trial_complete(directory, t, config)}
    return [b for b in batches if not set(b) <= complete], len(complete)


def execute(config: ExperimentConfig, directory: Path, owner_token: str | None = None) -> int:
    """Run every unfinished batch on the configured backend; returns the number of trials newly written.

    With the local process pool, workers write only while ``directory/ABORTED`` carries ``owner_token``; on an
    interrupt or error the parent releases the marker and terminates the workers before re-raising.
    """
    batches, done = pending_batches(config, directory)
    if not batches:
        return 0
    backend = config.execution_backend
    backend.require_modules()
    with _progress(config, done) as bar:
        if backend.name == "ray":
            run_ray(config, directory, batches, bar.update)
        elif backend.name == "slurm":
            run_slurm(config, directory, batches, lambda complete: bar.update(complete - bar.n))
        else:
            num_processes = min(resolve_num_processes(backend.num_processes), len(batches))
            run_local(
                config, directory, batches, num_processes, bar.update, directory / ABORTED_MARKER, owner_token
            )
        return bar.n - done


def run_experiment(config: ExperimentConfig, raw_config: dict[str, Any], directory: Path) -> Path:
    """Create (or resume) the run folder ``directory`` and run all unfinished trials into it."""
    directory = Path(directory)
    if config.resume:
        check_resume_compatible(directory, raw_config)
        _remove_stale_staging(directory)
    elif (directory / "metadata.json").exists() or any(directory.glob("trial_*")):
        raise ConfigError(f"{directory} already holds an experiment; pass resume={directory} to continue it")
    directory.mkdir(parents=True, exist_ok=True)
    aborted = directory / ABORTED_MARKER
    owner_token = new_owner_token()
    write_text_atomic(aborted, marker_text(owner_token))
    if not config.resume or not (directory / "metadata.json").exists():
        write_text_atomic(
            directory / "metadata.json", json.dumps(metadata(config, _dt.datetime.now()), indent=2)
        )
        write_config_dump(directory, raw_config)
    execute(config, directory, owner_token)
    aborted.unlink()
    return directory


# --------------------------------------------------------------------------------------------------------------
# Command line: one-line errors before Hydra creates any folder
# --------------------------------------------------------------------------------------------------------------


def _fail(message: str, status: int = 2) -> None:
    print(f"{PROGRAM}: error: {' '.join(str(message).split())}", file=sys.stderr)
    raise SystemExit(status)


def _check_override_names(overrides: list[str], user_dir: str | None = None) -> list[str]:
    """Check dataset and learner names in the overrides; returns the non-Hydra overrides for composition."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except Exception as error:  # hydra's OverrideParseException and friends
        raise ConfigError(f"cannot parse overrides: {error}") from None
    datasets = available_options("dataset", user_dir)
    backends = available_options("execution_backend", user_dir)
    learners = set(available_options("learner", user_dir))
    added = set()
    for override in parsed:
        key = override.key_or_group
        if override.package and override.package.startswith("learners."):
            added.add(override.package.split(".")[1])
        elif key.startswith("learners.") and override.is_add():
            added.add(key.split(".")[1])
    task_overrides = []
    for text, override in zip(overrides, parsed, strict=True):
        key = override.key_or_group
        if key.startswith("hydra.") or key == "hydra":
            continue
        task_overrides.append(text)
        if key == "dataset" and not override.is_sweep_override():
            value = override.value()
            if value not in datasets:
                raise ConfigError(f"unknown dataset {value!r}; valid datasets: {', '.join(datasets)}")
        if key == "execution_backend" and not override.is_sweep_override():
            value = override.value()
            if value not in backends:
                raise ConfigError(
                    f"unknown execution_backend {value!r}; valid backends: {', '.join(backends)}"
                )
        if key.startswith("learners.") and not override.is_add() and not override.is_delete():
            name = key.split(".")[1]
            if name not in learners | added:
                raise ConfigError(
                    f"unknown learner {name!r} in override {text!r}; valid learners: {', '.join(sorted(learners))}"
                )
    return task_overrides


def compose_config(
    overrides: list[str], user_dir: str | None = None
) -> tuple[ExperimentConfig, dict[str, Any]]:
    """Compose and validate the config exactly as the run will see it (raises :class:`ConfigError`).

    ``user_dir`` is a folder of extra configs (``dataset/<name>.yaml``, ``learner/<name>.yaml``), searched after
    the shipped ones as with Hydra's ``--config-dir``.
    """
    from hydra import compose

    try:
        dirs = search_dirs("synthetic", user_dir)
    except FileNotFoundError as error:
        raise ConfigError(str(error)) from None
    task_overrides = _check_override_names(overrides, user_dir)
    try:
        with initialize_config_dirs(dirs, version_base="1.3", job_name=PROGRAM):
            cfg = compose(config_name="config", overrides=task_overrides, return_hydra_config=True)
            dataset_key = cfg.hydra.runtime.choices["dataset"]
            raw = OmegaConf.to_container(cfg, resolve=False)
            raw.pop("hydra")
            raw = OmegaConf.to_container(OmegaConf.create(raw), resolve=True)
    except ConfigError:
        raise
    except Exception as error:
        raise ConfigError(str(error).split("\n\n")[0]) from None
    return ExperimentConfig.from_mapping(raw, dataset_key, user_dir), raw


def _hydra_task(cfg) -> None:
    from hydra.core.hydra_config import HydraConfig

    hydra_config = HydraConfig.get()
    raw = OmegaConf.to_container(cfg, resolve=True)
    started = time.perf_counter()
    try:
        user_dirs = [s.path for s in hydra_config.runtime.config_sources if s.provider == "command-line"]
        config = ExperimentConfig.from_mapping(
            raw, hydra_config.runtime.choices["dataset"], user_dirs[0] if user_dirs else None
        )
        directory = run_experiment(config, raw, Path(hydra_config.runtime.output_dir))
    except ConfigError as error:
        _fail(str(error))
    except BackendError as error:
        _fail(f"{error}; finished trials are kept, continue with resume={hydra_config.runtime.output_dir}", 1)
    except KeyboardInterrupt:
        _fail(
            f"interrupted; finished trials are kept, continue with resume={hydra_config.runtime.output_dir}",
            status=130,
        )
    print(
        f"{config.dataset.name}: {config.num_trials} trials in {directory} ({time.perf_counter() - started:.1f} s)"
    )


def _raise_keyboard_interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def quote_resume_path(args: Sequence[str]) -> list[str]:
    """Let users type ``resume=<run folder>`` verbatim: run folders contain ``=``, ``,`` and ``[…]`` (from Hydra's
    override list), which Hydra's override grammar only accepts inside quotes, so the value is single-quoted."""
    quoted = []
    for arg in args:
        if arg.startswith("resume=") and arg[len("resume=") :] not in ("", "null"):
            value = arg[len("resume=") :]
            if value[0] not in "'\"" and "'" not in value:
                arg = f"resume='{value}'"
        quoted.append(arg)
    return quoted


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point: validate the overrides, then hand over to Hydra (which creates the run folder)."""
    import hydra

    args = quote_resume_path(sys.argv[1:] if argv is None else argv)
    try:
        user_dir, overrides = split_config_dir(args)
    except ValueError as error:
        _fail(str(error))
    if not any(a.startswith("-") for a in overrides):  # --help, --cfg, -m …: Hydra's own behaviour
        try:
            config, raw = compose_config(overrides, user_dir)
            config.execution_backend.require_modules()
            if config.resume:
                check_resume_compatible(Path(config.resume), raw)
        except ConfigError as error:
            _fail(str(error))
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    task = hydra.main(config_path=str(CONF_DIR), config_name="config", version_base="1.3")(_hydra_task)
    sys.argv = [sys.argv[0], *args]
    task()


if __name__ == "__main__":
    main()

"""One batch of trials: simulate the datasets, train every (trial × learner × size) model at once, evaluate, write.

A *batch* is a fixed group of ``trials_per_batch`` consecutive trial numbers (``1…4``, ``5…8``, … for the default
4); its composition depends only on the config, never on which trials were already finished, so a resumed run
trains exactly the same batches as an uninterrupted one and produces the same numbers bit for bit.

Within a batch, models whose learners share the architecture and optimiser settings are trained together (one
group with the default config); inside a group, models are ordered by loss so that each loss is computed with one
call for all of its models (e.g. ``rr``, ``rr_pooled`` and ``rr_perm`` share one ResponseRank call).

Initial weights: one draw per trial and architecture from the stream ``learner_init/<d>-<hidden…>-1``, shared by
all learners and sizes of that trial (paired comparisons).

Trial folders are written to a hidden staging folder and renamed into place (``trial_<k>``) in one atomic step,
so a trial folder is either complete or absent; a pool worker renames only while its parent still owns the run
(:mod:`responserank.synthetic.processes`).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from responserank.reporting import public_temp
from responserank.synthetic.config import (
    LEARNER_ORDER,
    ExperimentConfig,
    LearnerConfig,
    num_train_rows,
    size_percent,
)
from responserank.synthetic.data import SyntheticDataset, generate_dataset, init_mlp
from responserank.synthetic.engine import StackedMLP, train_stacked
from responserank.synthetic.evaluation import dataset_metrics, model_metrics, scalar, torch_step_metrics
from responserank.synthetic.learners import ModelSpec, build_model_data, loss_block
from responserank.synthetic.seeding import rng as stream_rng

DTYPE = torch.float32


def batch_of(trial: int, trials_per_batch: int) -> int:
    """0-based batch index of trial ``trial`` (1-based)."""
    return (trial - 1) // trials_per_batch


def trial_batches(num_trials: int, trials_per_batch: int) -> list[list[int]]:
    """All batches of an experiment: ``[[1, 2, 3, 4], [5, …], …]``."""
    trials = list(range(1, num_trials + 1))
    return [trials[i : i + trials_per_batch] for i in range(0, num_trials, trials_per_batch)]


def results_file_name(learner: str, size: float) -> str:
    """``<learner>_frac_<int(100·f)>_results.json``."""
    return f"{learner}_frac_{size_percent(size)}_results.json"


def learner_init_params(
    num_features: int, hidden_layers: tuple[int, ...], random_seed: int, trial: int
) -> list[np.ndarray]:
    """The trial's initial learner weights (PyTorch default ``Linear`` init), alternating ``W``, ``b``."""
    sizes = (num_features, *hidden_layers, 1)
    name = "learner_init/" + "-".join(str(s) for s in sizes)
    return [array for layer in init_mlp(sizes, stream_rng(random_seed, trial, name)) for array in layer]


def _loss_key(learner: LearnerConfig) -> tuple:
    """Learners with equal keys share one loss call (the loss and its own parameters)."""
    if learner.loss == "bt":
        return ("bt", learner.label_smoothing)
    if learner.loss == "rt_regression":
        return ("rt_regression", learner.min_rt, learner.max_rt)
    if learner.loss == "ddm":
        return ("ddm", learner.use_strata, learner.ddm_learning_rate)
    # Pooled and stratified RR get separate calls: the core pads every stratum to the largest one, and a pooled
    # stratum holds all 50 pairs, so mixing them would pad the ~10-pair strata five-fold.
    return ("responserank", learner.use_strata)


def _ordered_learners(learners: dict[str, LearnerConfig]) -> list[str]:
    known = [k for k in LEARNER_ORDER if k in learners]
    return known + [k for k in learners if k not in LEARNER_ORDER]


@dataclass
class TrialOutput:
    """Everything written for one trial: its dataset and one results payload per (learner, size)."""

    trial: int
    dataset: SyntheticDataset
    results: dict[tuple[str, float], dict]


def run_batch(config: ExperimentConfig, trials: Sequence[int]) -> list[TrialOutput]:
    """Simulate, train and evaluate trials ``trials`` together; returns one :class:`TrialOutput` per trial."""
    datasets = [generate_dataset(config.dataset, config.random_seed, trial) for trial in trials]
    outputs = [TrialOutput(trial, dataset, {}) for trial, dataset in zip(trials, datasets, strict=True)]
    shared = [dataset_metrics(dataset, config.dataset.num_partitions) for dataset in datasets]

    groups: dict[tuple, list[str]] = {}
    for key in _ordered_learners(config.learners):
        groups.setdefault(config.learners[key].training_key, []).append(key)
    for group in groups.values():
        payloads = _train_group(config, group, trials, datasets)
        for (slot, learner, size), payload in payloads.items():
            payload["summary_metrics"].update(shared[slot])
            outputs[slot].results[(learner, size)] = payload
    return outputs


def _train_group(
    config: ExperimentConfig,
    learner_keys: list[str],
    trials: Sequence[int],
    datasets: Sequence[SyntheticDataset],
) -> dict[tuple[int, str, float], dict]:
    """Train every (learner × trial × size) model of learners sharing one ``training_key`` in one stacked run."""
    reference = config.learners[learner_keys[0]]
    num_pairs = config.dataset.num_train_samples
    specs, blocks = _loss_blocks(config, learner_keys, trials, datasets)
    slots = torch.tensor([spec.slot for spec in specs])
    test_x, *truth = _test_split(datasets, slots)
    num_test = test_x.shape[1] // 2
    result = train_stacked(
        _initial_params(config, reference.hidden_layers, trials, slots),
        _stack([np.concatenate([d.x1[:num_pairs], d.x2[:num_pairs]]) for d in datasets], slots),
        num_pairs,
        blocks,
        num_epochs=reference.num_epochs,
        learning_rate=reference.learning_rate,
        weight_decay=reference.l2_reg,
        step_callback=_step_callback(test_x, *truth) if config.log_epoch_metrics else None,
    )
    with torch.no_grad():
        u_test = StackedMLP(result.params)(test_x).double().numpy()
    summary = model_metrics(u_test[:, :num_test], u_test[:, num_test:], *truth)
    summary["train_loss"] = result.best_loss.double().numpy()
    summary["best_step"] = result.best_step.numpy()
    return {
        (spec.slot, spec.learner, spec.size): _payload(config, spec, index, summary, result)
        for index, spec in enumerate(specs)
    }


def _loss_blocks(
    config: ExperimentConfig,
    learner_keys: list[str],
    trials: Sequence[int],
    datasets: Sequence[SyntheticDataset],
) -> tuple[list[ModelSpec], list]:
    """The models ordered by loss call, then learner, trial slot and size, and one loss block per loss call."""
    learners = config.learners
    loss_keys: dict[tuple, list[str]] = {}
    for key in learner_keys:
        loss_keys.setdefault(_loss_key(learners[key]), []).append(key)
    specs: list[ModelSpec] = []
    blocks = []
    for keys in loss_keys.values():
        block_specs = [
            ModelSpec(slot, key, size)
            for key in keys
            for slot in range(len(trials))
            for size in config.sizes_sorted()
        ]
        data = build_model_data(block_specs, learners, datasets, trials, config.random_seed, DTYPE)
        names = [f"learner {s.learner} at size {s.size} in trial {trials[s.slot]}" for s in block_specs]
        blocks.append(loss_block(len(specs), data, learners[keys[0]], config.dataset.num_partitions, names))
        specs.extend(block_specs)
    return specs, blocks


def _stack(per_trial: Sequence[np.ndarray], slots: torch.Tensor) -> torch.Tensor:
    """Per-trial arrays → one ``[num_models, …]`` tensor (each model gets its trial's array)."""
    return torch.as_tensor(np.stack(per_trial), dtype=DTYPE)[slots]


def _initial_params(
    config: ExperimentConfig, hidden_layers: tuple[int, ...], trials: Sequence[int], slots: torch.Tensor
) -> list[torch.Tensor]:
    init = [
        learner_init_params(config.dataset.num_features, hidden_layers, config.random_seed, trial)
        for trial in trials
    ]
    return [_stack([per_trial[i] for per_trial in init], slots) for i in range(len(init[0]))]


def _test_split(
    datasets: Sequence[SyntheticDataset], slots: torch.Tensor
) -> tuple[torch.Tensor, np.ndarray, np.ndarray, np.ndarray]:
    """Per model: test inputs ``[models, 2·num_test, d]`` (first options, then second options) and the true
    utilities of the first and second options and the choices ``[models, num_test]``."""
    pairs = [(d, d.split("test")) for d in datasets]

    def per_model(name: str) -> np.ndarray:
        return np.stack([getattr(d, name)[rows] for d, rows in pairs])[slots.numpy()]

    test_x = _stack([np.concatenate([d.x1[rows], d.x2[rows]]) for d, rows in pairs], slots)
    return test_x, per_model("u1"), per_model("u2"), per_model("y")


def _step_callback(test_x: torch.Tensor, u_first: np.ndarray, u_second: np.ndarray, first_chosen: np.ndarray):
    """Per-step test metrics (``log_epoch_metrics``)."""
    delta_true = torch.as_tensor(u_second - u_first, dtype=DTYPE)
    chosen = torch.as_tensor(first_chosen, dtype=DTYPE)
    num_test = test_x.shape[1] // 2

    def step_metrics(model: StackedMLP) -> dict[str, torch.Tensor]:
        u = model(test_x)
        return torch_step_metrics(u[:, :num_test], u[:, num_test:], delta_true, chosen)

    return step_metrics


def _payload(config: ExperimentConfig, spec: ModelSpec, index: int, summary: dict, result) -> dict:
    """The results file of model ``index``: its summary metrics and, on request, per-step metrics."""
    summary_metrics = {name: scalar(values[index]) for name, values in summary.items()}
    summary_metrics["num_train_pairs"] = scalar(num_train_rows(spec.size, config.dataset.num_train_samples))
    epoch_metrics = []
    if config.log_epoch_metrics:
        loss_name = f"{config.learners[spec.learner].loss.replace('_', '')}loss_train"
        series = {loss_name: result.losses, **result.step_metrics}
        columns = {name: values.double().numpy()[:, index] for name, values in series.items()}
        epoch_metrics = [
            {name: {"value": float(values[step]), "type": "scalar"} for name, values in columns.items()}
            for step in range(result.losses.shape[0])
        ]
    return {"summary_metrics": summary_metrics, "epoch_metrics": epoch_metrics}


# --------------------------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------------------------


def trial_directory(experiment_dir: Path, trial: int) -> Path:
    return Path(experiment_dir) / f"trial_{trial}"


def write_trial(
    experiment_dir: Path,
    output: TrialOutput,
    config: ExperimentConfig,
    may_commit: Callable[[], bool] | None = None,
) -> Path | None:
    """Write ``trial_<k>/`` (dataset CSVs and results files) atomically; returns the folder.

    ``may_commit`` is asked right before the atomic rename; when it answers False the staged files are removed,
    nothing appears in ``experiment_dir`` and None is returned (a pool worker whose run was aborted).
    """
    destination = trial_directory(experiment_dir, output.trial)
    if destination.exists():
        raise FileExistsError(f"{destination} already exists; refusing to overwrite a finished trial")
    staging = public_temp(experiment_dir, f".trial_{output.trial}.partial-", directory=True)
    try:
        if config.save_datasets:
            data_dir = staging / f"dataset={config.dataset_key}"
            data_dir.mkdir()
            output.dataset.to_frame("train").to_csv(data_dir / "train.csv", index=False)
            output.dataset.to_frame("test").to_csv(data_dir / "test.csv", index=False)
        for (learner, size), payload in output.results.items():
            (staging / results_file_name(learner, size)).write_text(json.dumps(payload), encoding="utf-8")
        if may_commit is not None and not may_commit():
            shutil.rmtree(staging, ignore_errors=True)
            return None
        os.rename(staging, destination)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return destination


def is_trial_complete(experiment_dir: Path, trial: int, config: ExperimentConfig) -> bool:
    """True if ``trial_<k>/`` holds every expected results file (folders only ever appear complete)."""
    folder = trial_directory(experiment_dir, trial)
    if not folder.is_dir():
        return False
    return all(
        (folder / results_file_name(learner, size)).is_file()
        for learner in config.learners
        for size in config.dataset_sizes
    )

"""``python -m responserank.llm.train experiment=<preset> [key=value ...]`` — train, evaluate and record one run.

What a run does, top to bottom (spec ``llm.md`` §4–§11):

1. resolve the Hydra config (``conf/llm/config.yaml`` + preset + overrides) and check every option;
2. load the tokenizer (its chat template, or the documented plain one), prepare the data (split, labels, ranks,
   partitions) and the batch sampler; ``dry_run=true`` prints the summary here and exits;
3. load RewardBench copies (if enabled) and the model — every bad input so far is one line on stderr, exit 1,
   and no record is written;
4. claim the run name: skip when a finished or running run of that name is already in ``runs_dir`` (unless
   ``SKIP_EXISTING_RUN_CHECK=true``); write the run record (``run_state: running``) into the run folder
   ``runs_dir/<date>/<time>-<overrides>`` (Hydra's ``hydra.run.dir``);
5. train with :class:`~responserank.llm.trainer.RewardTrainer`, evaluating on the MultiPref test split (and
   RewardBench) after each epoch; the final evaluation is the last epoch's;
6. rewrite the record (``finished``) with the final and per-epoch metrics, data statistics, wall time, pairs/s,
   peak memory and device; an exception writes ``failed``, Ctrl-C / SIGTERM ``stopped`` (exit 130 / 143).

``accelerate launch --num_processes N -m responserank.llm.train ...`` runs data-parallel: every rank prepares the
same data, rank 0 writes the record.

Options: ``--cfg`` prints the resolved config and exits; ``--config-dir DIR`` adds your own presets
(``DIR/experiment/<name>.yaml``, which may start with ``defaults: [_base]``) to the shipped ones; ``-h`` /
``--help`` prints this text and the presets.
Errors (unknown preset, bad option, unreadable data) are printed as one line to stderr, exit status 1.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import resource
import signal
import sys
import time
from pathlib import Path
from typing import Any

from responserank.errors import PipelineError
from responserank.llm.config import available_presets, compose_config, to_container, validate_config
from responserank.llm.identity import run_identity
from responserank.resources import split_config_dir

log = logging.getLogger("responserank.llm.train")


class RunInterrupted(KeyboardInterrupt):
    """Raised by the SIGTERM handler (SLURM pre-emption, ``kill``) so the run ends like Ctrl-C."""


# ------------------------------------------------------------------------------------------------------------
# Config checks and local inputs
# ------------------------------------------------------------------------------------------------------------


def validate_training_config(config: dict[str, Any]) -> None:
    """The trainer's options on top of :func:`validate_config` (names and ranges), one-line errors."""
    validate_config(config)
    e = config["experiment"]

    def number(
        key: str, low: float, high: float = math.inf, *, integer: bool = False, open_low=False
    ) -> None:
        value = e[key]
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        ok = ok and (not integer or float(value).is_integer())
        ok = ok and (value > low if open_low else value >= low) and value <= high
        if not ok:
            raise PipelineError(f"experiment.{key} out of range: {value!r}")

    number("epochs", 1, integer=True)
    number("gradient_accumulation_steps", 1, integer=True)
    number("learning_rate", 0.0, open_low=True)
    number("warmup_ratio", 0.0, 0.999999)
    number("weight_decay", 0.0)
    number("max_grad_norm", 0.0)
    number("logging_steps", 1, integer=True)
    for key in ("adam_beta1", "adam_beta2"):
        number(key, 0.0, 0.999999)
    if e["lr_scheduler_type"] not in ("linear", "cosine", "constant", "constant_with_warmup", "polynomial"):
        raise PipelineError(f"experiment.lr_scheduler_type={e['lr_scheduler_type']!r} is not supported")
    if e["chat_template"] not in ("auto", "plain"):
        raise PipelineError(f"experiment.chat_template must be auto or plain, got {e['chat_template']!r}")
    lora = e.get("lora") or {}
    if isinstance(lora.get("r"), bool) or not isinstance(lora.get("r", 0), int) or lora.get("r", 0) < 0:
        raise PipelineError(f"experiment.lora.r must be an integer >= 0, got {lora.get('r')!r}")
    if e["random_init"] is not None and not isinstance(e["random_init"], dict):
        raise PipelineError("experiment.random_init must be null or a mapping of LlamaConfig sizes")
    if e.get("gguf_file"):
        folder = Path(str(e["model_name"])).expanduser()
        if not (folder / e["gguf_file"]).is_file():
            raise PipelineError(
                f"experiment.gguf_file={e['gguf_file']!r}: no such file in the folder "
                f"experiment.model_name={e['model_name']!r}"
            )
        try:
            import gguf  # noqa: F401
        except ImportError as error:
            raise PipelineError("experiment.gguf_file needs the 'gguf' package (pip install gguf)") from error
    if e["center_rewards_coefficient"] not in (None, 0, 0.0):
        raise PipelineError("experiment.center_rewards_coefficient is not supported (the presets use null)")


def ensure_fixture(fixtures_dir: str | os.PathLike, spec: dict[str, Any]) -> Path:
    """The folder of the offline dataset described by ``experiment.dataset.fixture``, generated once.

    ``spec`` = keyword arguments of :func:`responserank.llm.fixtures.make_multipref_fixture` (``num_comparisons``,
    ``seed``, ``completion_words`` …) plus ``rewardbench_per_subset`` (examples per RewardBench subset of the
    stand-ins written next to it; 0 = none). Written to a temporary folder and renamed, so concurrent runs never
    read a half-written fixture.
    """
    from responserank.llm import fixtures

    spec = dict(spec)
    per_subset = int(spec.pop("rewardbench_per_subset", 0) or 0)
    key = hashlib.sha256(json.dumps([spec, per_subset], sort_keys=True).encode()).hexdigest()[:12]
    target = Path(fixtures_dir).expanduser() / f"multipref-{key}"
    if (target / "tokenizer").is_dir():
        return target
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        fixtures.write_multipref_fixture(tmp, "parquet", **spec)
    except TypeError as error:
        raise PipelineError(f"experiment.dataset.fixture={spec!r}: {error}") from error
    if per_subset:
        fixtures.write_rewardbench_fixtures(
            tmp,
            "parquet",
            per_subset,
            seed=int(spec.get("seed", 0)),
            value_seed=int(spec.get("value_seed", 0)),
        )
    fixtures.build_tokenizer(tmp / "tokenizer")
    try:
        tmp.replace(target)
    except OSError:  # another process finished first
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    log.info("generated the offline fixture %s", target)
    return target


def with_local_inputs(config: dict[str, Any]) -> dict[str, Any]:
    """Point ``dataset.path`` / ``tokenizer_name`` (and unset RewardBench paths) at the generated fixture when
    ``dataset.fixture`` is set and no ``dataset.path`` was given (the fixture spec is in the run hash)."""
    dataset = config["experiment"]["dataset"]
    spec = dataset.get("fixture")
    if not spec or dataset["path"] is not None:
        return config
    folder = ensure_fixture(config.get("fixtures_dir", "./outputs/fixtures"), dict(spec))
    experiment = {**config["experiment"], "dataset": {**dataset, "path": str(folder)}}
    if experiment["tokenizer_name"] is None:
        experiment["tokenizer_name"] = str(folder / "tokenizer")
    rewardbench = dict(experiment.get("rewardbench") or {})
    for version, sub in (("v1", "rewardbench_v1"), ("v2", "rewardbench_v2")):
        if rewardbench.get(f"{version}_path") is None and (folder / sub).is_dir():
            rewardbench[f"{version}_path"] = str(folder / sub)
    experiment["rewardbench"] = rewardbench
    return {**config, "experiment": experiment}


def load_run_tokenizer(experiment: dict[str, Any]):
    from responserank.llm.data import load_tokenizer

    name = experiment["tokenizer_name"] or experiment["model_name"]
    tokenizer = load_tokenizer(
        name, chat_template=experiment.get("chat_template", "auto"), gguf_file=experiment.get("gguf_file")
    )
    if tokenizer.pad_token_id is None:  # padding positions are masked; the reward is read by the mask
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def dry_run(config: dict[str, Any], tokenizer=None, tables=None) -> str:
    """Prepare the data for a resolved config and return the summary text (nothing is written)."""
    from responserank.llm.pipeline import Seeds, build_train_sampler, prepare_data
    from responserank.llm.summary import format_summary

    config = with_local_inputs(config)
    experiment = config["experiment"]
    tokenizer_name = experiment["tokenizer_name"] or experiment["model_name"]
    if tokenizer is None:
        tokenizer = load_run_tokenizer(experiment)
    seeds = Seeds.from_config(config["seed"], config["model_seed"])
    prepared = prepare_data(experiment, seeds, tokenizer, tables=tables)
    sampler = build_train_sampler(prepared, experiment)
    return format_summary(config, run_identity(config), prepared, sampler, tokenizer_name)


# ------------------------------------------------------------------------------------------------------------
# Run records
# ------------------------------------------------------------------------------------------------------------


def _finite_numbers(values: dict[str, Any]) -> dict[str, float]:
    out = {}
    for key, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            try:
                value = float(value)
            except (TypeError, ValueError):
                continue
        out[key] = float(value) if math.isfinite(float(value)) else None
    return out


def _json_safe(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str).replace("NaN", "null").replace("Infinity", "null"))


def existing_run(runs_dir: str | os.PathLike, run_name: str) -> Path | None:
    """A record of ``run_name`` that is finished or still running, if any, below ``runs_dir``."""
    from responserank.errors import AnalysisError
    from responserank.llm.analysis.run_store import find_run_records, read_run_record

    if not Path(runs_dir).is_dir():
        return None
    for path in find_run_records(runs_dir):
        try:
            record = read_run_record(path)
        except AnalysisError:
            continue
        if record.run_name == run_name and record.run_state in ("finished", "running"):
            return path
    return None


def peak_memory_mib(device: str) -> float:
    """Peak accelerator memory (CUDA) or peak resident memory of this process (CPU), MiB."""
    import torch

    if device == "cuda":
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


# ------------------------------------------------------------------------------------------------------------
# RewardBench
# ------------------------------------------------------------------------------------------------------------


def rewardbench_evaluator(experiment: dict[str, Any], tokenizer, max_tokens: int):
    """A function ``(score_tokens, batch_size) -> metrics`` for RewardBench v1 / v2, or ``None`` when both are
    disabled or unreachable (one log line each). Copies are loaded (and validated: missing columns are one-line
    errors) here, before training starts. Texts are rendered with the run's chat template and cut to
    ``max_tokens`` tokens (spec §10: 2048; never more than the model's positions)."""
    import numpy as np

    from responserank.llm import rewardbench

    wanted = {
        "v1": experiment["eval_on_rewardbench_v1"],
        "v2": experiment.get("eval_on_rewardbench_v2", False),
    }
    paths = experiment.get("rewardbench") or {}
    frames = {}
    for version, enabled in wanted.items():
        if not enabled:
            continue
        frame = getattr(rewardbench, f"load_rewardbench_{version}")(paths.get(f"{version}_path"))
        if frame is None:
            log.info(
                "RewardBench %s skipped: the hub is unreachable and no local copy is set "
                "(experiment.rewardbench.%s_path=DIR)",
                version,
                version,
            )
            continue
        frames[version] = frame
    if not frames:
        return None

    def render(messages):
        return tokenizer.apply_chat_template(messages, tokenize=False)

    def evaluate(score_tokens, batch_size: int) -> dict[str, float]:
        def score_texts(texts: list[str]):
            import torch

            encoded = tokenizer(list(texts), add_special_tokens=False)["input_ids"]
            return torch.from_numpy(
                score_tokens([np.asarray(e[:max_tokens], dtype=np.int64) for e in encoded])
            )

        metrics: dict[str, float] = {}
        for version, frame in frames.items():
            scores = rewardbench.evaluate_rewardbench(score_texts, frame, batch_size, render=render)
            metrics |= {f"eval/rewardbench_{version}/{k}": v for k, v in scores.items()}
        return metrics

    return evaluate


# ------------------------------------------------------------------------------------------------------------
# Training
# ------------------------------------------------------------------------------------------------------------


def _wandb_enabled(setting: bool | None) -> bool:
    if setting is not None:
        return bool(setting)
    if os.environ.get("WANDB_MODE", "").lower() == "disabled":
        return False
    logged_in = bool(os.environ.get("WANDB_API_KEY"))
    netrc = Path.home() / ".netrc"
    if not logged_in and netrc.is_file():
        logged_in = "api.wandb.ai" in netrc.read_text(errors="ignore")
    try:
        import wandb  # noqa: F401
    except ImportError:
        logged_in = False
    if not logged_in:
        log.info("wandb off (not logged in; `wandb login` and wandb.enabled=true mirror runs to wandb)")
    return logged_in


def _partition_size_statistics(partition, batch_size: int) -> dict[str, float]:
    import numpy as np

    _, sizes = np.unique(partition, return_counts=True)
    larger = sizes > batch_size
    if larger.any():
        log.warning(
            "%d partition(s) are larger than the batch (%d pairs, largest %d) and are split over batches; "
            "the RR loss then ranks each fragment on its own",
            int(larger.sum()),
            batch_size,
            int(sizes.max()),
        )
    return {"train/partitions_larger_than_batch": float(larger.sum())}


def loss_options(experiment: dict[str, Any]) -> dict[str, bool]:
    """The loss switches of :class:`~responserank.llm.trainer.RewardTrainer` for a resolved experiment."""
    return {
        "use_rr_loss": bool(experiment["use_rr_loss"]) and not experiment["baseline"],
        "allow_ties": bool(experiment["allow_ties"]),
        "divide_by_len": bool(experiment["divide_by_len"]),
        "accumulation_aware_scaling": bool(experiment["accumulation_aware_scaling"]),
    }


def optimiser_arguments(experiment: dict[str, Any]) -> dict[str, Any]:
    """The ``TrainingArguments`` keywords set by a resolved experiment's batch / optimiser / schedule knobs."""
    same_name = ("learning_rate", "lr_scheduler_type", "adam_beta1", "adam_beta2", "adam_epsilon")
    same_name += ("weight_decay", "max_grad_norm", "bf16", "logging_steps", "gradient_accumulation_steps")
    return {
        "per_device_train_batch_size": experiment["batch_size"],
        "per_device_eval_batch_size": experiment["batch_size"],
        "num_train_epochs": experiment["epochs"],
        "warmup_steps": float(experiment["warmup_ratio"]),  # a float < 1 is a ratio of the total steps
        **{name: experiment[name] for name in same_name},
    }


def training_arguments(
    experiment: dict[str, Any],
    run_dir: str | os.PathLike,
    *,
    device: str = "cpu",
    evaluate: bool = True,
    seed: int = 42,
    run_name: str | None = None,
    use_wandb: bool = False,
):
    """``TrainingArguments`` from a resolved experiment (spec §8): every optimiser / schedule knob of the
    presets maps to one argument (:func:`optimiser_arguments`); the model is never saved (``save_strategy``)."""
    from transformers import TrainingArguments

    return TrainingArguments(
        output_dir=str(Path(run_dir) / "trainer"),
        **optimiser_arguments(experiment),
        use_cpu=device == "cpu",
        eval_strategy="epoch" if evaluate else "no",
        eval_on_start=bool(experiment["eval_on_start"]) and evaluate,
        save_strategy="no",
        report_to=["wandb"] if use_wandb else "none",
        run_name=run_name,
        seed=seed,
        remove_unused_columns=False,
        dataloader_num_workers=0,
        ddp_find_unused_parameters=False,
        average_tokens_across_devices=False,
        disable_tqdm=False,
    )


def train(
    config: dict[str, Any],
    run_dir: str | os.PathLike,
    *,
    preset: str | None = None,
    tables=None,
    tokenizer=None,
) -> dict[str, Any] | None:
    """Run one training job for a resolved, validated ``config``; returns the final record payload (rank 0),
    or ``None`` when the run was skipped. Raises :class:`PipelineError` for bad input (before any record)."""
    import torch
    from accelerate import PartialState

    from responserank.llm.analysis.run_store import RunRecord, write_run_record
    from responserank.llm.evaluation import pairwise_metrics, score_sequences
    from responserank.llm.model import load_reward_model, resolve_device
    from responserank.llm.pipeline import Seeds, build_train_sampler, prepare_data
    from responserank.llm.trainer import PairCollator, PairDataset, RewardTrainer

    started = time.time()
    validate_training_config(config)
    experiment = config["experiment"]
    device = resolve_device(experiment)
    state = PartialState(cpu=device == "cpu")
    with state.main_process_first():
        config = with_local_inputs(config)
    experiment = config["experiment"]
    identity = run_identity(config)
    run_dir = Path(run_dir)

    # data
    if tokenizer is None:
        tokenizer = load_run_tokenizer(experiment)
    seeds = Seeds.from_config(config["seed"], config["model_seed"])
    prepared = prepare_data(experiment, seeds, tokenizer, tables=tables)
    if len(prepared.train) == 0:
        raise PipelineError("no train examples are left after the data preparation (see the dry run summary)")
    sampler = build_train_sampler(prepared, experiment)
    statistics = {**prepared.stats}
    if hasattr(sampler, "statistics"):
        statistics |= {f"packing/{k}": v for k, v in sampler.statistics.items()}
    rr_batches = not experiment["baseline"] and experiment["sampler"]["name"] != "random"
    if rr_batches:
        statistics |= _partition_size_statistics(
            prepared.train.partition_id.to_numpy(), experiment["batch_size"]
        )

    # model
    model = load_reward_model(experiment, tokenizer, seeds.trainer_seed)
    positions = getattr(model.config, "max_position_embeddings", None) or 2048
    rewardbench_evaluate = rewardbench_evaluator(experiment, tokenizer, min(2048, int(positions)))
    parameters = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)

    # claim the run name
    if state.is_main_process and os.environ.get("SKIP_EXISTING_RUN_CHECK", "").lower() not in ("1", "true"):
        found = existing_run(config.get("runs_dir", "./outputs/rr_llm"), identity.run_name)
        skip = found is not None
    else:
        found, skip = None, False
    from accelerate.utils import broadcast_object_list

    decision = [skip]
    if state.num_processes > 1:
        broadcast_object_list(decision)
    if decision[0]:
        log.info(
            "skipped: run %s already exists (%s); SKIP_EXISTING_RUN_CHECK=true runs it again",
            identity.run_name,
            found,
        )
        return None

    use_wandb = state.is_main_process and _wandb_enabled(config.get("wandb", {}).get("enabled"))
    details: dict[str, Any] = {
        "identity": {"hash": identity.hash, "egid": identity.egid, "eid": identity.eid},
        "device": torch.cuda.get_device_name() if device == "cuda" else f"cpu ({os.cpu_count()} cores)",
        "num_processes": state.num_processes,
        "parameters": parameters,
        "trainable_parameters": trainable,
        "slurm_job_id": os.environ.get("SLURM_JOB_ID"),
        "loss": "responserank"
        if experiment["use_rr_loss"] and not experiment["baseline"]
        else "bradley_terry",
        "accuracy_ties": "a tie in the reward counts as half a correct pair",
        "epochs": [],
    }

    def record(run_state: str, metrics: dict[str, Any], extra: dict[str, Any] | None = None) -> dict:
        payload = RunRecord(
            run_name=identity.run_name,
            egid=identity.egid,
            experiment=preset or experiment["name"],
            experiment_name=experiment["name"],
            seed=config["seed"],
            fraction=experiment["fraction"],
            run_state=run_state,
            dry_run=False,
            run_id=None,  # collect names local runs by their folder below --runs-dir
            metrics=_finite_numbers(metrics),
            statistics=_finite_numbers(statistics),
            config=_json_safe(config),
            details=_json_safe({**details, **(extra or {}), "wall_time_s": time.time() - started}),
        )
        if state.is_main_process:
            write_run_record(run_dir, payload)
        return json.loads(payload.to_json())

    if state.is_main_process:
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "config.json").write_text(json.dumps(_json_safe(config), indent=2) + "\n")
    record("running", {})

    # trainer
    pad_id = tokenizer.pad_token_id
    test = prepared.test
    test_sequences = list(test.chosen_input_ids) + list(test.rejected_input_ids)
    eval_batch = int(experiment["batch_size"])

    def evaluate_fn(trainer: RewardTrainer) -> dict[str, float]:
        score = lambda sequences, description: score_sequences(  # noqa: E731
            trainer.model,
            sequences,
            batch_size=eval_batch,
            pad_id=pad_id,
            device=trainer.args.device,
            autocast=trainer.accelerator.autocast,
            rank=trainer.accelerator.process_index,
            world_size=trainer.accelerator.num_processes,
            description=description,
            show_progress=trainer.is_world_process_zero(),
        )
        rewards = score(test_sequences, "eval MultiPref")
        metrics = pairwise_metrics(rewards[: len(test)], rewards[len(test) :], prefix="eval")
        if rewardbench_evaluate is not None:
            metrics |= rewardbench_evaluate(lambda ids: score(ids, "eval RewardBench"), eval_batch)
        return metrics

    has_test = len(test) > 0 and experiment["eval_strategy"] != "no"
    arguments = training_arguments(
        experiment,
        run_dir,
        device=device,
        evaluate=has_test,
        seed=seeds.trainer_seed,
        run_name=identity.run_name,
        use_wandb=use_wandb,
    )
    if use_wandb:
        import wandb

        os.environ.setdefault("WANDB_PROJECT", config["wandb"]["project_name"])
        wandb.init(
            project=config["wandb"]["project_name"],
            group=identity.egid,
            name=identity.run_name,
            config=_json_safe(config),
            dir=str(run_dir),
        )
    trainer = RewardTrainer(
        model=model,
        args=arguments,
        train_dataset=PairDataset(prepared.train),
        eval_dataset=PairDataset(test) if has_test else None,
        data_collator=PairCollator(pad_id),
        train_batch_sampler=sampler,
        loss_options=loss_options(experiment),
        evaluate_fn=evaluate_fn if has_test else None,
        tie_seed=seeds.trainer_seed,
    )

    def epoch_metrics() -> dict[str, float]:
        out = {}
        for index, evaluation in enumerate(trainer.evaluations):
            label = f"epoch{round(evaluation['epoch'])}" if evaluation["epoch"] else f"eval{index}"
            out |= {f"{label}/{k}": v for k, v in evaluation.items() if k.startswith("eval/")}
        return out

    previous_handler = signal.getsignal(signal.SIGTERM)

    def on_sigterm(signum, frame):
        raise RunInterrupted(f"signal {signum}")

    if state.is_main_process or state.num_processes == 1:
        signal.signal(signal.SIGTERM, on_sigterm)
    train_started = time.time()
    try:
        output = trainer.train()
        train_seconds = time.time() - train_started
        final = dict(trainer.evaluations[-1]) if trainer.evaluations else {}
        if has_test and final.get("step") != trainer.state.global_step:
            final = trainer.evaluate()
    except KeyboardInterrupt as interrupt:
        log.warning("interrupted (%s): the record is marked stopped", interrupt or "Ctrl-C")
        record(
            "stopped",
            epoch_metrics(),
            {"epochs": trainer.evaluations, "message": f"interrupted: {interrupt or 'Ctrl-C'}"},
        )
        raise
    except Exception as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else ""
        record(
            "failed",
            epoch_metrics(),
            {"epochs": trainer.evaluations, "message": f"{type(error).__name__}: {first}"},
        )
        raise
    finally:
        signal.signal(signal.SIGTERM, previous_handler)

    pairs = int(trainer.accelerator.reduce(torch.tensor(trainer.pairs_seen, device=arguments.device), "sum"))
    metrics = {k: v for k, v in final.items() if k.startswith("eval/")}
    metrics |= epoch_metrics()
    metrics |= {
        "train/loss": output.training_loss,
        "train/optimizer_steps": trainer.state.global_step,
        "train/pairs": pairs,
        "train/wall_time_s": train_seconds,
        "train/pairs_per_second": pairs / train_seconds if train_seconds > 0 else None,
        "train/peak_memory_mib": peak_memory_mib(device),
    }
    payload = record("finished", metrics, {"epochs": trainer.evaluations})
    if use_wandb:
        import wandb

        wandb.summary.update({k: v for k, v in payload["metrics"].items() if v is not None})
        wandb.summary.update({k: v for k, v in payload["statistics"].items() if v is not None})
        wandb.finish()
    if state.is_main_process:
        accuracy = metrics.get("eval/accuracy")
        shown = f"test accuracy {accuracy:.4f}, " if accuracy is not None else ""
        log.info(
            "finished %s: %s%.1f pairs/s, record %s",
            identity.run_name,
            shown,
            metrics["train/pairs_per_second"] or 0.0,
            run_dir / "run_record.json",
        )
    return payload


# ------------------------------------------------------------------------------------------------------------
# Command line
# ------------------------------------------------------------------------------------------------------------


def resolve_run(
    overrides: list[str], config_dir: str | os.PathLike | None = None
) -> tuple[dict[str, Any], Path, str]:
    """Compose the config with Hydra's run settings: ``(config without hydra, run folder, preset name)``."""
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import OmegaConf, open_dict

    cfg = compose_config(overrides, config_dir, return_hydra_config=True)
    HydraConfig.instance().set_config(cfg)
    try:
        run_dir = Path(OmegaConf.to_container(cfg.hydra.run, resolve=True)["dir"])
    except Exception as error:
        raise PipelineError(f"invalid hydra.run.dir: {str(error).splitlines()[0]}") from error
    preset = OmegaConf.select(cfg, "hydra.runtime.choices.experiment")
    with open_dict(cfg):
        del cfg["hydra"]
    config = to_container(cfg)
    return config, run_dir, preset or config["experiment"]["name"]


def _setup_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    for noisy in ("httpx", "urllib3", "filelock"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        try:
            config_dir, args = split_config_dir(args)
        except ValueError as error:
            raise PipelineError(str(error)) from None
        if any(a in ("-h", "--help") for a in args):
            print(__doc__.strip() + "\n\nPresets: " + ", ".join(available_presets(config_dir)))
            return 0
        show_config = "--cfg" in args
        overrides = [a for a in args if a != "--cfg"]
        flags = [a for a in overrides if a.startswith("-")]
        if flags:
            raise PipelineError(
                f"unknown option {flags[0]!r}; pass Hydra overrides key=value, --cfg or --help"
            )
        if show_config:
            from omegaconf import OmegaConf

            cfg = compose_config(overrides, config_dir)
            validate_config(to_container(cfg))
            print(OmegaConf.to_yaml(cfg), end="")
            return 0
        config, run_dir, preset = resolve_run(overrides, config_dir)
        if config["dry_run"]:
            validate_config(config)
            print(dry_run(config))
            return 0
        _setup_logging()
        train(config, run_dir, preset=preset)
    except PipelineError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except RunInterrupted:
        return 143
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())

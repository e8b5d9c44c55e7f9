"""Training throughput and peak memory of the LLM reward trainer: BT vs RR on the same model, batches and lengths.

Run: ``python benchmarks/bench_llm_step.py [--hidden 256 --layers 4 --seq-len 128 --steps 30 --repeats 3]``
(``PYTHONPATH=<folder holding trl>`` adds the TRL arm; ``pip install --target <folder> --no-deps trl``)
(add ``--device cuda --bf16`` on a GPU; ``scripts/gpu_check.sh`` does). Each arm trains one epoch of
``--steps`` optimiser steps (the first ``--warmup-steps`` are not timed) with :class:`responserank.llm.trainer.RewardTrainer` on a random-initialised
Llama-style model (``--model-name DIR`` loads real weights instead):

* ``BT`` — Bradley–Terry loss, plain shuffled batches (the ``bt`` preset's sampler);
* ``RR`` — ResponseRank loss over partitions of ``--partition-size`` packed whole into batches (the RR presets'
  packed sampler, largest-first best-fit), i.e. the RR loss, the packing and the bookkeeping together;
* ``TRL`` — ``trl.RewardTrainer`` (when ``trl`` is importable; skipped with one line otherwise) on
  ``AutoModelForSequenceClassification(num_labels=1)`` built from the same ``LlamaConfig`` and seed, the same
  pre-tokenised pairs (``chosen_ids`` / ``rejected_ids``), batch, steps, dtype, threads, optimiser (AdamW, lr,
  betas, eps, weight decay, clipping, linear schedule with warmup) and dropout off. What differs: TRL's head is
  ``LlamaForSequenceClassification.score`` (reward at the last non-pad token found from ``input_ids``, ours from
  the attention mask), its plain shuffled ``RandomSampler``, and its per-step reward/accuracy/margin metrics
  (``.item()`` calls) — all part of what a TRL user gets.

Every sequence has exactly ``--seq-len`` tokens, so both arms push the same tokens through the same model. Arms
alternate ``--repeats`` times, each in a fresh forked process (so the peak resident memory on the CPU, or the
peak CUDA memory, belongs to that arm alone). The table shows per arm the median and the min–max over repeats
of pairs/s by wall time and by the process's CPU time (user + system; on a shared, loaded machine the CPU-time
figure is the steadier one, as waiting for a core does not count), tokens/s and the peak memory; then the
per-repeat ratios to BT (each repeat's arms ran back to back), and the load average before and after.
"""

from __future__ import annotations

import argparse
import importlib.util
import multiprocessing
import os
import resource
import statistics
import tempfile
import time

import numpy as np
import pandas as pd


def make_frame(num_pairs: int, seq_len: int, vocab: int, partition_size: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ids = rng.integers(3, vocab, size=(2, num_pairs, seq_len)).astype(np.int32)
    partition = np.arange(num_pairs) // partition_size
    rank = np.tile(np.arange(partition_size, dtype=float), -(-num_pairs // partition_size))[:num_pairs]
    return pd.DataFrame(
        {
            "chosen_input_ids": list(ids[0]),
            "rejected_input_ids": list(ids[1]),
            "bt_target": np.ones(num_pairs),
            "rank": rank,
            "partition_id": partition,
        }
    )


def run_arm(arm: str, options: dict, queue) -> None:
    import torch
    from transformers import TrainerCallback

    torch.set_num_threads(options["threads"])
    device = options["device"]
    vocab = 1000

    experiment = {
        "model_name": options["model_name"] or "random",
        "random_init": None
        if options["model_name"]
        else {
            "hidden_size": options["hidden"],
            "intermediate_size": 4 * options["hidden"],
            "num_hidden_layers": options["layers"],
            "num_attention_heads": options["heads"],
            "num_key_value_heads": options["heads"],
            "max_position_embeddings": max(options["seq_len"], 128),
        },
        "bf16": options["bf16"],
        "gradient_checkpointing": options["gradient_checkpointing"],
        "disable_dropout": True,
        "lora": {"r": 0},
        "batch_size": options["batch"],
        "gradient_accumulation_steps": 1,
        "epochs": 1,
        "learning_rate": 1e-5,
        "lr_scheduler_type": "linear",
        "warmup_ratio": 0.05,
        "adam_beta1": 0.9,
        "adam_beta2": 0.999,
        "adam_epsilon": 1e-8,
        "weight_decay": 0.1,
        "max_grad_norm": 1.0,
        "eval_on_start": False,
        "logging_steps": 10_000,
    }
    num_pairs = options["batch"] * options["steps"]
    frame = make_frame(num_pairs, options["seq_len"], vocab, options["partition_size"])
    stamps = []

    class Clock(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if device == "cuda":
                torch.cuda.synchronize()
            stamps.append((time.perf_counter(), time.process_time()))

    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    with tempfile.TemporaryDirectory() as folder:
        if arm == "TRL":
            trainer = trl_trainer(experiment, frame, vocab, folder, device)
        else:
            trainer = our_trainer(arm, experiment, frame, vocab, folder, device, options)
        trainer.add_callback(Clock())
        trainer.train()
    warmup = options["warmup_steps"]
    wall = stamps[-1][0] - stamps[warmup - 1][0]
    cpu = stamps[-1][1] - stamps[warmup - 1][1]
    num_pairs = options["batch"] * (len(stamps) - warmup)
    peak = (
        torch.cuda.max_memory_allocated() / 2**20
        if device == "cuda"
        else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    )
    queue.put((num_pairs / wall, num_pairs / cpu, 2 * num_pairs * options["seq_len"] / wall, peak))


def our_trainer(
    arm: str, experiment: dict, frame: pd.DataFrame, vocab: int, folder: str, device: str, options
):
    from responserank.llm.batching import PackedBatchSampler, RandomBatchSampler
    from responserank.llm.model import load_reward_model
    from responserank.llm.train import training_arguments
    from responserank.llm.trainer import PairCollator, PairDataset, RewardTrainer

    class Vocabulary:  # the attributes load_reward_model reads from a tokenizer
        pad_token_id, bos_token_id, eos_token_id = 0, 1, 2

        def __len__(self):
            return vocab

    model = load_reward_model(experiment, Vocabulary(), seed=0)
    num_pairs = len(frame)
    if arm == "RR":
        sampler = PackedBatchSampler(frame.partition_id.to_numpy(), batch_size=options["batch"], seed=1)
    else:
        sampler = RandomBatchSampler(num_pairs, batch_size=options["batch"], seed=1)
    arguments = training_arguments(experiment, folder, device=device, evaluate=False, seed=0)
    arguments.disable_tqdm = True
    return RewardTrainer(
        model=model,
        args=arguments,
        train_dataset=PairDataset(frame),
        data_collator=PairCollator(pad_id=0),
        train_batch_sampler=sampler,
        loss_options={
            "use_rr_loss": arm == "RR",
            "allow_ties": False,
            "divide_by_len": True,
            "accumulation_aware_scaling": True,
        },
    )


def trl_trainer(experiment: dict, frame: pd.DataFrame, vocab: int, folder: str, device: str):
    """TRL's ``RewardTrainer`` with the same model config, seed, data and optimiser settings as our arms."""
    import torch
    from datasets import Dataset
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from transformers import AutoModelForSequenceClassification, LlamaConfig, PreTrainedTokenizerFast
    from trl import RewardConfig, RewardTrainer

    from responserank.llm.train import optimiser_arguments

    words = {f"w{index}": index for index in range(vocab)}
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=Tokenizer(WordLevel(words, unk_token="w3")),
        pad_token="w0",
        bos_token="w1",
        eos_token="w2",
    )
    torch.manual_seed(0)
    if experiment["random_init"]:
        config = LlamaConfig(
            vocab_size=vocab,
            pad_token_id=0,
            bos_token_id=1,
            eos_token_id=2,
            num_labels=1,
            **experiment["random_init"],
        )
        model = AutoModelForSequenceClassification.from_config(config)
    else:
        model = AutoModelForSequenceClassification.from_pretrained(experiment["model_name"], num_labels=1)
    model = model.to(torch.bfloat16 if experiment["bf16"] else torch.float32)
    dataset = Dataset.from_dict(
        {
            "chosen_ids": [ids.tolist() for ids in frame.chosen_input_ids],
            "rejected_ids": [ids.tolist() for ids in frame.rejected_input_ids],
        }
    )
    arguments = RewardConfig(
        output_dir=folder,
        **{**optimiser_arguments(experiment), "gradient_accumulation_steps": 1, "num_train_epochs": 1},
        gradient_checkpointing=experiment["gradient_checkpointing"],
        disable_dropout=True,
        max_length=None,
        center_rewards_coefficient=None,
        use_cpu=device == "cpu",
        save_strategy="no",
        report_to="none",
        seed=0,
        dataloader_num_workers=0,
        disable_tqdm=True,
    )
    return RewardTrainer(model=model, args=arguments, train_dataset=dataset, processing_class=tokenizer)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--seq-len", type=int, default=128, help="tokens per side")
    parser.add_argument("--batch", type=int, default=16, help="pairs per step")
    parser.add_argument("--steps", type=int, default=30, help="optimiser steps per arm and repeat")
    parser.add_argument("--warmup-steps", type=int, default=3, help="steps left out of the timing")
    parser.add_argument("--partition-size", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--bf16", action="store_true")
    parser.add_argument("--gradient-checkpointing", action="store_true")
    parser.add_argument("--model-name", default=None, help="a local model folder instead of the random model")
    args = parser.parse_args()
    options = vars(args)
    context = multiprocessing.get_context("spawn" if args.device == "cuda" else "fork")
    arms = ["BT", "RR"]
    if importlib.util.find_spec("trl") is not None:
        arms.append("TRL")
    else:
        print(
            "TRL arm skipped: trl is not importable (pip install --target DIR --no-deps trl; PYTHONPATH=DIR)"
        )
    load_before = os.getloadavg()
    results: dict[str, list[tuple[float, float, float, float]]] = {arm: [] for arm in arms}
    for _ in range(args.repeats):
        for arm in arms:
            queue = context.Queue()
            process = context.Process(target=run_arm, args=(arm, options, queue))
            process.start()
            results[arm].append(queue.get())
            process.join()
    load_after = os.getloadavg()
    model = args.model_name or f"random Llama hidden {args.hidden} x {args.layers} layers"
    print(
        f"{model}; {args.batch} pairs/step x {args.seq_len} tokens/side, {args.steps} steps "
        f"({args.warmup_steps} untimed), {args.device}{' bf16' if args.bf16 else ''}, {args.threads} thread(s), "
        f"arms interleaved, median [min-max] of {args.repeats}"
    )
    print(
        f"load average (1/5/15 min) before {'/'.join(f'{x:.1f}' for x in load_before)}, "
        f"after {'/'.join(f'{x:.1f}' for x in load_after)}; {os.cpu_count()} CPUs"
    )
    print(f"{'arm':<4} {'pairs/s (wall)':>22} {'pairs/s (CPU time)':>22} {'tokens/s':>9} {'peak MiB':>9}")

    def spread(values) -> str:
        return f"{statistics.median(values):7.2f} [{min(values):.2f}-{max(values):.2f}]"

    for arm, rows in results.items():
        wall, cpu, tokens, peak = zip(*rows, strict=True)
        print(
            f"{arm:<4} {spread(wall):>22} {spread(cpu):>22} {statistics.median(tokens):>9.0f} "
            f"{statistics.median(peak):>9.0f}"
        )
    for arm in arms[1:]:
        ratios = [
            [row[column] / base[column] for row, base in zip(results[arm], results["BT"], strict=True)]
            for column in (0, 1)
        ]
        print(f"{arm} / BT pairs/s, per repeat: wall {spread(ratios[0])}, CPU time {spread(ratios[1])}")


if __name__ == "__main__":
    main()

"""Training throughput and peak memory of the LLM reward trainer: BT vs RR on the same model, batches and lengths.

Run: ``python benchmarks/bench_llm_step.py [--hidden 256 --layers 4 --seq-len 128 --steps 30 --repeats 3]``
(add ``--device cuda --bf16`` on a GPU; ``scripts/gpu_check.sh`` does). Each arm trains one epoch of
``--steps`` optimiser steps (the first ``--warmup-steps`` are not timed) with :class:`responserank.llm.trainer.RewardTrainer` on a random-initialised
Llama-style model (``--model-name DIR`` loads real weights instead):

* ``BT`` — Bradley–Terry loss, plain shuffled batches (the ``bt`` preset's sampler);
* ``RR`` — ResponseRank loss over partitions of ``--partition-size`` packed whole into batches (the RR presets'
  packed sampler, largest-first best-fit), i.e. the RR loss, the packing and the bookkeeping together.

Every sequence has exactly ``--seq-len`` tokens, so both arms push the same tokens through the same model. Arms
alternate ``--repeats`` times, each in a fresh forked process (so the peak resident memory on the CPU, or the
peak CUDA memory, belongs to that arm alone); the table shows the median pairs/s, tokens/s and the peak
memory, and the RR / BT throughput ratio measured side by side. TRL's ``RewardTrainer`` is not part of this
script (see the README's trainer section).
"""

from __future__ import annotations

import argparse
import multiprocessing
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

    from responserank.llm.batching import PackedBatchSampler, RandomBatchSampler
    from responserank.llm.model import load_reward_model
    from responserank.llm.train import training_arguments
    from responserank.llm.trainer import PairCollator, PairDataset, RewardTrainer

    torch.set_num_threads(options["threads"])
    device = options["device"]
    vocab = 1000

    class Vocabulary:  # the two attributes load_reward_model reads from a tokenizer
        pad_token_id, bos_token_id, eos_token_id = 0, 1, 2

        def __len__(self):
            return vocab

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
    model = load_reward_model(experiment, Vocabulary(), seed=0)
    num_pairs = options["batch"] * options["steps"]
    frame = make_frame(num_pairs, options["seq_len"], vocab, options["partition_size"])
    if arm == "RR":
        sampler = PackedBatchSampler(frame.partition_id.to_numpy(), batch_size=options["batch"], seed=1)
    else:
        sampler = RandomBatchSampler(num_pairs, batch_size=options["batch"], seed=1)
    with tempfile.TemporaryDirectory() as folder:
        arguments = training_arguments(experiment, folder, device=device, evaluate=False, seed=0)
        arguments.disable_tqdm = True
        trainer = RewardTrainer(
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
        stamps = []

        class Clock(TrainerCallback):
            def on_step_end(self, args, state, control, **kwargs):
                if device == "cuda":
                    torch.cuda.synchronize()
                stamps.append(time.perf_counter())

        trainer.add_callback(Clock())
        if device == "cuda":
            torch.cuda.reset_peak_memory_stats()
        trainer.train()
    warmup = options["warmup_steps"]
    seconds = stamps[-1] - stamps[warmup - 1]
    num_pairs = options["batch"] * (len(stamps) - warmup)
    peak = (
        torch.cuda.max_memory_allocated() / 2**20
        if device == "cuda"
        else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    )
    queue.put((num_pairs / seconds, 2 * num_pairs * options["seq_len"] / seconds, peak))


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
    results: dict[str, list[tuple[float, float, float]]] = {"BT": [], "RR": []}
    for _ in range(args.repeats):
        for arm in ("BT", "RR"):
            queue = context.Queue()
            process = context.Process(target=run_arm, args=(arm, options, queue))
            process.start()
            results[arm].append(queue.get())
            process.join()
    model = args.model_name or f"random Llama hidden {args.hidden} x {args.layers} layers"
    print(
        f"{model}; {args.batch} pairs/step x {args.seq_len} tokens/side, {args.steps} steps, "
        f"{args.device}{' bf16' if args.bf16 else ''}, median of {args.repeats}"
    )
    print(f"{'arm':<4} {'pairs/s':>10} {'tokens/s':>12} {'peak MiB':>10}")
    medians = {}
    for arm, rows in results.items():
        medians[arm] = [statistics.median(column) for column in zip(*rows, strict=True)]
        pairs, tokens, peak = medians[arm]
        print(f"{arm:<4} {pairs:>10.1f} {tokens:>12.0f} {peak:>10.0f}")
    ratio = medians["RR"][0] / medians["BT"][0]
    print(f"RR / BT throughput: {ratio:.3f} (RR overhead {100 * (1 - ratio):+.1f} %)")


if __name__ == "__main__":
    main()

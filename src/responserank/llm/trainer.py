"""Reward-model training on ``transformers.Trainer``: packed batches, the BT / RR loss, explicit GA scaling.

* Data: :class:`PairDataset` serves one prepared example per index; :class:`PairCollator` pads a micro-batch of
  ``B`` pairs into one ``[2B, L]`` tensor (chosen rows first, then rejected rows) so both sides go through the
  model in **one** forward pass.
* Batches: :meth:`RewardTrainer.get_train_dataloader` wraps our batch sampler (packed partitions for RR, plain
  shuffling for BT, spec §6) in a ``DataLoader`` and hands it to ``accelerator.prepare``: only the prepared loader
  forwards ``set_epoch`` to the sampler (per-epoch reshuffle), and under ``N`` processes it deals **whole
  batches** round-robin to the ranks (batch ``i`` → rank ``i mod N``), so a partition is never split across
  ranks. When the batch count is not a multiple of ``N``, accelerate's ``even_batches`` repeats the first
  batches of the epoch to fill the last round (as ``DistributedSampler`` pads).
* Loss (spec §7), per micro-batch with rewards ``r`` and ``d = r(chosen) − r(rejected)``:
  per-pair negative log-likelihoods summed, ``S``; BT (``use_rr_loss: false`` or ``baseline: true``):
  ``BCE-with-logits(d, bt_target)`` (soft labels; hard 1.0 = ``−log σ(d)``); RR: the anchored Plackett–Luce NLL of
  :func:`responserank.losses.responserank_loss` with ``stratum = partition_id`` (a partition split over batches
  forms one group per fragment), ties allowed (random order, seeded) only with ``allow_ties: true``.
* Normalisation (:func:`normalise_loss`), made explicit instead of the Trainer's guess
  (``loss_is_scaled_for_ga = True``): with ``divide_by_len`` and ``accumulation_aware_scaling``
  ``loss = S · W / P`` where ``P`` = pairs in the whole accumulation step over all ``W`` processes (``W`` undoes
  DDP's gradient averaging) — every pair of the optimiser step weighs the same, so 4 micro-batches of 4 give
  the gradient of one batch of 16; with ``divide_by_len`` only, ``loss = S / B / G`` (micro-batch means averaged
  over the ``G`` micro-batches — the original's effective behaviour; identical when all micro-batches are full);
  without ``divide_by_len``, ``loss = S / G``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader, Dataset
from transformers import Trainer

from responserank.losses import bradley_terry_loss, responserank_loss

log = logging.getLogger(__name__)


class PairDataset(Dataset):
    """Rows of a prepared train / test table (``pipeline.PreparedData``) as dicts of plain arrays."""

    def __init__(self, frame: pd.DataFrame):
        self.chosen = frame["chosen_input_ids"].to_numpy()
        self.rejected = frame["rejected_input_ids"].to_numpy()
        self.bt_target = frame["bt_target"].to_numpy(dtype=np.float32)
        rank = frame["rank"].to_numpy(dtype=np.float64) if "rank" in frame else np.full(len(frame), np.nan)
        self.rank = np.nan_to_num(rank, nan=0.0)  # null ranks only occur in singleton partitions (irrelevant)
        self.partition_id = frame["partition_id"].to_numpy(dtype=np.int64)

    def __len__(self) -> int:
        return len(self.bt_target)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return {
            "chosen": self.chosen[index],
            "rejected": self.rejected[index],
            "bt_target": self.bt_target[index],
            "rank": self.rank[index],
            "partition_id": self.partition_id[index],
        }


def pad_sequences(sequences: list[np.ndarray], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad id arrays → ``(input_ids [n, L] long, attention_mask [n, L] long)``."""
    lengths = np.fromiter(map(len, sequences), dtype=np.int64, count=len(sequences))
    ids = np.full((len(sequences), int(lengths.max())), pad_id, dtype=np.int64)
    mask = np.arange(ids.shape[1]) < lengths[:, None]
    ids[mask] = np.concatenate(sequences)
    return torch.from_numpy(ids), torch.from_numpy(mask.astype(np.int64))


class PairCollator:
    """``B`` examples → ``input_ids`` / ``attention_mask`` ``[2B, L]`` (chosen rows 0…B−1, rejected B…2B−1),
    ``bt_target`` ``[B]`` float32, ``rank`` ``[B]`` float64, ``partition_id`` ``[B]`` int64."""

    def __init__(self, pad_id: int):
        self.pad_id = int(pad_id)

    def __call__(self, examples: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        input_ids, attention_mask = pad_sequences(
            [e["chosen"] for e in examples] + [e["rejected"] for e in examples], self.pad_id
        )
        return {
            "input_ids": input_ids,
            "attention_mask": attention_mask,
            "bt_target": torch.tensor(np.array([e["bt_target"] for e in examples]), dtype=torch.float32),
            "rank": torch.tensor(np.array([e["rank"] for e in examples]), dtype=torch.float64),
            "partition_id": torch.tensor(np.array([e["partition_id"] for e in examples]), dtype=torch.int64),
        }


def pair_nll_sum(
    chosen: torch.Tensor,
    rejected: torch.Tensor,
    bt_target: torch.Tensor,
    rank: torch.Tensor,
    partition_id: torch.Tensor,
    *,
    use_rr_loss: bool,
    allow_ties: bool,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Summed NLL (nats) of one micro-batch: RR over its partitions, or BT with soft ``bt_target`` labels."""
    if use_rr_loss:
        return responserank_loss(
            chosen,
            rejected,
            rank.to(chosen.device),
            partition_id.to(chosen.device),
            ties="random" if allow_ties else "error",
            generator=generator,
            reduction="sum",
        )
    return bradley_terry_loss(chosen, rejected, bt_target.to(chosen.device), reduction="sum")


def normalise_loss(
    nll_sum: torch.Tensor,
    micro_batch_pairs: int,
    accumulation_pairs: int,
    micro_batches: int,
    *,
    divide_by_len: bool,
    accumulation_aware_scaling: bool,
    world_size: int = 1,
) -> torch.Tensor:
    """The micro-batch loss whose gradients, summed over the accumulation step (and averaged over ``world_size``
    processes by DDP), give the optimiser step's gradient. See the module docstring for the three cases."""
    if not divide_by_len:
        return nll_sum / micro_batches
    if accumulation_aware_scaling:
        return nll_sum * world_size / accumulation_pairs
    return nll_sum / micro_batch_pairs / micro_batches


class RewardTrainer(Trainer):
    """``Trainer`` for pairwise reward models (see the module docstring).

    Extra arguments: ``train_batch_sampler`` (an iterable of index lists with ``set_epoch``), ``loss_options``
    (``use_rr_loss``, ``allow_ties``, ``divide_by_len``, ``accumulation_aware_scaling``), ``evaluate_fn``
    (``trainer -> {name: value}``, the metrics of one evaluation; ``None`` → no evaluation), ``tie_seed``.
    """

    loss_is_scaled_for_ga = True  # compute_loss applies normalise_loss itself

    def __init__(
        self,
        *args,
        train_batch_sampler,
        loss_options: dict[str, bool],
        evaluate_fn: Callable[[RewardTrainer], dict[str, float]] | None = None,
        tie_seed: int = 0,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.train_batch_sampler = train_batch_sampler
        self.loss_options = dict(loss_options)
        self.evaluate_fn = evaluate_fn
        self.tie_generator = torch.Generator().manual_seed(int(tie_seed))
        self.evaluations: list[dict[str, float]] = []  # one entry per evaluate() call, in order
        self.pairs_seen = 0
        self._accumulation = (1, 1)  # (pairs in the accumulation step over all processes, micro-batches)

    def get_train_dataloader(self) -> DataLoader:
        loader = DataLoader(
            self.train_dataset,
            batch_sampler=self.train_batch_sampler,
            collate_fn=self.data_collator,
            num_workers=self.args.dataloader_num_workers,
            pin_memory=self.args.dataloader_pin_memory,
        )
        return self.accelerator.prepare(loader)

    def get_batch_samples(self, epoch_iterator, num_batches, device):
        batch_samples = []
        for _ in range(num_batches):
            try:
                batch_samples.append(next(epoch_iterator))
            except StopIteration:
                break
        pairs = torch.tensor(sum(len(b["bt_target"]) for b in batch_samples), device=device)
        if self.accelerator.num_processes > 1:
            pairs = self.accelerator.reduce(pairs, reduction="sum")
        self._accumulation = (max(int(pairs), 1), max(len(batch_samples), 1))
        return batch_samples, None

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        rewards = model(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"])
        pairs = inputs["bt_target"].shape[0]
        chosen, rejected = rewards[:pairs], rewards[pairs:]
        options = self.loss_options
        nll_sum = pair_nll_sum(
            chosen,
            rejected,
            inputs["bt_target"],
            inputs["rank"],
            inputs["partition_id"],
            use_rr_loss=options["use_rr_loss"],
            allow_ties=options["allow_ties"],
            generator=self.tie_generator,
        )
        accumulation_pairs, micro_batches = self._accumulation
        loss = normalise_loss(
            nll_sum,
            pairs,
            accumulation_pairs,
            micro_batches,
            divide_by_len=options["divide_by_len"],
            accumulation_aware_scaling=options["accumulation_aware_scaling"],
            world_size=self.accelerator.num_processes,
        )
        if model.training:
            self.pairs_seen += pairs
        return (loss, {"rewards_chosen": chosen, "rewards_rejected": rejected}) if return_outputs else loss

    def evaluate(
        self, eval_dataset=None, ignore_keys=None, metric_key_prefix: str = "eval"
    ) -> dict[str, float]:
        """Our evaluation (MultiPref test accuracy, BT test loss, RewardBench) instead of the prediction loop."""
        if self.evaluate_fn is None:
            return {}
        metrics = self.evaluate_fn(self)
        metrics = {**metrics, "epoch": float(self.state.epoch or 0.0), "step": float(self.state.global_step)}
        self.evaluations.append(metrics)
        self.log({k: v for k, v in metrics.items() if k not in ("epoch", "step")})
        self.control = self.callback_handler.on_evaluate(self.args, self.state, self.control, metrics)
        return metrics

"""Worker of test_train_runs.py's ``accelerate launch --num_processes 2`` test (not collected by pytest).

Runs ``responserank.llm.train`` with the given overrides and writes, per rank, the partition ids of every
training micro-batch to ``$RR_DDP_BATCH_LOG.<rank>.json``.
"""

from __future__ import annotations

import json
import os
import sys

from responserank.llm import trainer as trainer_module
from responserank.llm.batching import PackedBatchSampler
from responserank.llm.train import main

seen: list[list[int]] = []  # partition ids of each micro-batch this rank trained on
epochs: list[list[list[int]]] = []  # the sampler's batches (row positions) per epoch, before sharding
compute_loss = trainer_module.RewardTrainer.compute_loss
sampler_iter = PackedBatchSampler.__iter__


def recording_iter(self):
    batches = list(sampler_iter(self))
    epochs.append(batches)
    return iter(batches)


def recording_compute_loss(self, model, inputs, *args, **kwargs):
    if model.training:
        seen.append(inputs["partition_id"].tolist())
    return compute_loss(self, model, inputs, *args, **kwargs)


trainer_module.RewardTrainer.compute_loss = recording_compute_loss
PackedBatchSampler.__iter__ = recording_iter
status = main(sys.argv[1:])
rank = int(os.environ.get("RANK", "0"))
with open(f"{os.environ['RR_DDP_BATCH_LOG']}.{rank}.json", "w") as handle:
    json.dump(
        {"batches": seen, "epochs": epochs, "world_size": int(os.environ.get("WORLD_SIZE", "1"))}, handle
    )
sys.exit(status)

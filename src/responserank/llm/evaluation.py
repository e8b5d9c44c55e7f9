"""Evaluation of a reward model: batched scoring, MultiPref test accuracy and BT test loss (spec ``llm.md`` §10).

Scoring runs under ``torch.no_grad()`` in ``model.eval()`` mode, sequences sorted by length (longest first, so
padding is minimal and an out-of-memory shows at once), in batches of ``batch_size``. Under several processes
each rank scores every ``N``-th sequence of that order and the rewards are gathered, so all ranks return the
same full vector.

MultiPref accuracy counts a pair as correct when ``r(chosen) > r(rejected)``; **a tie in the reward counts as
one half** (the run record says so with ``eval/accuracy_tie_credit = 0.5`` and counts them in
``eval/reward_ties``). The spec's original dropped exactly-tied pairs instead; with float rewards ties are rare.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import numpy as np
import torch
from tqdm.auto import tqdm

from responserank.llm.trainer import pad_sequences

TIE_CREDIT = 0.5


def score_sequences(
    model: torch.nn.Module,
    sequences: list[np.ndarray],
    *,
    batch_size: int,
    pad_id: int,
    device: torch.device | str,
    autocast: Callable[[], contextlib.AbstractContextManager] = contextlib.nullcontext,
    rank: int = 0,
    world_size: int = 1,
    description: str = "scoring",
    show_progress: bool = True,
) -> np.ndarray:
    """Rewards ``[n]`` (float64) of token-id sequences (each already rendered with the chat template)."""
    n = len(sequences)
    if n == 0:
        return np.zeros(0)
    lengths = np.fromiter(map(len, sequences), dtype=np.int64, count=n)
    order = np.argsort(-lengths, kind="stable")[rank::world_size]
    rewards = np.empty(len(order))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), autocast():
            starts = range(0, len(order), batch_size)
            for start in tqdm(starts, desc=description, leave=False, disable=not show_progress):
                index = order[start : start + batch_size]
                input_ids, attention_mask = pad_sequences([sequences[i] for i in index], pad_id)
                out = model(input_ids=input_ids.to(device), attention_mask=attention_mask.to(device))
                rewards[start : start + len(index)] = out.float().cpu().numpy()
    finally:
        model.train(was_training)
    if world_size == 1:
        full = np.empty(n)
        full[order] = rewards
        return full
    from accelerate.utils import gather_object

    pieces = gather_object([(order.tolist(), rewards.tolist())])
    full = np.full(n, np.nan)
    for part_order, part_rewards in pieces:
        full[np.asarray(part_order, dtype=np.int64)] = part_rewards
    return full


def pairwise_metrics(chosen: np.ndarray, rejected: np.ndarray, prefix: str = "eval") -> dict[str, float]:
    """Accuracy (ties = half), reward ties, BT test loss ``mean softplus(−d)`` and mean margin of scored pairs."""
    chosen, rejected = np.asarray(chosen, dtype=np.float64), np.asarray(rejected, dtype=np.float64)
    if len(chosen) == 0:
        return {}
    d = chosen - rejected
    correct = (d > 0) + TIE_CREDIT * (d == 0)
    return {
        f"{prefix}/accuracy": float(correct.mean()),
        f"{prefix}/accuracy_tie_credit": TIE_CREDIT,
        f"{prefix}/reward_ties": float((d == 0).sum()),
        f"{prefix}/loss": float(np.logaddexp(0.0, -d).mean()),
        f"{prefix}/margin": float(d.mean()),
        f"{prefix}/pairs": float(len(d)),
    }

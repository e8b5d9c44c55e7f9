"""The ResponseRank loss written as its definition: a plain Python loop over strata and comparisons.

Slow on purpose and kept only for tests and ``benchmarks/bench_losses.py``; the library's vectorized
``responserank_loss`` must agree with it.
"""

from __future__ import annotations

import torch


def responserank_loss_loop(
    u_chosen: torch.Tensor,
    u_rejected: torch.Tensor,
    rank: torch.Tensor,
    stratum: torch.Tensor,
    *,
    anchor: bool = True,
    singletons: str = "bt",
    ties: str = "error",
    tie_break: torch.Tensor | None = None,
    reduction: str = "mean",
) -> torch.Tensor:
    """Anchored Plackett–Luce NLL per stratum, by the book.

    ``tie_break`` (an ``[N]`` key, lower first) orders comparisons with equal rank; under ``ties="breslow"`` every
    member of a tie group is scored against the risk set starting at its group (all comparisons with rank >= its
    rank, plus the anchor).
    """
    diff = u_chosen - u_rejected
    tie_break = torch.arange(diff.shape[0]) if tie_break is None else tie_break
    rank_values, break_values = rank.tolist(), tie_break.tolist()
    members_of: dict[int, list[int]] = {}
    for i, s in enumerate(stratum.tolist()):
        members_of.setdefault(s, []).append(i)
    per_stratum = []
    entered = 0
    for s in sorted(members_of):
        members = sorted(members_of[s], key=lambda i: (rank_values[i], break_values[i]))
        if singletons == "skip" and len(members) < 2:
            per_stratum.append(diff.new_zeros(()))
            continue
        entered += len(members)
        log_likelihood = diff.new_zeros(())
        for position, i in enumerate(members):
            if ties == "breslow":
                risk_set = [j for j in members if rank_values[j] >= rank_values[i]]
            else:
                risk_set = members[position:]
            terms = [diff[j] for j in risk_set] + ([diff.new_zeros(())] if anchor else [])
            log_likelihood = log_likelihood + diff[i] - torch.logsumexp(torch.stack(terms), 0)
        per_stratum.append(-log_likelihood)
    per_stratum = torch.stack(per_stratum)
    if reduction == "none":
        return per_stratum
    if reduction == "sum":
        return per_stratum.sum()
    return per_stratum.sum() / entered

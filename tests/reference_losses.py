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
    n = diff.shape[0]
    tie_break = torch.arange(n) if tie_break is None else tie_break
    per_stratum = []
    entered = 0
    for s in sorted(set(stratum.tolist())):
        members = [i for i in range(n) if int(stratum[i]) == s]
        members.sort(key=lambda i: (float(rank[i]), int(tie_break[i])))
        if singletons == "skip" and len(members) < 2:
            per_stratum.append(diff.new_zeros(()))
            continue
        entered += len(members)
        log_likelihood = diff.new_zeros(())
        for position, i in enumerate(members):
            if ties == "breslow":
                risk_set = [j for j in members if float(rank[j]) >= float(rank[i])]
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

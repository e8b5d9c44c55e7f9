"""Forward + backward time and memory of the ResponseRank loss against two loops, side by side in one run.

Run: ``python benchmarks/bench_losses.py [--repeats R] [--threads T] [--naive-max N]``.

Cases (float32 utilities, float64 ranks without duplicates):

* ``balanced``: N comparisons in S strata of equal expected size (random ids);
* ``mixed``: half of the comparisons in one stratum, the other half singletons (the heavy-tailed shape of
  annotator data that made a kernel padded to the largest stratum quadratic).

Implementations, each timed as the median wall time of forward + backward:

* ``loss``: ``responserank_loss(u_chosen, u_rejected, rank, stratum)``, sorting and laying out on every call;
* ``reused``: the same with a ``stratum_layout`` computed once beforehand (``layout=``), as in a training loop
  whose ranks and strata do not change;
* ``tight loop``: one ``logcumsumexp`` per stratum over its presorted differences plus the anchor, one
  backward (the sort is done outside the timing, in its favour);
* ``naive loop``: the loop definition of ``tests/reference_losses.py`` (only up to ``--naive-max`` comparisons).

Peak memory of ``loss`` is measured in a fresh subprocess per case: ``ru_maxrss`` after one forward + backward
minus the resident set just before it (after a small warm-up call that pays torch's one-off lazy initialisation;
torch allocations are invisible to tracemalloc), so it is the growth the loss causes on that input.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from reference_losses import responserank_loss_loop

from responserank.losses import responserank_loss, stratum_layout

CASES = [
    ("balanced", 1_000, 100),
    ("balanced", 10_000, 1_000),
    ("balanced", 100_000, 10_000),
    ("mixed", 20_000, 10_001),
    ("mixed", 1_000_000, 500_001),
]


def make_inputs(kind: str, n: int, num_strata: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    u_chosen = torch.randn(n, generator=g, requires_grad=True)
    u_rejected = torch.randn(n, generator=g, requires_grad=True)
    rank = torch.randperm(n, generator=g).to(torch.float64) / n
    if kind == "balanced":
        stratum = torch.randint(0, num_strata, (n,), generator=g)
    else:
        half = n // 2
        stratum = torch.cat([torch.zeros(half, dtype=torch.long), torch.arange(1, n - half + 1)])
    return u_chosen, u_rejected, rank, stratum


def tight_loop(inputs):
    """Per stratum: one ``logcumsumexp`` over [anchor, weakest, …, strongest]; the sort is precomputed."""
    u_chosen, u_rejected, rank, stratum = inputs
    order = torch.from_numpy(__import__("numpy").lexsort((rank.numpy(), stratum.numpy())))
    sizes = torch.unique_consecutive(stratum[order], return_counts=True)[1].tolist()
    zero = torch.zeros(1)

    def loss(*_):
        pieces = torch.split((u_chosen - u_rejected)[order], sizes)
        terms = []
        for piece in pieces:
            weakest_first = piece.flip(0)
            log_risk = torch.logcumsumexp(torch.cat([zero, weakest_first]), 0)[1:]
            terms.append((log_risk - weakest_first).sum())
        return torch.stack(terms).sum() / u_chosen.shape[0]

    return loss


def time_forward_backward(loss_fn, inputs, repeats: int) -> float:
    u_chosen, u_rejected, rank, stratum = inputs
    times = []
    for _ in range(repeats):
        u_chosen.grad = u_rejected.grad = None
        start = time.perf_counter()
        loss_fn(u_chosen, u_rejected, rank, stratum).backward()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _resident_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def memory_case(kind: str, n: int, num_strata: int, threads: int) -> dict:
    """Run in a fresh process: peak resident growth of one forward + backward (bytes) and the process peak."""
    torch.set_num_threads(threads)
    responserank_loss(*make_inputs(kind, 1_000, 501)).backward()  # one-off lazy initialisation of torch
    inputs = make_inputs(kind, n, num_strata)
    before = _resident_bytes()
    responserank_loss(*inputs).backward()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {"growth": peak - before, "peak": peak}


def measure_memory(kind: str, n: int, num_strata: int, threads: int) -> dict:
    case = f"{kind},{n},{num_strata}"
    command = [sys.executable, __file__, "--memory-case", case, "--threads", str(threads)]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.1f} ms" if seconds < 10 else f"{seconds:.1f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed repetitions of the vectorized loss")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default 1)")
    parser.add_argument("--naive-max", type=int, default=10_000, help="largest N for the naive loop")
    parser.add_argument("--memory-case", help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.memory_case:
        kind, n, num_strata = args.memory_case.split(",")
        print(json.dumps(memory_case(kind, int(n), int(num_strata), args.threads)))
        return
    print(
        f"torch {torch.__version__}, {args.threads} thread(s), float32, forward + backward, median wall time, "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    print("case | N | strata | loss | reused | tight loop | naive loop | ×tight | ×naive | memory")
    for kind, n, num_strata in CASES:
        inputs = make_inputs(kind, n, num_strata)
        layout = stratum_layout(inputs[2], inputs[3])

        def reused(u_chosen, u_rejected, *_, layout=layout):
            return responserank_loss(u_chosen, u_rejected, layout=layout)

        time_forward_backward(responserank_loss, inputs, 1)  # warm-up
        full = time_forward_backward(responserank_loss, inputs, args.repeats)
        fast = time_forward_backward(reused, inputs, args.repeats)
        tight_fn = tight_loop(inputs)
        tight = time_forward_backward(tight_fn, inputs, 1 if n > 100_000 else 3)
        with torch.no_grad():
            value = responserank_loss(*inputs).item()
            assert abs(tight_fn().item() - value) <= 1e-4 * abs(value), "tight loop disagrees"
        naive = float("nan")
        if n <= args.naive_max:
            naive = time_forward_backward(responserank_loss_loop, inputs, 1)
            with torch.no_grad():
                assert abs(responserank_loss_loop(*inputs).item() - value) <= 1e-4 * abs(value)
        memory = measure_memory(kind, n, num_strata, args.threads)
        row = [
            kind,
            f"{n:,}",
            f"{num_strata:,}",
            _ms(full),
            _ms(fast),
            _ms(tight),
            _ms(naive) if naive == naive else "–",
            f"{tight / fast:.0f}×",
            f"{naive / fast:.0f}×" if naive == naive else "–",
            f"{memory['growth'] / 2**20:.0f} MiB (process peak {memory['peak'] / 2**20:.0f} MiB)",
        ]
        print(" | ".join(row), flush=True)


if __name__ == "__main__":
    main()

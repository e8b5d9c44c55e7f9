"""Forward + backward time and memory of the ResponseRank loss against two loops, side by side in one run.

Run: ``python benchmarks/bench_losses.py [--repeats R] [--threads T] [--naive-max N]``.

Cases (float32 utilities, float64 ranks without duplicates):

* ``balanced``: N comparisons in S strata of equal expected size (random ids);
* ``mixed``: half of the comparisons in one stratum, the other half singletons (the heavy-tailed shape of
  annotator data that made a kernel padded to the largest stratum quadratic).

Implementations, each timed as the median CPU time of this process (and wall time) of forward + backward; on
one thread CPU time equals wall time on an idle machine and is far less disturbed by other processes:

* ``loss``: ``responserank_loss(u_chosen, u_rejected, rank, stratum)``, sorting and laying out on every call;
* ``reused``: the same with a ``stratum_layout`` computed once beforehand (``layout=``), as in a training loop
  whose ranks and strata do not change;
* ``tight loop``: one ``logcumsumexp`` per stratum over its presorted differences plus the anchor, one
  backward (the sort is done outside the timing, in its favour; up to ``--tight-max`` comparisons);
* ``naive loop``: the loop definition of ``tests/reference_losses.py`` (only up to ``--naive-max`` comparisons).

Peak memory of ``loss`` is measured in a fresh subprocess per case (Linux): the peak resident set ``VmHWM`` of one
forward + backward minus the resident set just before it (after a small warm-up call that pays torch's one-off lazy initialisation;
torch allocations are invisible to tracemalloc), so it is the growth the loss causes on that input.
"""

from __future__ import annotations

import argparse
import json
import os
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


def time_forward_backward(loss_fn, inputs, repeats: int) -> tuple[float, float]:
    """Median (wall seconds, CPU seconds of this process) of ``repeats`` forward + backward passes."""
    u_chosen, u_rejected, rank, stratum = inputs
    wall, cpu = [], []
    for _ in range(repeats):
        u_chosen.grad = u_rejected.grad = None
        start, start_cpu = time.perf_counter(), time.process_time()
        loss_fn(u_chosen, u_rejected, rank, stratum).backward()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(wall), statistics.median(cpu)


def _status_bytes(field: str) -> int:
    """A ``kB`` field of ``/proc/self/status`` (``VmRSS``: resident now, ``VmHWM``: peak of this process image)."""
    with open("/proc/self/status") as f:
        line = next(line for line in f if line.startswith(field + ":"))
    return int(line.split()[1]) * 1024


def memory_case(kind: str, n: int, num_strata: int, threads: int) -> dict:
    """Run in a fresh process: peak resident growth of one forward + backward (bytes) and the process peak.

    ``VmHWM`` rather than ``ru_maxrss``: the latter carries over the parent's peak through fork + exec.
    """
    torch.set_num_threads(threads)
    responserank_loss(*make_inputs(kind, 1_000, 501)).backward()  # one-off lazy initialisation of torch
    inputs = make_inputs(kind, n, num_strata)
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset VmHWM to the current resident set
    before = _status_bytes("VmRSS")
    responserank_loss(*inputs).backward()
    peak = _status_bytes("VmHWM")
    return {"growth": peak - before, "peak": peak}


def measure_memory(kind: str, n: int, num_strata: int, threads: int) -> dict:
    case = f"{kind},{n},{num_strata}"
    command = [sys.executable, __file__, "--memory-case", case, "--threads", str(threads)]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def _seconds(seconds: float) -> str:
    return f"{seconds * 1e3:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def _time(wall_and_cpu: tuple[float, float]) -> str:
    wall, cpu = wall_and_cpu
    return "–" if cpu != cpu else f"{_seconds(cpu)} ({_seconds(wall)})"


def _ratio(slow: float, fast: float) -> str:
    return "–" if slow != slow else f"{slow / fast:.0f}×"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed repetitions of the vectorized loss")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default 1)")
    parser.add_argument("--naive-max", type=int, default=10_000, help="largest N for the naive loop")
    parser.add_argument("--tight-max", type=int, default=100_000, help="largest N for the tight loop")
    parser.add_argument("--memory-case", help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.memory_case:
        kind, n, num_strata = args.memory_case.split(",")
        print(json.dumps(memory_case(kind, int(n), int(num_strata), args.threads)))
        return
    print(
        f"torch {torch.__version__}, {args.threads} thread(s), float32, forward + backward; median CPU time of "
        f"this process (wall time in brackets), load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
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
        with torch.no_grad():
            value = responserank_loss(*inputs).item()
        tight = naive = (float("nan"), float("nan"))
        if n <= args.tight_max:
            tight_fn = tight_loop(inputs)
            tight = time_forward_backward(tight_fn, inputs, 1 if n > 10_000 else 3)
            with torch.no_grad():
                assert abs(tight_fn().item() - value) <= 1e-4 * abs(value), "tight loop disagrees"
        if n <= args.naive_max:
            naive = time_forward_backward(responserank_loss_loop, inputs, 1)
            with torch.no_grad():
                assert abs(responserank_loss_loop(*inputs).item() - value) <= 1e-4 * abs(value)
        memory = measure_memory(kind, n, num_strata, args.threads)
        row = [
            kind,
            f"{n:,}",
            f"{num_strata:,}",
            *(_time(t) for t in (full, fast, tight, naive)),
            _ratio(tight[1], fast[1]),
            _ratio(naive[1], fast[1]),
            f"{memory['growth'] / 2**20:.0f} MiB (process peak {memory['peak'] / 2**20:.0f} MiB)",
        ]
        print(" | ".join(row), flush=True)


# --------------------------------------------------------------------------------------------------------------
# Drift-diffusion loss: ``python benchmarks/bench_losses.py --ddm [--repeats R] [--threads T]``
# --------------------------------------------------------------------------------------------------------------


def _ddm_step(ddm_loss, inputs, parameters) -> None:
    ddm_loss(*inputs, **parameters).backward()


def bench_ddm(num_comparisons: int = 1_000_000, num_strata: int = 1_000, repeats: int = 5) -> None:
    """Forward + backward of ``ddm_loss`` (per-stratum boundary and t0, gradients to utilities and parameters)."""
    from responserank.ddm import ddm_loss

    for dtype in (torch.float32, torch.float64):
        g = torch.Generator().manual_seed(0)
        stratum = torch.randint(0, num_strata, (num_comparisons,), generator=g)
        t0 = torch.full((num_strata,), 0.3, dtype=dtype, requires_grad=True)
        boundary = torch.full((num_strata,), 1.5, dtype=dtype, requires_grad=True)
        # decision times spanning both series (u = t/a² from 1e-3 to ~7)
        response_time = 0.3 + torch.rand(num_comparisons, generator=g, dtype=dtype).square() * 15.0 + 1e-3
        u_first = torch.randn(num_comparisons, generator=g, dtype=dtype, requires_grad=True)
        u_second = torch.randn(num_comparisons, generator=g, dtype=dtype, requires_grad=True)
        first_chosen = torch.rand(num_comparisons, generator=g) < 0.5

        inputs = (u_first, u_second, first_chosen, response_time)
        parameters = {"boundary": boundary, "non_decision_time": t0, "stratum": stratum}
        _ddm_step(ddm_loss, inputs, parameters)  # warm-up
        wall, cpu = [], []
        for _ in range(repeats):
            for tensor in (u_first, u_second, t0, boundary):
                tensor.grad = None
            start, start_cpu = time.perf_counter(), time.process_time()
            _ddm_step(ddm_loss, inputs, parameters)
            wall.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
        print(
            f"ddm_loss {str(dtype).removeprefix('torch.'):>7}: N = {num_comparisons:,}, {num_strata} strata, "
            f"forward + backward median wall {statistics.median(wall):.3f} s, median CPU {statistics.median(cpu):.3f} s "
            f"({repeats} runs)"
        )


def ddm_main() -> None:
    parser = argparse.ArgumentParser(description="Forward + backward time of the drift-diffusion loss")
    parser.add_argument("--ddm", action="store_true", help="run this benchmark")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default 1)")
    parser.add_argument("--comparisons", type=int, default=1_000_000)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"torch {torch.__version__}, {args.threads} thread(s), load average {load:.1f}")
    bench_ddm(args.comparisons, repeats=args.repeats)


if __name__ == "__main__":
    if "--ddm" in sys.argv:
        ddm_main()
    else:
        main()

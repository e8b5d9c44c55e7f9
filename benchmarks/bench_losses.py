"""Forward + backward time of the vectorized ResponseRank loss against its loop definition.

Run: ``python benchmarks/bench_losses.py [--repeats R] [--threads T]``. Prints one row per size
(N comparisons, S strata of equal expected size) with the median wall time of each implementation and their
ratio, measured side by side in the same process. The loop definition lives in ``tests/reference_losses.py``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from reference_losses import responserank_loss_loop

from responserank.losses import responserank_loss

SIZES = [(1_000, 100), (10_000, 1_000), (100_000, 10_000)]


def make_inputs(n: int, num_strata: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    u_chosen = torch.randn(n, generator=g, requires_grad=True)
    u_rejected = torch.randn(n, generator=g, requires_grad=True)
    rank = torch.rand(n, generator=g)
    stratum = torch.randint(0, num_strata, (n,), generator=g)
    return u_chosen, u_rejected, rank, stratum


def time_forward_backward(loss_fn, inputs, repeats: int) -> float:
    u_chosen, u_rejected, rank, stratum = inputs
    times = []
    for _ in range(repeats):
        u_chosen.grad = u_rejected.grad = None
        start = time.perf_counter()
        loss_fn(u_chosen, u_rejected, rank, stratum).backward()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed repetitions of the vectorized loss")
    parser.add_argument(
        "--loop-repeats", type=int, default=1, help="timed repetitions of the loop definition"
    )
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default 1)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(
        f"torch {torch.__version__}, {args.threads} thread(s), float32, forward + backward, median wall time"
    )
    print(f"{'N':>8} {'strata':>7} {'vectorized':>12} {'loop':>10} {'ratio':>8}")
    for n, num_strata in SIZES:
        inputs = make_inputs(n, num_strata)
        time_forward_backward(responserank_loss, inputs, 1)  # warm-up
        vectorized = time_forward_backward(responserank_loss, inputs, args.repeats)
        loop = time_forward_backward(responserank_loss_loop, inputs, args.loop_repeats)
        with torch.no_grad():
            a = responserank_loss(*inputs).item()
            b = responserank_loss_loop(*inputs).item()
        assert abs(a - b) <= 1e-4 * abs(b), (a, b)
        print(f"{n:>8} {num_strata:>7} {vectorized * 1e3:>10.2f}ms {loop:>9.2f}s {loop / vectorized:>7.0f}x")


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

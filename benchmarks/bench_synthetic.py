"""Speed of the synthetic experiments: vectorised drift diffusion and the full six-config suite (or a fraction).

    python benchmarks/bench_synthetic.py                  # DDM + 10 % of the suite (10 trials per config), scaled up
    python benchmarks/bench_synthetic.py --trials 100     # the full suite: 6 configs × 100 trials = 21,600 trainings
    python benchmarks/bench_synthetic.py --ddm-only

Goals (issue 3): 250 drift-diffusion comparisons in ≤ 50 ms; all 21,600 trainings in ≤ 10 minutes wall on a
2-core machine. Each config runs exactly as ``python -m responserank.synthetic.experiment_runner dataset=<config>
num_trials=<n>`` does (same process pool, same files, written to a temporary folder), including the pool start-up.
The machine's load average is printed before and after, because other processes share the CPUs.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from responserank.synthetic.config import resolve_num_processes
from responserank.synthetic.data import generate_dataset
from responserank.synthetic.drift_diffusion import simulate_drift_diffusion
from responserank.synthetic.experiment_runner import compose_config, run_experiment

CONFIGS = (
    "deterministic_all",
    "stochastic",
    "drift_diffusion",
    "deterministic_all_no_variability",
    "stochastic_no_variability",
    "drift_diffusion_no_variability",
)
FULL_TRAININGS = 6 * 100 * 6 * 6


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} / {five:.2f} / {fifteen:.2f} (1 / 5 / 15 min) on {os.cpu_count()} CPUs"


def bench_ddm(repeats: int = 40) -> None:
    """Median time of one dataset's 250 walks (drift from real trials, normalised to SD 1)."""
    config = compose_config(["dataset=drift_diffusion"])[0].dataset
    timings = []
    for trial in range(1, repeats + 1):
        dataset = generate_dataset(config, 42, trial)
        drift = dataset.u1 - dataset.u2
        drift = drift / drift.std()
        rng = np.random.default_rng(trial)
        start = time.perf_counter()
        simulate_drift_diffusion(drift, threshold=1.2, noise_std=0.4, dt=0.001, rng=rng)
        timings.append(time.perf_counter() - start)
    ms = np.array(timings) * 1e3
    print(
        f"drift diffusion, 250 comparisons: median {statistics.median(ms):.1f} ms, max {ms.max():.1f} ms "
        f"over {repeats} datasets (goal ≤ 50 ms)"
    )


def bench_suite(trials: int) -> None:
    print(f"before: {load()}")
    workers = resolve_num_processes(None)
    total_wall = 0.0
    cpu_before = _cpu_seconds()
    with tempfile.TemporaryDirectory(prefix="bench_synthetic_") as tmp:
        for config_name in CONFIGS:
            config, raw = compose_config(
                [f"dataset={config_name}", f"num_trials={trials}", "show_progress=false"]
            )
            start = time.perf_counter()
            run_experiment(config, raw, Path(tmp) / config_name)
            wall = time.perf_counter() - start
            total_wall += wall
            print(f"  {config_name:34s} {trials} trials × 36 trainings: {wall:6.1f} s wall")
    cpu = _cpu_seconds() - cpu_before
    trainings = trials * 6 * 36
    print(f"after: {load()}")
    print(
        f"{trainings:,} trainings in {total_wall:.1f} s wall with {workers} worker process(es): "
        f"{1e3 * total_wall / trainings:.1f} ms wall and {1e3 * cpu / trainings:.1f} ms CPU per training "
        "(incl. data generation, evaluation and writing)"
    )
    if trainings != FULL_TRAININGS:
        scaled = total_wall * FULL_TRAININGS / trainings
        print(
            f"scaled to the full suite ({FULL_TRAININGS:,} trainings): {scaled / 60:.1f} min wall (goal ≤ 10 min)"
        )
    else:
        print(f"full suite: {total_wall / 60:.1f} min wall (goal ≤ 10 min)")


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=10, help="trials per config (100 = the full suite)")
    parser.add_argument("--ddm-only", action="store_true", help="only time the drift-diffusion simulation")
    args = parser.parse_args()
    bench_ddm()
    if not args.ddm_only:
        bench_suite(args.trials)


if __name__ == "__main__":
    main()

"""Vectorised drift-diffusion (DDM) simulation: all random walks are stepped together.

A walk starts at ``z`` (default ``a/2``) and moves by ``x ← x + v·dt + √dt·ε``, ``ε ~ N(0, σ)``, one step of ``dt``
seconds at a time, until it leaves ``(0, a)``: hitting the upper boundary ``a`` means option 1 was chosen. The
decision time is the number of steps times ``dt``.

Instead of one Python loop per walk (the original), steps are drawn in blocks of :data:`BLOCK_STEPS` for all
still-running walks at once; a cumulative sum gives every position in the block, the first boundary crossing is
found with ``argmax``, finished walks are dropped and the rest continue from their last position. The positions
are the same left-to-right sums as the sequential update (``cumsum`` of ``[x, increments…]``), so block-wise
stepping changes no statistics; only the assignment of random numbers to walks depends on the block size, which
is therefore fixed.

Closed forms for ``z = a/2`` (used in the tests)::

    P(upper) = 1 / (1 + exp(−v·a/σ²))          E[decision time] = a/(2v) · tanh(v·a/(2σ²))   (→ a²/(4σ²) at v = 0)
"""

from __future__ import annotations

import math

import numpy as np

#: Steps drawn per block for the running walks (fixed: it decides which random number drives which step).
BLOCK_STEPS = 256


def simulate_drift_diffusion(
    drift: np.ndarray,
    *,
    threshold: float,
    noise_std: float,
    dt: float,
    rng: np.random.Generator,
    start: float | None = None,
    max_time: float = 1000.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Simulate one walk per drift rate.

    Args:
        drift: drift rates ``v``, shape ``[N]`` (boundary units per second).
        threshold: upper boundary ``a > 0`` (the lower boundary is 0).
        noise_std: diffusion noise ``σ`` (SD of ``ε`` per unit √time).
        dt: step in seconds.
        rng: source of the Gaussian increments.
        start: starting point in ``(0, a)``; default ``a/2``.
        max_time: give up (``RuntimeError``) if a walk has not finished after this many seconds.

    Returns:
        ``(upper_hit, decision_time)``: bool ``[N]`` (True = upper boundary), float64 ``[N]`` seconds (≥ dt).
    """
    drift = np.asarray(drift, dtype=np.float64)
    if drift.ndim != 1:
        raise ValueError(f"drift must be 1-D, got shape {drift.shape}")
    if not np.all(np.isfinite(drift)):
        raise ValueError("drift contains NaN or infinite values")
    if not (threshold > 0 and noise_std > 0 and dt > 0):
        raise ValueError(f"threshold, noise_std and dt must be > 0, got {threshold}, {noise_std}, {dt}")
    z = threshold / 2.0 if start is None else float(start)
    if not 0.0 < z < threshold:
        raise ValueError(f"start must lie strictly between 0 and threshold={threshold}, got {z}")

    n = drift.shape[0]
    upper_hit = np.zeros(n, dtype=bool)
    decision_steps = np.zeros(n, dtype=np.int64)
    position = np.full(n, z)
    running = np.arange(n)
    steps_done = 0
    max_steps = math.ceil(max_time / dt)
    step_sd = math.sqrt(dt) * noise_std
    while running.size:
        if steps_done >= max_steps:
            raise RuntimeError(
                f"{running.size} drift-diffusion walk(s) did not reach a boundary within max_time={max_time} s"
            )
        increments = rng.standard_normal((running.size, BLOCK_STEPS))
        increments *= step_sd
        increments += (drift[running] * dt)[:, None]
        path = np.cumsum(np.concatenate([position[running, None], increments], axis=1), axis=1)[:, 1:]
        crossed = (path <= 0.0) | (path >= threshold)
        finished = crossed.any(axis=1)
        first = crossed.argmax(axis=1)
        done = running[finished]
        upper_hit[done] = path[finished, first[finished]] >= threshold
        decision_steps[done] = steps_done + first[finished] + 1
        position[running[~finished]] = path[~finished, -1]
        running = running[~finished]
        steps_done += BLOCK_STEPS
    return upper_hit, decision_steps * dt


def upper_hit_probability(drift, threshold: float, noise_std: float):
    """Closed-form ``P(upper boundary)`` for a walk started at ``a/2``: ``1/(1 + exp(−v·a/σ²))``."""
    return 1.0 / (1.0 + np.exp(-np.asarray(drift, dtype=np.float64) * threshold / noise_std**2))


def mean_decision_time(drift, threshold: float, noise_std: float):
    """Closed-form ``E[decision time]`` from ``a/2``: ``a/(2v)·tanh(v·a/(2σ²))``, ``a²/(4σ²)`` at ``v = 0``."""
    v = np.asarray(drift, dtype=np.float64)
    small = np.abs(v) < 1e-12
    safe = np.where(small, 1.0, v)
    value = threshold / (2 * safe) * np.tanh(safe * threshold / (2 * noise_std**2))
    return np.where(small, threshold**2 / (4 * noise_std**2), value)

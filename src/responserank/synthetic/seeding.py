"""Named, independent random streams derived from ``(random_seed, trial, stream name)``.

Every random draw of the synthetic experiments comes from one of these streams::

    numpy.random.SeedSequence(entropy=random_seed, spawn_key=(trial, crc32(stream_name)))

``trial`` is the 1-based trial number (``trial_<k>``); ``trial = 0`` is reserved for experiment-level streams
(the true network when it is held fixed across trials). Streams with different names are statistically
independent (that is what ``spawn_key`` is for), so adding a draw to one stream never shifts another, and the
true-utility network and the learners' initial weights can never coincide (the original drew both from the same
unseeded torch generator, which made the learner's first layer equal to the true network's first layer).

Stream names used by the package (see ``docs/synthetic.md``):

============================  =====================================================================
``true_network``              weights of the fixed random utility MLP
``items``                     item features, ``U[0, 1]^d``
``choice_noise``              Bernoulli choices (stochastic model) / diffusion increments (DDM)
``rt_noise``                  lognormal response times (stochastic model)
``strata``                    partition ids
``multipliers``               per-stratum RT scale factors
``learner_init/<arch>``       one initialisation per trial and architecture, shared by all learners and sizes
``permutation/frac_<pct>``    the shuffled train RTs of the permutation controls at that dataset size
============================  =====================================================================
"""

from __future__ import annotations

import zlib

import numpy as np

STREAMS = ("true_network", "items", "choice_noise", "rt_noise", "strata", "multipliers")


def stream_code(name: str) -> int:
    """Stable 32-bit code of a stream name (CRC-32 of its UTF-8 bytes)."""
    return zlib.crc32(name.encode("utf-8"))


def seed_sequence(random_seed: int, trial: int, name: str) -> np.random.SeedSequence:
    """The seed sequence of stream ``name`` in trial ``trial`` (``0`` = experiment level)."""
    if int(random_seed) < 0:
        raise ValueError(f"random_seed must be a non-negative integer, got {random_seed}")
    if int(trial) < 0:
        raise ValueError(f"trial must be >= 0, got {trial}")
    return np.random.SeedSequence(entropy=int(random_seed), spawn_key=(int(trial), stream_code(name)))


def rng(random_seed: int, trial: int, name: str) -> np.random.Generator:
    """A fresh ``numpy.random.Generator`` (PCG64) for stream ``name`` of trial ``trial``."""
    return np.random.Generator(np.random.PCG64(seed_sequence(random_seed, trial, name)))

"""Named, independent random streams derived from ``(random_seed, trial, stream name)``.

Every random draw of the synthetic experiments comes from one of these streams::

    numpy.random.SeedSequence(entropy=random_seed, spawn_key=(trial, crc32(stream_name)))

``trial`` is the 1-based trial number (``trial_<k>``); ``trial = 0`` is reserved for experiment-level streams
(the true network when ``fixed_true_network`` holds one network for all trials, a study option). Streams with
different names are statistically independent (that is what ``spawn_key`` is for), so adding a draw to one stream
never shifts another, and the true-utility network and the learners' initial weights come from different streams.
The original never seeded torch; PyTorch seeds its default generator non-deterministically in every fresh process,
so the original also drew a new true network per trial and a new learner initialisation per run, only not
reproducibly (spec ``synthetic.md`` §1.6, §8).

Streams depend on ``(random_seed, trial, name)`` only, never on the dataset config: the six configs of one trial
share the items, the true network (hence the utilities), the strata, the learners' initialisation and the
permutations; the three configs with RT variability share the multipliers; and a ``_no_variability`` config has
exactly the choices and RTs of its base config before stratum scaling. This pairing (common random numbers) is
intended: differences between configs are measured on the same draws. It also means the configs are not
independent replications of each other.

Stream names used by the package (see ``docs/synthetic.md``):

============================  =====================================================================
``true_network``              weights of the trial's random utility MLP
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

"""Helpers importable from any test module (``from helpers import shared_path, REPO_ROOT``)."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"


@functools.cache
def synthetic_config(*overrides: str):
    """The shipped synthetic experiment config (``conf/synthetic``, the one place of its defaults) as the runner
    composes it with the Hydra ``overrides``, e.g. ``synthetic_config("dataset=stochastic").learners["bt"]``."""
    from responserank.synthetic.experiment_runner import compose_config

    return compose_config(list(overrides))[0]


def shared_path(*parts: str) -> Path:
    """Path under ``../shared`` (beside the repository); skips the calling test when it does not exist.

    Data there is read in place and never copied into the repository.
    """
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} not available (../shared is absent on this machine)")
    return path

"""Shared fixtures and test settings. Importable helpers live in ``tests/helpers.py``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers import REPO_ROOT
from hypothesis import settings

# Property tests draw the same examples on every run (CI must not flip on a lucky draw);
# HYPOTHESIS_PROFILE=explore searches new random examples when hunting for bugs.
settings.register_profile("deterministic", derandomize=True, deadline=None, database=None)
settings.register_profile("explore", deadline=None, max_examples=1000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "deterministic"))


@pytest.fixture
def repo_root() -> Path:
    return REPO_ROOT

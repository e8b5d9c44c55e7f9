"""Shared fixtures. Importable helpers live in ``tests/helpers.py``."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import REPO_ROOT


@pytest.fixture
def repo_root() -> Path:
    return REPO_ROOT

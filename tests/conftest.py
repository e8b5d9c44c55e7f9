"""Shared test fixtures. Data in ``../shared`` (beside the repository) is read in place and never copied."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"


def shared_path(*parts: str) -> Path:
    """Path under ``../shared``; skips the calling test when it does not exist."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} not available (../shared is absent on this machine)")
    return path


@pytest.fixture
def repo_root() -> Path:
    return REPO_ROOT

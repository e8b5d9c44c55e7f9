"""Helpers importable from any test module (``from helpers import shared_path, REPO_ROOT``)."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"


def shared_path(*parts: str) -> Path:
    """Path under ``../shared`` (beside the repository); skips the calling test when it does not exist.

    Data there is read in place and never copied into the repository.
    """
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} not available (../shared is absent on this machine)")
    return path

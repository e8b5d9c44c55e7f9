"""Fixtures of the LLM-analysis tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from llm_analysis.run_records import build_run_store


@pytest.fixture(scope="module")
def run_store(tmp_path_factory) -> Path:
    """A local run store in the trainer's record schema (see ``run_records.py``)."""
    return build_run_store(tmp_path_factory.mktemp("store"))

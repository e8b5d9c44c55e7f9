"""Session fixtures for the LLM pipeline tests: a small generated MultiPref folder and its tiny tokenizer."""

from __future__ import annotations

from pathlib import Path

import pytest

from responserank.llm.fixtures import build_tokenizer, write_multipref_fixture

NUM_COMPARISONS = 160
TEST_SIZE = 40


@pytest.fixture(scope="session")
def multipref_dir(tmp_path_factory) -> Path:
    """A 160-comparison MultiPref-shaped folder (parquet) with ``tokenizer/`` inside."""
    directory = tmp_path_factory.mktemp("multipref")
    write_multipref_fixture(directory, "parquet", num_comparisons=NUM_COMPARISONS, seed=1)
    build_tokenizer(directory / "tokenizer")
    return directory


@pytest.fixture(scope="session")
def tokenizer(multipref_dir):
    from responserank.llm.data import load_tokenizer

    return load_tokenizer(str(multipref_dir / "tokenizer"))


@pytest.fixture(scope="session")
def fixture_overrides(multipref_dir) -> list[str]:
    """Overrides that point a dry run at the fixture (offline)."""
    return [
        "dry_run=true",
        f"experiment.dataset.path={multipref_dir}",
        f"experiment.tokenizer_name={multipref_dir / 'tokenizer'}",
        f"experiment.dataset.test_size={TEST_SIZE}",
    ]

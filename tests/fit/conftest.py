"""Generated comparison tables with known utilities (shared by the tests of ``responserank.fitting``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


def simulate_table(
    seed: int,
    num_items: int = 20,
    num_comparisons: int = 60,
    num_annotators: int = 6,
    temperature: float = 0.3,
    shuffle_rt: bool = False,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Noisy BT choices and response times that fall with the utility gap.

    Annotators differ in speed (``rt ≈ speed · 10 / (|Δu| + 1)``, lognormal noise), so raw times are only
    comparable within an annotator. ``shuffle_rt`` permutes the times within each annotator (no signal left).
    Returns the table (columns ``left, right, choice ('L'/'R'), rt, annotator``) and the true utilities.
    """
    rng = np.random.default_rng(seed)
    utility = rng.normal(size=num_items)
    speed = np.abs(rng.normal(1.0, 2.0, size=num_annotators)) + 0.1
    first, second = rng.integers(num_items, size=(2, num_comparisons))
    second = np.where(first == second, (second + 1) % num_items, second)
    delta = utility[first] - utility[second]
    first_chosen = rng.random(num_comparisons) < 1.0 / (1.0 + np.exp(-delta / temperature))
    annotator = rng.integers(num_annotators, size=num_comparisons)
    rt = speed[annotator] * 10.0 / (np.abs(delta) + 1.0) * rng.lognormal(0.0, 0.1, size=num_comparisons)
    if shuffle_rt:
        order = np.lexsort((rng.random(num_comparisons), annotator))
        shuffled = rt.copy()
        for a in np.unique(annotator):  # test data generation only
            members = order[annotator[order] == a]
            shuffled[members] = rt[rng.permutation(members)]
        rt = shuffled
    table = pd.DataFrame(
        {
            "left": [f"item{i:02d}" for i in first],
            "right": [f"item{i:02d}" for i in second],
            "choice": np.where(first_chosen, "L", "R"),
            "rt": rt,
            "annotator": [f"ann{a}" for a in annotator],
        }
    )
    return table, utility


@pytest.fixture(scope="session")
def make_table():
    return simulate_table

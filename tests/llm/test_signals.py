"""Strength-signal formulas (spec llm.md §1.2–§1.4, §2) on hand-made annotations."""

from __future__ import annotations

import numpy as np
import pytest

from responserank.errors import PipelineError
from responserank.llm.signals import (
    agreement_score,
    annotation_values,
    bt_target,
    comparison_statistics,
    directional,
    invert_ranks,
    ordinal,
    strength_rank,
)

AC, AS, T, BS, BC = (
    "A-is-clearly-better",
    "A-is-slightly-better",
    "Tie",
    "B-is-slightly-better",
    "B-is-clearly-better",
)


def stats_of(*comparisons: list[str], slight: float = 0.5, ties_in_total: bool = False):
    labels = [label for votes in comparisons for label in votes]
    comparison = np.repeat(np.arange(len(comparisons)), [len(v) for v in comparisons])
    return comparison_statistics(
        comparison, annotation_values(np.array(labels, dtype=object)), len(comparisons), slight, ties_in_total
    )


def test_per_annotation_values():
    values = annotation_values(np.array([AC, AS, T, BS, BC], dtype=object))
    np.testing.assert_array_equal(values.direction, [1, 1, 0, -1, -1])
    np.testing.assert_array_equal(values.stated_strength, [2, 1, 0, 1, 2])
    np.testing.assert_array_equal(values.is_tie, [False, False, True, False, False])
    np.testing.assert_allclose(ordinal(values, 0.5), [1, 0.5, 0, -0.5, -1])
    np.testing.assert_allclose(ordinal(values, 0.25), [1, 0.25, 0, -0.25, -1])


def test_unknown_label_is_named():
    with pytest.raises(PipelineError, match=r"unknown overall_pref label\(s\) \['A-is-much-better'\]"):
        annotation_values(np.array([AC, "A-is-much-better"], dtype=object))


@pytest.mark.parametrize(
    ("votes", "ties_in_total", "expected"),
    [
        ([AC] * 4, False, 1.0),  # spec §1.3 examples
        ([AC, AC, BC, BC], False, 0.0),
        ([AC, AC, AS, AS], False, 0.75),
        ([AC, AC, AC, T], True, 0.75),
        ([AC, AC, AC, T], False, 1.0),
        ([T, T], False, 0.0),  # D = 0
        ([T, T], True, 0.0),
        ([BS, BS, AC], False, 0.0),  # |1 − 2·0.5| / 3
        ([BC, BC, BS, T], True, 0.625),  # |0 − 2.5| / 4
    ],
)
def test_agreement_examples(votes, ties_in_total, expected):
    assert stats_of(votes, ties_in_total=ties_in_total).agreement_score[0] == pytest.approx(expected)


@pytest.mark.parametrize(("slight", "expected"), [(0.25, 0.375), (0.5, 0.25), (0.75, 0.125), (1.0, 0.0)])
def test_agreement_slight_weight(slight, expected):
    # 2 A-slightly + 2 B-clearly: |2s − 2| / 4
    assert stats_of([AS, AS, BC, BC], slight=slight).agreement_score[0] == pytest.approx(expected)


def test_counts_and_mean_preference():
    s = stats_of([AC, AC, AC, BC], [AS, T, BS, BS], [], [T])
    np.testing.assert_array_equal(s.clearly_a, [3, 0, 0, 0])
    np.testing.assert_array_equal(s.slightly_b, [0, 2, 0, 0])
    np.testing.assert_array_equal(s.ties, [0, 1, 0, 1])
    np.testing.assert_array_equal(s.num_annotations, [4, 4, 0, 1])
    np.testing.assert_allclose(s.mean_preference, [0.5, -0.125, np.nan, 0.0])


def test_agreement_with_ties_in_total_is_abs_mean_preference():
    rng = np.random.default_rng(0)
    labels = [list(rng.choice([AC, AS, T, BS, BC], size=rng.integers(1, 6))) for _ in range(200)]
    s = stats_of(*labels, slight=0.3, ties_in_total=True)
    np.testing.assert_allclose(s.agreement_score, np.abs(s.mean_preference))


def test_agreement_score_vectorized_formula():
    np.testing.assert_allclose(
        agreement_score([2, 0], [0, 2], [0, 2], [1, 0], [1, 1], 0.5, False), [1.5 / 3, 1 / 4]
    )  # |2 − 0.5| / 3, |1 − 2| / 4


def test_mean_preference_soft_label_example():
    # votes +1, +1, +1, −1: mean 0.5 → bt_target 0.75 if A chosen, 0.25 if B chosen (spec §2)
    s = stats_of([AC, AC, AC, BC])
    d = directional(np.repeat(s.mean_preference, 2), np.array([True, False]))
    np.testing.assert_allclose(d, [0.5, -0.5])
    np.testing.assert_allclose(
        bt_target("mean_preference", agreement=np.zeros(2), directional_mean_preference=d), [0.75, 0.25]
    )
    np.testing.assert_allclose(
        bt_target("agreement", agreement=np.array([0.5, 1.0]), directional_mean_preference=d), [0.75, 1.0]
    )
    np.testing.assert_allclose(
        bt_target("hard", agreement=np.zeros(2), directional_mean_preference=d), [1.0, 1.0]
    )


def test_train_processors_map_to_lower_is_stronger():
    kwargs = dict(
        time_spent=np.array([5.0, 50.0, np.nan]),
        agreement=np.array([1.0, 0.25, 0.5]),
        stated_strength=np.array([2, 1, 1]),
        directional_mean_preference=np.array([0.9, -0.2, 0.1]),
    )
    np.testing.assert_allclose(strength_rank("real_rt", **kwargs), [5.0, 50.0, np.nan])
    np.testing.assert_allclose(strength_rank("agreement", **kwargs), [-1.0, -0.25, -0.5])
    np.testing.assert_allclose(strength_rank("stated_strength", **kwargs), [0.0, 1.0, 1.0])
    np.testing.assert_allclose(strength_rank("consensus", **kwargs), [-0.9, 0.2, -0.1])


def test_response_time_rank_needs_times():
    kwargs = dict(agreement=np.ones(2), stated_strength=np.ones(2), directional_mean_preference=np.ones(2))
    with pytest.raises(PipelineError, match="needs the annotations' time_spent"):
        strength_rank("real_rt", time_spent=np.array([np.nan, np.nan]), **kwargs)
    with pytest.raises(PipelineError, match="time_spent must be >= 0"):
        strength_rank("real_rt", time_spent=np.array([3.0, -1.0]), **kwargs)
    with pytest.raises(PipelineError, match="train_processor='speed'"):
        strength_rank("speed", time_spent=np.ones(2), **kwargs)


def test_invert_ranks():
    np.testing.assert_allclose(invert_ranks(np.array([0.0, 1.0, 3.0, np.nan])), [1.0, 0.5, 0.25, np.nan])
    with pytest.raises(PipelineError):
        invert_ranks(np.array([-1.0]))

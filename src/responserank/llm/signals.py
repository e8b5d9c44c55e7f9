"""MultiPref annotations → per-comparison statistics → strength signal as a rank (lower = stronger).

Spec ``llm.md`` §1.2–§1.4 and §2. Everything here is vectorized over annotations / comparisons (NumPy arrays).

Per annotation (``overall_pref`` on the 5-level scale):

* direction: +1 for ``A-is-*``, −1 for ``B-is-*``, 0 for ``Tie``;
* stated strength: 2 = "clearly", 1 = "slightly", 0 = none (Tie);
* ordinal (A-relative): A-clearly +1, A-slightly +s, Tie 0, B-slightly −s, B-clearly −1, with
  s = ``slight_preference_value`` (default 0.5).

Per comparison, over **all** its annotations (normal + expert), with counts cA, sA, cB, sB (clearly / slightly
A or B) and T (ties):

* ``agreement_score = |(cA + s·sA) − (cB + s·sB)| / D``, D = cA + sA + cB + sB (+ T when ties count in the
  denominator); 0 when D = 0. Range [0, 1].
* ``mean_preference`` = mean ordinal (ties count 0), in [−1, 1]; NaN for a comparison without annotations.
  Its *directional* version is +mean_preference when A is the chosen side of the example, − otherwise.

Strength signal → rank ("train processors"): ``real_rt`` → time_spent (seconds; fast = strong),
``agreement`` → −agreement_score, ``stated_strength`` → 0 for "clearly", else 1, ``consensus`` → −directional
mean_preference. Soft BCE targets of the chosen side (``bt_target``): ``hard`` → 1, ``agreement`` →
0.5 + 0.5·agreement, ``mean_preference`` → (directional mean_preference + 1) / 2.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from responserank.errors import PipelineError

#: The MultiPref ``overall_pref`` scale, strongest A to strongest B.
PREFERENCE_LABELS = (
    "A-is-clearly-better",
    "A-is-slightly-better",
    "Tie",
    "B-is-slightly-better",
    "B-is-clearly-better",
)
_DIRECTION = np.array([1, 1, 0, -1, -1], dtype=np.int8)
_STATED = np.array([2, 1, 0, 1, 2], dtype=np.int8)

TRAIN_PROCESSORS = ("real_rt", "agreement", "stated_strength", "consensus")
BT_TARGETS = ("hard", "agreement", "mean_preference")


@dataclass(frozen=True)
class AnnotationValues:
    """Per-annotation values, each of shape ``[A]`` (one entry per annotation)."""

    direction: np.ndarray  # int8: +1 = A preferred, −1 = B preferred, 0 = tie
    stated_strength: np.ndarray  # int8: 2 = clearly, 1 = slightly, 0 = none (tie)

    @property
    def is_tie(self) -> np.ndarray:
        return self.direction == 0


def annotation_values(overall_pref: np.ndarray) -> AnnotationValues:
    """Map ``overall_pref`` labels to direction and stated strength; unknown labels raise ``PipelineError``."""
    labels = np.asarray(overall_pref, dtype=object)
    code = np.full(len(labels), -1, dtype=np.int64)
    for index, label in enumerate(PREFERENCE_LABELS):  # 5 labels, vectorized over annotations
        code[labels == label] = index
    unknown = code < 0
    if unknown.any():
        bad = sorted({str(v) for v in labels[unknown]})
        raise PipelineError(
            f"unknown overall_pref label(s) {bad[:5]} in {int(unknown.sum())} annotation(s); "
            f"expected one of {list(PREFERENCE_LABELS)}"
        )
    return AnnotationValues(direction=_DIRECTION[code], stated_strength=_STATED[code])


def ordinal(values: AnnotationValues, slight_preference_value: float = 0.5) -> np.ndarray:
    """A-relative ordinal value of each annotation: ±1 (clearly), ±s (slightly), 0 (tie)."""
    magnitude = np.where(values.stated_strength == 2, 1.0, float(slight_preference_value))
    return values.direction * magnitude


@dataclass(frozen=True)
class ComparisonStatistics:
    """Per-comparison counts and scores, each of shape ``[C]``."""

    clearly_a: np.ndarray
    slightly_a: np.ndarray
    clearly_b: np.ndarray
    slightly_b: np.ndarray
    ties: np.ndarray
    num_annotations: np.ndarray
    agreement_score: np.ndarray  # in [0, 1]
    mean_preference: np.ndarray  # A-relative, in [−1, 1]; NaN without annotations


def comparison_statistics(
    comparison: np.ndarray,
    values: AnnotationValues,
    num_comparisons: int,
    slight_preference_value: float = 0.5,
    ties_in_agreement_total: bool = False,
) -> ComparisonStatistics:
    """Count the annotations of each comparison and compute agreement and mean preference (§1.3).

    Args:
        comparison: ``[A]`` row index (0 … C−1) of the comparison each annotation belongs to.
        values: per-annotation values from :func:`annotation_values`.
        num_comparisons: C (comparisons without annotations get zero counts).
        slight_preference_value: s, the weight of a "slightly" vote.
        ties_in_agreement_total: count ties in the agreement denominator D.
    """
    s = float(slight_preference_value)
    if not 0.0 <= s <= 1.0:
        raise PipelineError(f"slight_preference_value must lie in [0, 1], got {s}")

    def count(mask: np.ndarray) -> np.ndarray:
        return np.bincount(comparison[mask], minlength=num_comparisons).astype(np.int64)

    clearly = values.stated_strength == 2
    slightly = values.stated_strength == 1
    a, b = values.direction > 0, values.direction < 0
    ca, sa, cb, sb = count(clearly & a), count(slightly & a), count(clearly & b), count(slightly & b)
    ties = count(values.is_tie)
    total = ca + sa + cb + sb + ties
    agreement = agreement_score(ca, sa, cb, sb, ties, s, ties_in_agreement_total)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_pref = np.where(total > 0, ((ca + s * sa) - (cb + s * sb)) / np.maximum(total, 1), np.nan)
    return ComparisonStatistics(ca, sa, cb, sb, ties, total, agreement, mean_pref)


def agreement_score(
    clearly_a, slightly_a, clearly_b, slightly_b, ties, slight_preference_value=0.5, ties_in_total=False
) -> np.ndarray:
    """``|(cA + s·sA) − (cB + s·sB)| / D`` with D = cA + sA + cB + sB (+ T); 0 where D = 0 (vectorized)."""
    s = float(slight_preference_value)
    ca, sa, cb, sb, t = (
        np.asarray(x, dtype=np.float64) for x in (clearly_a, slightly_a, clearly_b, slightly_b, ties)
    )
    denominator = ca + sa + cb + sb + (t if ties_in_total else 0.0)
    numerator = np.abs((ca + s * sa) - (cb + s * sb))
    return np.where(denominator > 0, numerator / np.maximum(denominator, 1.0), 0.0)


def directional(mean_preference: np.ndarray, first_chosen: np.ndarray) -> np.ndarray:
    """Chosen-oriented mean preference: +m when A is the chosen side, −m otherwise."""
    return np.where(np.asarray(first_chosen, dtype=bool), mean_preference, -np.asarray(mean_preference))


def strength_rank(
    processor: str,
    *,
    time_spent: np.ndarray,
    agreement: np.ndarray,
    stated_strength: np.ndarray,
    directional_mean_preference: np.ndarray,
) -> np.ndarray:
    """The train processor (§1.4): strength signal of each example → rank, **lower = stronger**.

    ``time_spent`` is in seconds with NaN where the drawn annotation has none; such examples get a NaN rank (no
    signal: they end up as singleton partitions, i.e. plain BT terms). ``real_rt`` raises when no example has a
    time, or when a time is negative.
    """
    if processor == "real_rt":
        rank = np.asarray(time_spent, dtype=np.float64)
        if len(rank) and np.isnan(rank).all():
            raise PipelineError(
                "train_processor real_rt needs the annotations' time_spent, but none of the drawn annotations "
                "has one; use a preset with another strength signal (e.g. experiment=rr_agree) or add time_spent"
            )
        if (rank < 0).any():
            raise PipelineError(f"time_spent must be >= 0 seconds, found {np.nanmin(rank)}")
        return rank
    if processor == "agreement":
        return -np.asarray(agreement, dtype=np.float64)
    if processor == "stated_strength":
        return np.where(np.asarray(stated_strength) == 2, 0.0, 1.0)
    if processor == "consensus":
        return -np.asarray(directional_mean_preference, dtype=np.float64)
    raise PipelineError(
        f"train_processor={processor!r} is not a valid option; expected one of {list(TRAIN_PROCESSORS)}"
    )


def bt_target(kind: str, *, agreement: np.ndarray, directional_mean_preference: np.ndarray) -> np.ndarray:
    """Soft BCE target of the chosen side (§2): hard 1.0, 0.5 + 0.5·agreement, or (directional m + 1) / 2."""
    if kind == "hard":
        return np.ones(len(agreement), dtype=np.float64)
    if kind == "agreement":
        return 0.5 + 0.5 * np.asarray(agreement, dtype=np.float64)
    if kind == "mean_preference":
        return (np.asarray(directional_mean_preference, dtype=np.float64) + 1.0) / 2.0
    raise PipelineError(f"bt_target={kind!r} is not a valid option; expected one of {list(BT_TARGETS)}")


def shuffle_ranks(rank: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Permute the ranks over all examples (a control that destroys the signal but keeps its distribution)."""
    return np.asarray(rank)[rng.permutation(len(rank))]


def invert_ranks(rank: np.ndarray) -> np.ndarray:
    """rank → 1 / (rank + 1) (reverses the order of non-negative ranks); NaN stays NaN."""
    rank = np.asarray(rank, dtype=np.float64)
    if np.any(rank == -1):
        raise PipelineError(
            "invert_ranks maps rank -1 to infinity; it is meant for non-negative ranks (response times)"
        )
    return 1.0 / (rank + 1.0)

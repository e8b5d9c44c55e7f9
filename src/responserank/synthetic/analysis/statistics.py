"""Numbers behind the tables and annotations: per-size summaries, crossing points, paired Wilcoxon tests.

Higher is better for both metrics (accuracy and PDC); the original marked PDC improvements with ↓ — fixed here.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import scipy.stats

from responserank.errors import AnalysisError
from responserank.reporting import Summary, crossing_point, summarize
from responserank.synthetic.analysis.cache import DatasetResults

# (model1, model2, row label): the test asks whether model2 differs from model1.
COMPARISONS: tuple[tuple[str, str, str], ...] = (
    ("bt", "rr", "ResponseRank vs BT"),
    ("rr_perm", "rr", "ResponseRank vs ResponseRank-Perm"),
    ("rt_regression", "rr", "ResponseRank vs RtRegression"),
    ("bt", "rt_regression", "RtRegression vs BT"),
    ("rt_regression_perm", "rt_regression", "RtRegression vs RtRegression-Perm"),
    ("rr_pooled", "rr", "ResponseRank vs ResponseRank-Pool"),
)


def size_summaries(results: DatasetResults, metric: str) -> dict[str, list[Summary]]:
    """learner → one :class:`Summary` over trials per size (ascending sizes)."""
    return {
        learner: [summarize(row) for row in values] for learner, values in results.metrics[metric].items()
    }


def band_half_width(summary: Summary) -> float:
    """Half-width of the curves' band: 1.96·SD/√n (normal approximation of the mean's 95 % interval)."""
    return 1.96 * summary.sd / math.sqrt(summary.n) if summary.n > 0 else math.nan


@dataclass(frozen=True)
class RrVsBt:
    """ResponseRank against BT's full-data level for one metric (values in the metric's own units)."""

    bt_full: float  # BT mean at the largest size
    rr_full: float  # RR mean at the largest size
    crossing: float | None  # percent of the training set at which RR's mean reaches bt_full; None if never

    @property
    def difference(self) -> float:
        return self.rr_full - self.bt_full


def rr_vs_bt(results: DatasetResults, metric: str) -> RrVsBt:
    summaries = size_summaries(results, metric)
    bt_full = summaries["bt"][-1].mean
    rr_means = [s.mean for s in summaries["rr"]]
    crossing = crossing_point(results.sizes * 100, rr_means, bt_full)
    return RrVsBt(bt_full=bt_full, rr_full=rr_means[-1], crossing=crossing)


@dataclass(frozen=True)
class Comparison:
    """Paired comparison of model2 against model1 on samples pooled over sizes (paired by size and trial)."""

    label: str
    p_value: float
    mean_difference: float  # mean(model2 − model1)
    effect_size: float  # (mean2 − mean1) / SD(both samples concatenated, ddof 1)
    n: int

    @property
    def model2_better(self) -> bool | None:
        """True/False when model2's mean is higher/lower (higher is better for every metric); None if equal."""
        if not self.mean_difference or math.isnan(self.mean_difference):
            return None
        return self.mean_difference > 0


def paired_comparison(first, second, label: str) -> Comparison:
    """Two-sided Wilcoxon signed-rank test (scipy defaults) of ``second − first``.

    Inputs are flattened in (size, trial) order and must have the same length (else :class:`AnalysisError`);
    pairs with a NaN on either side are dropped. p is NaN when there is nothing to test (no pairs, or all
    differences 0).
    """
    a = np.asarray(first, dtype=np.float64).ravel()
    b = np.asarray(second, dtype=np.float64).ravel()
    if a.size != b.size:
        raise AnalysisError(f"{label}: paired samples differ in length ({a.size} and {b.size} values)")
    keep = ~(np.isnan(a) | np.isnan(b))
    a, b = a[keep], b[keep]
    if a.size == 0:
        return Comparison(label, math.nan, math.nan, math.nan, 0)
    p_value = math.nan
    if np.any(a != b):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # small-sample / ties notes; the p value is still defined
            p_value = float(scipy.stats.wilcoxon(b, a).pvalue)
    mean_difference = float(b.mean() - a.mean())
    pooled_sd = float(np.concatenate([a, b]).std(ddof=1)) if 2 * a.size > 1 else math.nan
    effect_size = mean_difference / pooled_sd if pooled_sd > 0 else math.nan
    return Comparison(label, p_value, mean_difference, effect_size, int(a.size))


def comparisons(results: DatasetResults, metric: str) -> list[Comparison]:
    """All :data:`COMPARISONS` for one dataset and metric."""
    values = results.metrics[metric]
    return [paired_comparison(values[m1], values[m2], label) for m1, m2, label in COMPARISONS]

"""Which train examples may have their ranks compared: fraction sampling, rank filters, stratifiers,
partitioners and rank transforms (spec ``llm.md`` §4–§5).

Every function works on whole arrays (one entry per train example, in the order of the train table) and takes an
explicit ``numpy.random.Generator`` where it draws. Ranks are float64 with **lower = stronger** and NaN for "no
signal"; such examples always end up alone in a partition (a singleton = a plain BT term in the RR loss).
Partition ids are int64 (any values; only equality matters).

Tied ranks: ranks here come from arithmetic on annotation counts (agreement ratios, mean preferences), where
mathematically equal values can differ in the last bits, so the tie-aware steps (the ``round_robin`` partitioner,
the tie diagnostics and the check behind ``allow_ties``) take a ``tie_tolerance``: the presets set
``experiment.tie_tolerance: 1.0e-9`` (the original implementation's ``isclose``), 0 means exact equality (the
library default, :mod:`responserank.segments`).
"""

from __future__ import annotations

import numpy as np
import scipy.stats

from responserank import segments
from responserank.errors import PipelineError
from responserank.strata import round_robin_partition, stratify, tie_groups

STRATIFIERS = ("global", "global_split_ties", "annotator", "annotator_length_bucket")
PARTITIONERS = ("noop", "round_robin", "random")
RANK_FILTERS = ("noop", "random", "category")
RANK_TRANSFORMS = ("no_op", "partial_shuffle", "random_rank")
DATASET_SAMPLERS = ("annotator", "uniform")
#: Accepted spellings of "do nothing" (the original uses both).
NO_OP_NAMES = ("noop", "no_op")


def _canonical(name: str, options: tuple[str, ...], option: str) -> str:
    if name in NO_OP_NAMES and any(o in NO_OP_NAMES for o in options):
        return next(o for o in options if o in NO_OP_NAMES)
    if name not in options:
        raise PipelineError(f"{option}={name!r} is not a valid option; expected one of {list(options)}")
    return name


def check_fraction(name: str, value: float) -> float:
    """Raise unless ``0 < value <= 1``."""
    value = float(value)
    if not 0.0 < value <= 1.0:
        raise PipelineError(f"{name} must lie in (0, 1], got {value}")
    return value


# ------------------------------------------------------------------------------------------------------------
# Fraction sampling (§4 step 11)
# ------------------------------------------------------------------------------------------------------------


def sample_fraction(
    kind: str, evaluator: np.ndarray, fraction: float, rng: np.random.Generator
) -> np.ndarray:
    """Positions (ascending) of the ``int(N·fraction)`` train examples kept.

    ``annotator``: annotators are shuffled and added whole until the next would exceed the target, then the first
    examples (in table order) of that one fill up the rest — equivalently, the first ``int(N·f)`` examples of the
    table ordered by (shuffled annotator, position). ``uniform``: a random subset. ``fraction = 1`` keeps all.
    For a fixed generator state the kept sets are nested in ``fraction``.
    """
    kind = _canonical(kind, DATASET_SAMPLERS, "dataset_sampler")
    fraction = check_fraction("experiment.fraction", fraction)
    n = len(evaluator)
    target = int(n * fraction)
    if fraction == 1.0:
        return np.arange(n)
    if target < 1:
        raise PipelineError(f"experiment.fraction={fraction} keeps no example of the {n} train examples")
    if kind == "uniform":
        return np.sort(rng.permutation(n)[:target])
    annotator = stratify(evaluator)
    annotator_order = rng.permutation(int(annotator.max()) + 1 if n else 0)
    position_of_annotator = np.empty_like(annotator_order)
    position_of_annotator[annotator_order] = np.arange(len(annotator_order))
    order = np.lexsort((np.arange(n), position_of_annotator[annotator]))
    return np.sort(order[:target])


# ------------------------------------------------------------------------------------------------------------
# Rank filters (§5): set some ranks to NaN → those examples become singletons
# ------------------------------------------------------------------------------------------------------------


def rank_filter(
    kind: str,
    rank: np.ndarray,
    rng: np.random.Generator,
    *,
    fraction: float | None = None,
    subject_study: np.ndarray | None = None,
    category: str = "Mathematics",
) -> np.ndarray:
    """``random``: null the ranks of ``int(N·fraction)`` random examples; ``category``: keep ranks only where
    ``subject_study == category``; ``noop``: unchanged. Returns a new array."""
    kind = _canonical(kind, RANK_FILTERS, "train_filter")
    rank = np.array(rank, dtype=np.float64, copy=True)
    if kind == "random":
        fraction = check_fraction(
            "experiment.train_filter.fraction", fraction if fraction is not None else -1
        )
        rank[rng.permutation(len(rank))[: int(len(rank) * fraction)]] = np.nan
    elif kind == "category":
        if subject_study is None:
            raise PipelineError("train_filter=category needs the subject_study column, which the data lacks")
        rank[np.asarray(subject_study, dtype=object) != category] = np.nan
    return rank


# ------------------------------------------------------------------------------------------------------------
# Stratifiers (§5, step 13)
# ------------------------------------------------------------------------------------------------------------


def length_buckets(length: np.ndarray, has_rank: np.ndarray, num_buckets: int) -> np.ndarray:
    """Bucket 0 … n−1 of each length; edges = percentiles linspace(0, 100, n+1) of the lengths of ranked
    examples, the top edge raised by one so the longest falls in the last bucket (intervals ``[e_i, e_i+1)``)."""
    if int(num_buckets) != num_buckets or num_buckets < 1:
        raise PipelineError(f"stratifier num_buckets must be an integer >= 1, got {num_buckets}")
    reference = np.asarray(length, dtype=np.float64)[has_rank]
    if len(reference) == 0:
        return np.zeros(len(length), dtype=np.int64)
    edges = np.percentile(reference, np.linspace(0, 100, int(num_buckets) + 1))
    edges[-1] += 1
    return np.clip(np.searchsorted(edges, length, side="right") - 1, 0, int(num_buckets) - 1)


def stratify_examples(
    kind: str,
    rank: np.ndarray,
    *,
    evaluator: np.ndarray | None = None,
    length: np.ndarray | None = None,
    num_buckets: int | None = None,
) -> np.ndarray:
    """Stratum id of each example: ``global`` (= ``global_split_ties``) one stratum; ``annotator`` one per
    ``evaluator``; ``annotator_length_bucket`` one per (evaluator, length bucket). Examples without a rank get
    one singleton stratum each (ids after the others)."""
    kind = _canonical(kind, STRATIFIERS, "stratifier")
    rank = np.asarray(rank, dtype=np.float64)
    has_rank = ~np.isnan(rank)
    n = len(rank)
    stratum = np.zeros(n, dtype=np.int64)
    ranked = np.flatnonzero(has_rank)
    if kind in ("annotator", "annotator_length_bucket"):
        if evaluator is None:
            raise PipelineError(f"stratifier={kind} needs the annotators' evaluator ids")
        keys = [np.asarray(evaluator, dtype=object)[ranked]]
        if kind == "annotator_length_bucket":
            if length is None or num_buckets is None:
                raise PipelineError("stratifier=annotator_length_bucket needs lengths and num_buckets")
            keys.append(length_buckets(length, has_rank, num_buckets)[ranked])
        if len(ranked):
            stratum[ranked] = stratify(*keys)
    first_free = int(stratum[ranked].max()) + 1 if len(ranked) else 0
    stratum[~has_rank] = first_free + np.arange(n - len(ranked))
    return stratum


def within_stratum_diagnostics(
    rank: np.ndarray, stratum: np.ndarray, tie_tolerance: float = 0.0
) -> dict[str, float]:
    """Number and sizes of strata with ranks, and the share of within-stratum pairs whose ranks tie."""
    rank = np.asarray(rank, dtype=np.float64)
    has_rank = ~np.isnan(rank)
    if not has_rank.any():
        return {"num_strata": 0, "tied_pair_fraction": float("nan")}
    sizes = np.unique(stratum[has_rank], return_counts=True)[1]
    _, group = tie_groups(rank[has_rank], stratum[has_rank], tie_tolerance)
    group_sizes = np.bincount(group).astype(np.float64)
    pairs = float((sizes * (sizes - 1.0) / 2).sum())
    tied = float((group_sizes * (group_sizes - 1.0) / 2).sum())
    return {
        "num_strata": len(sizes),
        "stratum_size_min": int(sizes.min()),
        "stratum_size_median": float(np.median(sizes)),
        "stratum_size_max": int(sizes.max()),
        "tied_pair_fraction": tied / pairs if pairs else float("nan"),
    }


# ------------------------------------------------------------------------------------------------------------
# Partitioners (§5, step 15)
# ------------------------------------------------------------------------------------------------------------


def partition_examples(
    kind: str,
    rank: np.ndarray,
    stratum: np.ndarray,
    rng: np.random.Generator,
    *,
    target_size: int | str | None = None,
    partition_size: int | None = None,
    tie_tolerance: float = 0.0,
) -> np.ndarray:
    """Split strata into the partitions the loss ranks within.

    ``noop``: partitions = strata. ``round_robin``: each stratum sorted by rank and dealt round-robin into P
    sub-partitions, P = largest tie group (``target_size`` −1 / "auto": tie-free) or ceil(n / target_size);
    deterministic (:func:`responserank.strata.round_robin_partition`). ``random``: all ranked examples shuffled
    (ignoring strata) and cut into chunks of ``partition_size`` (may contain ties). Rank-less examples stay
    singletons. ``tie_tolerance``: when two ranks count as tied for ``round_robin`` (0 = equal values only).
    """
    kind = _canonical(kind, PARTITIONERS, "train_partitioner")
    rank = np.asarray(rank, dtype=np.float64)
    stratum = np.asarray(stratum, dtype=np.int64)
    if kind == "noop":
        return stratum.copy()
    if kind == "round_robin":
        if target_size in ("auto", -1):
            target = "auto"
        elif (
            isinstance(target_size, str)
            or target_size is None
            or int(target_size) != target_size
            or target_size < 1
        ):
            raise PipelineError(
                f"train_partitioner.target_size must be -1 (auto) or an integer >= 1, got {target_size!r}"
            )
        else:
            target = int(target_size)
        return round_robin_partition(rank, stratum, target_size=target, tie_tolerance=tie_tolerance)
    if partition_size is None or int(partition_size) != partition_size or partition_size < 1:
        raise PipelineError(
            f"train_partitioner.partition_size must be an integer >= 1, got {partition_size!r}"
        )
    has_rank = ~np.isnan(rank)
    ranked = np.flatnonzero(has_rank)
    partition = np.empty(len(rank), dtype=np.int64)
    permutation = rng.permutation(len(ranked))
    partition[ranked[permutation]] = np.arange(len(ranked)) // int(partition_size)
    first_free = -(-len(ranked) // int(partition_size))
    partition[~has_rank] = first_free + np.arange(len(rank) - len(ranked))
    return partition


def partitions_with_tied_ranks(rank: np.ndarray, partition: np.ndarray, tie_tolerance: float = 0.0) -> int:
    """Number of partitions holding two ranks that tie (equal, or within ``tie_tolerance``; see the module)."""
    rank = np.asarray(rank, dtype=np.float64)
    has_rank = ~np.isnan(rank)
    if not has_rank.any():
        return 0
    order, group = tie_groups(rank[has_rank], np.asarray(partition)[has_rank], tie_tolerance)
    tied_groups = np.flatnonzero(np.bincount(group) > 1)
    return len(np.unique(np.asarray(partition)[has_rank][order][np.isin(group, tied_groups)]))


def partition_statistics(partition: np.ndarray) -> dict[str, float]:
    """Count, mean size, size histogram and non-singleton fraction (share of examples in partitions ≥ 2)."""
    ids, sizes = np.unique(np.asarray(partition), return_counts=True)
    n = int(sizes.sum())
    return {
        "num_partitions": len(ids),
        "avg_partition_size": n / len(ids) if len(ids) else float("nan"),
        "max_partition_size": int(sizes.max()) if len(ids) else 0,
        "num_singletons": int((sizes == 1).sum()),
        "non_singleton_fraction": float(sizes[sizes > 1].sum() / n) if n else float("nan"),
        "size_histogram": dict(zip(*np.unique(sizes, return_counts=True), strict=True)),
    }


# ------------------------------------------------------------------------------------------------------------
# Rank transforms (§5, step 16): per partition of size >= 2
# ------------------------------------------------------------------------------------------------------------


def _positions_within(partition: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Order by (partition, key) and the 0-based position of each element inside its partition."""
    order = segments.lexsort(partition, keys)
    position = np.empty(len(order), dtype=np.int64)
    position[order] = segments.position_in_segment(partition[order])
    return order, position


def rank_transform(
    kind: str,
    rank: np.ndarray,
    partition: np.ndarray,
    rng: np.random.Generator,
    *,
    noise: float | None = None,
) -> tuple[np.ndarray, float]:
    """Corrupt ranks inside each partition of size n ≥ 2; returns ``(new_rank, kendall_tau)``.

    ``partial_shuffle``: pick round(noise·n) members at random (half-to-even rounding, as the original) and
    randomly permute their ranks among themselves (noise 1 = full shuffle). ``random_rank``: ranks := a random
    permutation of 0 … n−1. ``no_op``: unchanged. ``kendall_tau`` compares old and new ranks over the
    transformed examples (1 = unchanged; NaN when nothing is transformed).
    """
    kind = _canonical(kind, RANK_TRANSFORMS, "train_rank_transform")
    rank = np.asarray(rank, dtype=np.float64)
    partition = np.asarray(partition, dtype=np.int64)
    if kind == "no_op":
        return rank.copy(), float("nan")
    _, inverse, sizes = np.unique(partition, return_inverse=True, return_counts=True)
    size = sizes[inverse]
    eligible = size >= 2
    new_rank = rank.copy()
    if kind == "random_rank":
        _, position = _positions_within(partition, rng.random(len(rank)))
        new_rank[eligible] = position[eligible]
    else:
        if noise is None or not 0.0 <= float(noise) <= 1.0:
            raise PipelineError(f"experiment.train_rank_transform.noise must lie in [0, 1], got {noise!r}")
        chosen_count = np.round(float(noise) * sizes)[inverse]  # NumPy rounds half to even
        _, pick_position = _positions_within(partition, rng.random(len(rank)))
        picked = eligible & (pick_position < chosen_count)
        index = np.flatnonzero(picked)
        # The i-th picked member (in a random order) receives the i-th picked rank (in table order).
        destination = index[np.lexsort((rng.random(len(index)), partition[index]))]
        source = index[np.lexsort((index, partition[index]))]
        new_rank[destination] = rank[source]
    if not eligible.any():
        return new_rank, float("nan")
    tau = scipy.stats.kendalltau(rank[eligible], new_rank[eligible]).statistic
    return new_rank, float(tau)

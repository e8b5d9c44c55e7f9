"""The LLM data pipeline: MultiPref → train / test tables with labels, ranks and partitions (spec §2–§6).

Train, in the spec's order (§4):

 1. load; per-comparison statistics over all annotations (agreement, mean preference)
 2. optionally drop Tie annotations (``filter_ties_before_aggregation``)
 3. render both sides with the chat template and tokenize
 4. drop comparisons with a side longer than ``max_length`` tokens
 5. tie statistics
 6. split by comparison id: ``test_size`` → test, the rest → train
 7. draw one annotation per train comparison → label, ``bt_target``; drop drawn ties
 8. train processor → ``rank`` (lower = stronger)
 9. optional ``shuffle_ranks`` / ``invert_ranks``
10. rank filter (here if ``rank_filter_after_fraction_sampling`` is false)
11. fraction sampling (``experiment.fraction``)
12. rank filter (here by default)
13. stratifier → 14. within-stratum diagnostics → 15. partitioner → 16. rank transform

Test: binarized labels, ``tie_is_common`` dropped, no rank, ``partition_id`` −1.

Seeds (§8): ``main_rng = random.Random(seed)``; ``dataset_seed`` and then ``sampler_seed`` are drawn from it with
``randint(0, 2**32 − 1)``. Each random step above draws from its own stream
``numpy.random.default_rng([dataset_seed, crc32(step name)])``, so a step's draws depend only on the seed and
its input — e.g. the split and the drawn annotations are the same for every preset and fraction at a given
seed (seed-paired comparisons between presets), and smaller fractions keep subsets of larger ones.
"""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from responserank.errors import PipelineError
from responserank.llm import data as mp_data
from responserank.llm import partitioning as parts
from responserank.llm import signals
from responserank.llm.batching import PackedBatchSampler, RandomBatchSampler


@dataclass(frozen=True)
class Seeds:
    """All seeds of one run, derived from ``seed`` (and ``model_seed`` for the trainer)."""

    seed: int
    dataset_seed: int
    sampler_seed: int
    trainer_seed: int

    @classmethod
    def from_config(cls, seed: int, model_seed: int | None = None) -> Seeds:
        main_rng = random.Random(seed)
        dataset_seed = main_rng.randint(0, 2**32 - 1)
        sampler_seed = main_rng.randint(0, 2**32 - 1)
        return cls(seed, dataset_seed, sampler_seed, seed if model_seed is None else int(model_seed))


def stage_rng(dataset_seed: int, stage: str) -> np.random.Generator:
    """The independent random stream of one pipeline step."""
    return np.random.default_rng([int(dataset_seed), zlib.crc32(stage.encode())])


@dataclass
class PreparedData:
    """Output of :func:`prepare_data`.

    ``train`` / ``test``: one row per example with ``comparison_id``, ``prompt``, ``chosen``, ``rejected``
    (completion texts), ``first_chosen`` (side A was chosen, as in :mod:`responserank.losses`),
    ``chosen_input_ids`` / ``rejected_input_ids`` (int32 arrays of the chat-template rendering), ``bt_target``
    (soft label of the chosen side), ``rank`` (float, lower = stronger, NaN = none) and ``partition_id`` (int; −1 in test). Train adds ``rank_original`` (rank from the signal, before
    shuffles / filters / transforms), ``is_tie``, ``evaluator``, ``annotator_type``, ``preference_strength``
    (2 clearly, 1 slightly, 0 none), ``time_spent``, ``agreement_score``, ``mean_preference``,
    ``directional_mean_preference``, ``num_annotations``, ``length_chars``, ``subject_study``, ``stratum``.
    ``stats``: flat ``{name: number}`` for logging (``train_examples``, ``partitioner/train/*`` …).
    """

    train: pd.DataFrame
    test: pd.DataFrame
    stats: dict[str, Any] = field(default_factory=dict)
    seeds: Seeds | None = None


def _object_array(items: list) -> np.ndarray:
    array = np.empty(len(items), dtype=object)
    array[:] = items
    return array


def _sides(
    frame: pd.DataFrame, first_chosen: np.ndarray, ids_a_arr: np.ndarray, ids_b_arr: np.ndarray
) -> pd.DataFrame:
    """Orient the comparisons in ``frame`` (side A chosen where ``first_chosen``); id arrays align with ``frame``."""
    a = np.asarray(first_chosen, dtype=bool)
    return pd.DataFrame(
        {
            "comparison_id": frame["comparison_id"].to_numpy(),
            "prompt": frame["text"].to_numpy(),
            "chosen": np.where(a, frame["completion_a"], frame["completion_b"]),
            "rejected": np.where(a, frame["completion_b"], frame["completion_a"]),
            "first_chosen": a,
            "chosen_input_ids": np.where(a, ids_a_arr, ids_b_arr),
            "rejected_input_ids": np.where(a, ids_b_arr, ids_a_arr),
        }
    )


def prepare_data(
    experiment: dict[str, Any],
    seeds: Seeds,
    tokenizer,
    tables: tuple[pa.Table, pa.Table | None] | None = None,
) -> PreparedData:
    """Run the pipeline for one resolved ``experiment`` config (a plain dict).

    ``tables`` = (comparisons, binarized) Arrow tables skips loading (e.g. in tests); otherwise they come from
    ``experiment.dataset`` (local path or hub).
    """
    ds = experiment["dataset"]
    stats: dict[str, Any] = {}
    test_size = int(ds["test_size"])

    # 1. load + per-comparison statistics over all annotations
    if tables is None:
        tables = mp_data.load_tables(
            ds["path"], ds["hub_id"], ds["config"], ds["test_config"] if test_size else None, ds["split"]
        )
    parsed = mp_data.parse_comparisons(tables[0])
    comparisons, annotations, values = parsed.comparisons, parsed.annotations, parsed.values
    slight = float(ds["slight_preference_value"])
    annotation_comparison = annotations["comparison"].to_numpy()
    per = signals.comparison_statistics(
        annotation_comparison, values, len(comparisons), slight, bool(ds["ties_in_agreement_total"])
    )
    comparisons = comparisons.assign(
        num_annotations=per.num_annotations,
        agreement_score=per.agreement_score,
        mean_preference=per.mean_preference,
        length_chars=2 * comparisons.text.str.len()
        + comparisons.completion_a.str.len()
        + comparisons.completion_b.str.len(),
    )
    stats |= {
        "data/comparisons": len(comparisons),
        "data/annotations": len(annotations),
        "data/comparisons_without_annotations": int((per.num_annotations == 0).sum()),
    }

    # 2. optional removal of Tie annotations before the draw
    usable = (
        ~values.is_tie
        if experiment["filter_ties_before_aggregation"]
        else np.ones(len(annotations), dtype=bool)
    )
    stats["data/tie_annotations_removed_before_aggregation"] = int((~usable).sum())

    # 3. tokenize, 4. max-length filter
    texts = comparisons.text.tolist()
    ids_a = _object_array(mp_data.tokenize_sides(tokenizer, texts, comparisons.completion_a.tolist()))
    ids_b = _object_array(mp_data.tokenize_sides(tokenizer, texts, comparisons.completion_b.tolist()))
    length_a = np.fromiter(map(len, ids_a), dtype=np.int64, count=len(ids_a))
    length_b = np.fromiter(map(len, ids_b), dtype=np.int64, count=len(ids_b))
    max_length = int(experiment["max_length"])
    fits = (length_a <= max_length) & (length_b <= max_length)
    stats |= {"data/max_length": max_length, "data/max_length_dropped": int((~fits).sum())}

    # 5. tie statistics (kept comparisons)
    kept_annotation = fits[annotation_comparison]
    stats |= {
        "ties/annotation_fraction": float(values.is_tie[kept_annotation].mean())
        if kept_annotation.any()
        else float("nan"),
        "ties/comparisons_with_a_tie": int((per.ties[fits] > 0).sum()),
    }

    # 6. split
    train_ids, test_ids = mp_data.split_ids(
        comparisons.comparison_id[fits].to_numpy(), test_size, stage_rng(seeds.dataset_seed, "split")
    )
    row_of = pd.Series(np.arange(len(comparisons)), index=comparisons.comparison_id.to_numpy())
    train_rows = row_of[train_ids].to_numpy()
    test_rows = row_of[test_ids].to_numpy()
    stats |= {"split/train_comparisons": len(train_rows), "split/test_comparisons": len(test_rows)}

    train, train_stats = _aggregate_train(
        experiment, seeds, comparisons, annotations, values, usable, train_rows, ids_a, ids_b
    )
    stats |= train_stats
    test, test_stats = _aggregate_test(tables[1], comparisons, test_rows, ids_a, ids_b)
    stats |= test_stats
    train, rank_stats = _ranks_and_partitions(experiment, seeds, train)
    stats |= rank_stats
    stats |= {"train_examples": len(train), "test_examples": len(test)}
    if len(train) and (train.partition_id < 0).any():  # invariant of the partitioners
        raise AssertionError("a train example has no partition")
    return PreparedData(
        train=train.reset_index(drop=True), test=test.reset_index(drop=True), stats=stats, seeds=seeds
    )


def _aggregate_train(experiment, seeds, comparisons, annotations, values, usable, train_rows, ids_a, ids_b):
    """Step 7: draw one annotation per train comparison; label, bt_target, tie handling."""
    stats: dict[str, Any] = {}
    usable_index = np.flatnonzero(usable)
    usable_comparison = annotations["comparison"].to_numpy()[usable_index]
    counts = np.bincount(usable_comparison, minlength=len(comparisons))[train_rows]
    if len(train_rows) and counts.max() < 2:
        raise PipelineError(
            "no train comparison has 2 or more annotations; the data cannot be MultiPref-shaped"
        )
    drawn_local, coin = mp_data.draw_annotations(
        usable_comparison, train_rows, stage_rng(seeds.dataset_seed, "aggregate")
    )
    has_annotation = drawn_local >= 0
    stats["train/dropped_without_annotation"] = int((~has_annotation).sum())
    rows, drawn = train_rows[has_annotation], usable_index[drawn_local[has_annotation]]
    direction = values.direction[drawn]
    is_tie = direction == 0
    first_chosen = (direction > 0) | (is_tie & coin[has_annotation])
    base = comparisons.iloc[rows]
    train = _sides(base, first_chosen, ids_a[rows], ids_b[rows])
    mean_pref = base.mean_preference.to_numpy()
    directional = signals.directional(mean_pref, first_chosen)
    agreement = base.agreement_score.to_numpy()
    drawn_annotations = annotations.iloc[drawn]
    train = train.assign(
        is_tie=is_tie,
        evaluator=drawn_annotations.evaluator.to_numpy(),
        annotator_type=drawn_annotations.annotator_type.to_numpy(),
        preference_strength=values.stated_strength[drawn].astype(np.int64),
        time_spent=drawn_annotations.time_spent.to_numpy(),
        agreement_score=agreement,
        mean_preference=mean_pref,
        directional_mean_preference=directional,
        num_annotations=base.num_annotations.to_numpy(),
        length_chars=base.length_chars.to_numpy(),
        subject_study=base.subject_study.to_numpy(),
        bt_target=signals.bt_target(
            experiment["bt_target"], agreement=agreement, directional_mean_preference=directional
        ),
    )
    stats["train/drawn_ties"] = int(is_tie.sum())
    if experiment["filter_ties_after_aggregation"]:
        train = train[~train.is_tie]
        stats["train/drawn_ties_dropped"] = int(is_tie.sum())
    else:
        stats["train/drawn_ties_dropped"] = 0
    stats["train/examples_after_aggregation"] = len(train)
    return train.reset_index(drop=True), stats


def _aggregate_test(binarized_table, comparisons, test_rows, ids_a, ids_b):
    """Test labels from the binarized config: chosen must equal side A or B exactly; tie_is_common dropped."""
    if len(test_rows) == 0:
        columns = [
            "comparison_id",
            "prompt",
            "chosen",
            "rejected",
            "first_chosen",
            "chosen_input_ids",
            "rejected_input_ids",
        ]
        return pd.DataFrame(columns=[*columns, "bt_target", "rank", "partition_id"]), {
            "test/tie_is_common_dropped": 0
        }
    if binarized_table is None:
        raise PipelineError("the test split needs the binarized labels (experiment.dataset.test_config)")
    labels = mp_data.parse_binarized(binarized_table).set_index("comparison_id")
    base = comparisons.iloc[test_rows]
    missing = ~base.comparison_id.isin(labels.index)
    if missing.any():
        raise PipelineError(
            f"{int(missing.sum())} test comparison(s) have no row in the binarized labels, "
            f"e.g. comparison_id {base.comparison_id[missing].iloc[0]!r}"
        )
    label = labels.loc[base.comparison_id.to_numpy()]
    side_a = [
        mp_data.canonical_messages(mp_data.conversation(t, c))
        for t, c in zip(base.text, base.completion_a, strict=True)
    ]
    side_b = [
        mp_data.canonical_messages(mp_data.conversation(t, c))
        for t, c in zip(base.text, base.completion_b, strict=True)
    ]
    chosen = label.chosen.to_numpy()
    is_a, is_b = chosen == np.array(side_a, dtype=object), chosen == np.array(side_b, dtype=object)
    neither = ~(is_a | is_b)
    if neither.any():
        raise PipelineError(
            f"binarized 'chosen' of comparison_id {base.comparison_id.iloc[int(np.flatnonzero(neither)[0])]!r} equals "
            f"neither conversation A nor B ({int(neither.sum())} such rows)"
        )
    test = _sides(base, is_a, ids_a[test_rows], ids_b[test_rows])
    tie = label.tie_is_common.to_numpy(dtype=bool)
    test = test.assign(bt_target=1.0, rank=np.nan, partition_id=np.int64(-1))[~tie]
    return test.reset_index(drop=True), {"test/tie_is_common_dropped": int(tie.sum())}


def _ranks_and_partitions(experiment, seeds, train: pd.DataFrame):
    """Steps 8–16: rank, optional shuffle / invert, filter, fraction, strata, partitions, transform."""
    stats: dict[str, Any] = {}
    rng = lambda stage: stage_rng(seeds.dataset_seed, stage)  # noqa: E731
    rank = signals.strength_rank(
        experiment["train_processor"],
        time_spent=train.time_spent.to_numpy(),
        agreement=train.agreement_score.to_numpy(),
        stated_strength=train.preference_strength.to_numpy(),
        directional_mean_preference=train.directional_mean_preference.to_numpy(),
    )
    stats["rank/without_signal"] = int(np.isnan(rank).sum())
    train = train.assign(rank_original=rank)
    if experiment["shuffle_ranks"]:
        rank = signals.shuffle_ranks(rank, rng("shuffle_ranks"))
    if experiment["invert_ranks"]:
        rank = signals.invert_ranks(rank)

    filter_cfg = experiment["train_filter"]

    def apply_filter(rank: np.ndarray, subject_study: np.ndarray) -> np.ndarray:
        before = int(np.isnan(rank).sum())
        rank = parts.rank_filter(
            filter_cfg["name"],
            rank,
            rng("rank_filter"),
            fraction=filter_cfg.get("fraction"),
            subject_study=subject_study,
            category=filter_cfg.get("category", "Mathematics"),
        )
        stats["rank/filtered"] = int(np.isnan(rank).sum()) - before
        return rank

    if not experiment["rank_filter_after_fraction_sampling"]:
        rank = apply_filter(rank, train.subject_study.to_numpy())
    keep = parts.sample_fraction(
        experiment["dataset_sampler"], train.evaluator.to_numpy(), experiment["fraction"], rng("fraction")
    )
    stats |= {
        "fraction/value": float(experiment["fraction"]),
        "fraction/kept": len(keep),
        "fraction/of": len(train),
    }
    train, rank = train.iloc[keep].reset_index(drop=True), rank[keep]
    if experiment["rank_filter_after_fraction_sampling"]:
        rank = apply_filter(rank, train.subject_study.to_numpy())

    strat = experiment["stratifier"]
    stratum = parts.stratify_examples(
        strat["name"],
        rank,
        evaluator=train.evaluator.to_numpy(),
        length=train.length_chars.to_numpy(),
        num_buckets=strat.get("num_buckets"),
    )
    tie_tolerance = float(experiment["tie_tolerance"])
    diagnostics = parts.within_stratum_diagnostics(rank, stratum, tie_tolerance)
    stats |= {f"strata/{k}": v for k, v in diagnostics.items()}
    part_cfg = experiment["train_partitioner"]
    partition = parts.partition_examples(
        part_cfg["name"],
        rank,
        stratum,
        rng("partitioner"),
        target_size=part_cfg.get("target_size"),
        partition_size=part_cfg.get("partition_size"),
        tie_tolerance=tie_tolerance,
    )
    transform = experiment["train_rank_transform"]
    rank, tau = parts.rank_transform(
        transform["name"], rank, partition, rng("rank_transform"), noise=transform.get("noise")
    )
    stats["rank_transform/kendall_tau"] = tau
    partition_stats = parts.partition_statistics(partition)
    stats |= {f"partitioner/train/{k}": v for k, v in partition_stats.items()}
    tied = parts.partitions_with_tied_ranks(rank, partition, tie_tolerance)
    stats["partitioner/train/partitions_with_tied_ranks"] = tied
    if tied and not experiment["allow_ties"] and experiment["use_rr_loss"] and not experiment["baseline"]:
        raise PipelineError(
            f"{tied} train partition(s) hold tied ranks but experiment.allow_ties is false, so the RR loss would "
            "stop; use train_partitioner.target_size=-1 (auto: tie-free) or set experiment.allow_ties=true"
        )
    return train.assign(rank=rank, stratum=stratum, partition_id=partition), stats


def build_train_sampler(
    prepared: PreparedData, experiment: dict[str, Any]
) -> PackedBatchSampler | RandomBatchSampler:
    """The train batch sampler: packed partitions (RR presets) or plain shuffling (``baseline`` / ``random``)."""
    sampler = experiment["sampler"]
    seeds = prepared.seeds
    assert seeds is not None
    if experiment["baseline"] or sampler["name"] == "random":
        return RandomBatchSampler(
            len(prepared.train), experiment["batch_size"], seeds.trainer_seed, sampler["drop_last"]
        )
    return PackedBatchSampler(
        prepared.train.partition_id.to_numpy(),
        batch_size=experiment["batch_size"],
        seed=seeds.sampler_seed,
        packer=sampler["packer"],
        reshuffle_each_epoch=sampler["reshuffle_each_epoch"],
        drop_last=sampler["drop_last"],
    )

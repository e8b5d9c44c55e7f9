"""The dry run's readable summary of a prepared dataset (plain text, one section per pipeline stage)."""

from __future__ import annotations

from typing import Any

import numpy as np

from responserank.llm.batching import PackedBatchSampler, RandomBatchSampler
from responserank.llm.identity import RunIdentity
from responserank.llm.pipeline import PreparedData

_SIGNAL = {
    "real_rt": "response time of the drawn annotation (s) → rank = time",
    "agreement": "agreement of all annotations → rank = −agreement",
    "stated_strength": "stated strength → rank 0 (clearly) / 1 (slightly)",
    "consensus": "chosen-directional mean preference → rank = −mean preference",
}


def _number(value: Any, decimals: int = 3) -> str:
    """Integers as they are, floats with up to ``decimals`` decimals (trailing zeros dropped), NaN as n/a."""
    if isinstance(value, float | np.floating):
        if np.isnan(value):
            return "n/a"
        text = f"{value:.{decimals}f}".rstrip("0").rstrip(".")
        return "0" if text in ("", "-0") else text
    return str(value)


def _rows(rows: list[tuple[str, Any]], indent: int = 2, width: int = 36) -> list[str]:
    return [
        f"{' ' * indent}{label:<{width}} {_number(value) if not isinstance(value, str) else value}"
        for label, value in rows
    ]


def _block(options: dict[str, Any]) -> str:
    name = options.get("name", "?")
    extra = ", ".join(f"{k}={v}" for k, v in options.items() if k != "name" and v is not None)
    return f"{name} ({extra})" if extra else str(name)


def _distribution(values: np.ndarray) -> list[tuple[str, Any]]:
    """Quantiles of the signal's ranks (before shuffles, filters and transforms) and, if few, their counts."""
    values = values[~np.isnan(values)]
    if len(values) == 0:
        return [("signal ranks", "none")]
    q = np.quantile(values, [0, 0.25, 0.5, 0.75, 1])
    rows = [("rank min / q25 / median / q75 / max", " / ".join(_number(float(v)) for v in q))]
    distinct, counts = np.unique(values, return_counts=True)
    rows.append(("distinct rank values", len(distinct)))
    if len(distinct) <= 12:
        rows.append(
            (
                "rank counts",
                ", ".join(f"{_number(float(v))}: {c}" for v, c in zip(distinct, counts, strict=True)),
            )
        )
    return rows


def _histogram(histogram: dict[int, int], limit: int = 12) -> str:
    items = sorted(histogram.items())
    shown = [f"{int(size)}: {int(count)}" for size, count in items if size <= limit]
    larger = sum(int(count) for size, count in items if size > limit)
    return ", ".join(shown + ([f">{limit}: {larger}"] if larger else [])) or "none"


def format_summary(
    config: dict[str, Any],
    identity: RunIdentity,
    prepared: PreparedData,
    sampler: PackedBatchSampler | RandomBatchSampler,
    tokenizer_name: str,
) -> str:
    """The multi-line summary printed by ``python -m responserank.llm.train ... dry_run=true``."""
    e, s, seeds = config["experiment"], prepared.stats, prepared.seeds
    ds = e["dataset"]
    train = prepared.train
    source = (
        f"local folder {ds['path']}"
        if ds["path"]
        else f"hub {ds['hub_id']} ({ds['config']} + {ds['test_config']})"
    )
    lines = ["ResponseRank LLM data preparation — dry run (no model is loaded)", ""]
    lines += _rows(
        [
            (
                "experiment",
                f"{e['name']}  ({'BT baseline' if e['baseline'] else 'RR loss' if e['use_rr_loss'] else 'BT loss on RR batches'})",
            ),
            ("egid", identity.egid),
            ("run name", identity.run_name),
            ("config hash", identity.hash[:16]),
            (
                "seeds",
                f"seed {seeds.seed} → dataset {seeds.dataset_seed}, sampler {seeds.sampler_seed}, trainer {seeds.trainer_seed}",
            ),
            ("data", source),
            ("tokenizer", tokenizer_name),
        ]
    )
    lines += ["", "Data"]
    lines += _rows(
        [
            (
                "comparisons loaded",
                f"{s['data/comparisons']} ({s['data/annotations']} annotations; "
                f"{s['data/comparisons_without_annotations']} without any)",
            ),
            (f"dropped: a side > {s['data/max_length']} tokens", s["data/max_length_dropped"]),
            (
                "tie annotations",
                f"{100 * s['ties/annotation_fraction']:.1f} % (comparisons with a tie: {s['ties/comparisons_with_a_tie']})",
            ),
            (
                "split (comparisons)",
                f"train {s['split/train_comparisons']} | test {s['split/test_comparisons']}",
            ),
        ]
    )
    if s["data/tie_annotations_removed_before_aggregation"]:
        lines += _rows([("tie annotations removed", s["data/tie_annotations_removed_before_aggregation"])])
    lines += ["", "Labels"]
    lines += _rows(
        [
            (
                "train: drawn ties dropped",
                f"{s['train/drawn_ties_dropped']} of {s['train/drawn_ties']} drawn ties"
                f" (no annotation to draw: {s['train/dropped_without_annotation']})",
            ),
            (
                f"train: fraction {_number(s['fraction/value'])} ({e['dataset_sampler']})",
                f"{s['fraction/kept']} of {s['fraction/of']}",
            ),
            ("train examples", s["train_examples"]),
            ("test: tie_is_common dropped", s["test/tie_is_common_dropped"]),
            ("test examples", s["test_examples"]),
            (
                "bt_target",
                e["bt_target"]
                if e["bt_target"] == "hard"
                else "mean {:.3f}, min {:.3f}, max {:.3f}".format(
                    *(f(train.bt_target) for f in (np.mean, np.min, np.max))
                )
                if len(train)
                else "n/a",
            ),
        ]
    )
    unused = " — computed, unused by the BT trainer" if e["baseline"] else ""
    lines += ["", f"Strength signal: {_SIGNAL[e['train_processor']]} (lower = stronger){unused}"]
    rank = train["rank"].to_numpy(dtype=np.float64)
    lines += _rows(
        [
            (
                "examples with a rank",
                f"{int((~np.isnan(rank)).sum())} of {len(rank)} (no signal: {s['rank/without_signal']}, "
                f"filtered by {_block(e['train_filter'])}: {s.get('rank/filtered', 0)})",
            ),
            *(_distribution(train["rank_original"].to_numpy(dtype=np.float64))),
        ]
    )
    if e["shuffle_ranks"] or e["invert_ranks"]:
        lines += _rows(
            [("rank options", f"shuffle_ranks={e['shuffle_ranks']}, invert_ranks={e['invert_ranks']}")]
        )
    lines += ["", f"Strata: {_block(e['stratifier'])}"]
    lines += _rows(
        [
            ("strata with ranks", s["strata/num_strata"]),
            (
                "size min / median / max",
                f"{s.get('strata/stratum_size_min', 'n/a')} / {_number(s.get('strata/stratum_size_median', float('nan')))} / {s.get('strata/stratum_size_max', 'n/a')}",
            ),
            (
                "tied pairs within strata",
                f"{100 * s['strata/tied_pair_fraction']:.1f} %"
                if not np.isnan(s["strata/tied_pair_fraction"])
                else "n/a",
            ),
        ]
    )
    p = "partitioner/train/"
    lines += [
        "",
        f"Partitions: {_block(e['train_partitioner'])}; rank transform: {_block(e['train_rank_transform'])}{unused}",
    ]
    lines += _rows(
        [
            (
                "partitions",
                f"{s[p + 'num_partitions']} (mean size {_number(s[p + 'avg_partition_size'])}, max {s[p + 'max_partition_size']})",
            ),
            (
                "singletons",
                f"{s[p + 'num_singletons']} ({100 * s[p + 'num_singletons'] / max(len(train), 1):.1f} % of examples)",
            ),
            ("non-singleton fraction", s[p + "non_singleton_fraction"]),
            (
                "partitions with tied ranks",
                f"{s[p + 'partitions_with_tied_ranks']} (allow_ties={e['allow_ties']})",
            ),
            ("size histogram (size: count)", _histogram(s[p + "size_histogram"])),
        ]
    )
    if e["train_rank_transform"]["name"] not in ("no_op", "noop"):
        lines += _rows([("Kendall tau old vs new rank", s["rank_transform/kendall_tau"])])
    lines += ["", "Batches"]
    if isinstance(sampler, PackedBatchSampler):
        st = sampler.statistics
        sizes = [len(b) for b in sampler.batches]
        lines += _rows(
            [
                (
                    "packing",
                    f"{e['sampler']['packer']}, batch size {e['batch_size']}, sampler seed {seeds.sampler_seed}",
                ),
                (
                    "batches",
                    f"{len(sampler)} (sizes {min(sizes) if sizes else 0}–{max(sizes) if sizes else 0}); order "
                    f"{'reshuffled each epoch' if e['sampler']['reshuffle_each_epoch'] else 'fixed across epochs'}",
                ),
                ("partitions kept whole", st.get("intact_ratio", float("nan"))),
                ("fragments per partition", st.get("fragments_per_partition", float("nan"))),
                ("cohesion (pairs kept)", st.get("cohesion", float("nan"))),
                (
                    "fragment size mean / max",
                    f"{_number(st.get('avg_fragment_size', float('nan')))} / {st.get('max_fragment_size', 'n/a')}",
                ),
            ]
        )
    else:
        lines += _rows(
            [
                (
                    "sampler",
                    f"random shuffled batches of {e['batch_size']}, reshuffled each epoch (trainer seed {seeds.trainer_seed})",
                ),
                ("batches per epoch", len(sampler)),
                ("partitions", "unused by the BT trainer"),
            ]
        )
    return "\n".join(lines)

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


def _section(title: str, rows: list[tuple[str, Any]]) -> list[str]:
    """A blank line, the section title, then one aligned line per (label, value)."""
    return ["", title, *_rows(rows)]


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


def _header(e: dict, identity: RunIdentity, seeds, tokenizer_name: str) -> list[str]:
    ds = e["dataset"]
    source = (
        f"local folder {ds['path']}"
        if ds["path"]
        else f"hub {ds['hub_id']} ({ds['config']} + {ds['test_config']})"
    )
    loss = "BT baseline" if e["baseline"] else "RR loss" if e["use_rr_loss"] else "BT loss on RR batches"
    title = "ResponseRank LLM data preparation — dry run (no model is loaded)"
    rows = _rows(
        [
            ("experiment", f"{e['name']}  ({loss})"),
            ("egid", identity.egid),
            ("run name", identity.run_name),
            ("config hash", identity.hash[:16]),
            (
                "seeds",
                f"seed {seeds.seed} → dataset {seeds.dataset_seed}, sampler {seeds.sampler_seed}, "
                f"trainer {seeds.trainer_seed}",
            ),
            ("data", source),
            ("tokenizer", tokenizer_name),
        ]
    )
    return [title, "", *rows]


def _data(s: dict) -> list[str]:
    lines = _section(
        "Data",
        [
            (
                "comparisons loaded",
                f"{s['data/comparisons']} ({s['data/annotations']} annotations; "
                f"{s['data/comparisons_without_annotations']} without any)",
            ),
            (f"dropped: a side > {s['data/max_length']} tokens", s["data/max_length_dropped"]),
            (
                "tie annotations",
                f"{100 * s['ties/annotation_fraction']:.1f} % "
                f"(comparisons with a tie: {s['ties/comparisons_with_a_tie']})",
            ),
            (
                "split (comparisons)",
                f"train {s['split/train_comparisons']} | test {s['split/test_comparisons']}",
            ),
        ],
    )
    if s["data/tie_annotations_removed_before_aggregation"]:
        lines += _rows([("tie annotations removed", s["data/tie_annotations_removed_before_aggregation"])])
    return lines


def _labels(e: dict, s: dict, train) -> list[str]:
    if e["bt_target"] == "hard":
        bt_target = e["bt_target"]
    elif len(train):
        bt_target = "mean {:.3f}, min {:.3f}, max {:.3f}".format(
            *(f(train.bt_target) for f in (np.mean, np.min, np.max))
        )
    else:
        bt_target = "n/a"
    return _section(
        "Labels",
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
            ("bt_target", bt_target),
        ],
    )


def _unused(e: dict) -> str:
    return " — computed, unused by the BT trainer" if e["baseline"] else ""


def _strength_signal(e: dict, s: dict, train) -> list[str]:
    rank = train["rank"].to_numpy(dtype=np.float64)
    lines = ["", f"Strength signal: {_SIGNAL[e['train_processor']]} (lower = stronger){_unused(e)}"]
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
    return lines


def _strata(e: dict, s: dict) -> list[str]:
    median = _number(s.get("strata/stratum_size_median", float("nan")))
    tied = s["strata/tied_pair_fraction"]
    return _section(
        f"Strata: {_block(e['stratifier'])}",
        [
            ("strata with ranks", s["strata/num_strata"]),
            (
                "size min / median / max",
                f"{s.get('strata/stratum_size_min', 'n/a')} / {median} / {s.get('strata/stratum_size_max', 'n/a')}",
            ),
            ("tied pairs within strata", f"{100 * tied:.1f} %" if not np.isnan(tied) else "n/a"),
        ],
    )


def _partitions(e: dict, s: dict, num_train: int) -> list[str]:
    p = "partitioner/train/"
    title = (
        f"Partitions: {_block(e['train_partitioner'])}; rank transform: {_block(e['train_rank_transform'])}"
    )
    lines = ["", title + _unused(e)]
    lines += _rows(
        [
            (
                "partitions",
                f"{s[p + 'num_partitions']} (mean size {_number(s[p + 'avg_partition_size'])}, "
                f"max {s[p + 'max_partition_size']})",
            ),
            (
                "singletons",
                f"{s[p + 'num_singletons']} ({100 * s[p + 'num_singletons'] / max(num_train, 1):.1f} % of examples)",
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
    return lines


def _batches(e: dict, seeds, sampler: PackedBatchSampler | RandomBatchSampler) -> list[str]:
    if not isinstance(sampler, PackedBatchSampler):
        return _section(
            "Batches",
            [
                (
                    "sampler",
                    f"random shuffled batches of {e['batch_size']}, reshuffled each epoch "
                    f"(trainer seed {seeds.trainer_seed})",
                ),
                ("batches per epoch", len(sampler)),
                ("partitions", "unused by the BT trainer"),
            ],
        )
    st, nan = sampler.statistics, float("nan")
    sizes = [len(b) for b in sampler.batches] or [0]
    order = "reshuffled each epoch" if e["sampler"]["reshuffle_each_epoch"] else "fixed across epochs"
    return _section(
        "Batches",
        [
            (
                "packing",
                f"{e['sampler']['packer']}, batch size {e['batch_size']}, sampler seed {seeds.sampler_seed}",
            ),
            ("batches", f"{len(sampler)} (sizes {min(sizes)}–{max(sizes)}); order {order}"),
            ("partitions kept whole", st.get("intact_ratio", nan)),
            ("fragments per partition", st.get("fragments_per_partition", nan)),
            ("cohesion (pairs kept)", st.get("cohesion", nan)),
            (
                "fragment size mean / max",
                f"{_number(st.get('avg_fragment_size', nan))} / {st.get('max_fragment_size', 'n/a')}",
            ),
        ],
    )


def format_summary(
    config: dict[str, Any],
    identity: RunIdentity,
    prepared: PreparedData,
    sampler: PackedBatchSampler | RandomBatchSampler,
    tokenizer_name: str,
) -> str:
    """The multi-line summary printed by ``python -m responserank.llm.train ... dry_run=true``: one section per
    pipeline stage (data, labels, strength signal, strata, partitions, batches)."""
    e, s, seeds, train = config["experiment"], prepared.stats, prepared.seeds, prepared.train
    sections = [
        _header(e, identity, seeds, tokenizer_name),
        _data(s),
        _labels(e, s, train),
        _strength_signal(e, s, train),
        _strata(e, s),
        _partitions(e, s, len(train)),
        _batches(e, seeds, sampler),
    ]
    return "\n".join(line for section in sections for line in section)

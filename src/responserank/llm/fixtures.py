"""Synthetic, *learnable* MultiPref- and RewardBench-shaped datasets and a tiny offline tokenizer.

``python -m responserank.llm.fixtures DIR [--num-prompts N] [--seed S] [--format parquet|jsonl]`` writes

* ``DIR/default/train.<fmt>`` — comparisons with the columns of the real ``allenai/multipref`` config
  ``default`` (spec ``llm.md`` §1.1): prompt ``text``, ``completion_a/b``, model and category fields, and
  ``normal_worker_annotations`` / ``expert_worker_annotations`` lists of records with ``overall_pref`` (5-level
  scale), ``time_spent`` (integer seconds), ``evaluator``, ``timestamp``;
* ``DIR/human_overall_binarized/train.<fmt>`` — ``comparison_id``, ``chosen``, ``rejected`` (message lists),
  ``tie_is_common``;
* ``DIR/rewardbench_v1/filtered.<fmt>`` and ``DIR/rewardbench_v2/test.<fmt>`` — local stand-ins for
  ``allenai/reward-bench`` (split ``filtered``: ``prompt``, ``chosen``, ``chosen_model``, ``rejected``,
  ``rejected_model``, ``subset`` — all 23 subsets —, ``id``) and ``allenai/reward-bench-2`` (split ``test``:
  ``id``, ``prompt``, ``chosen`` and ``rejected`` string lists, ``num_correct``, ``num_incorrect``,
  ``total_completions``, ``models``, ``subset`` — the six subsets, Ties with ``ref:<n>`` / ``tied:<n>`` ids and
  several correct answers —, ``additional_metadata``); ``--rewardbench-per-subset 0`` skips them;
* ``DIR/tokenizer/`` — a word-level tokenizer over the fixture's vocabulary with a small chat template
  (``transformers.AutoTokenizer.from_pretrained(DIR / "tokenizer")`` loads it).

**What a model can learn.** Every vocabulary word carries a hidden value (:func:`word_values`: standard-normal
draws from ``value_seed``, standardised to mean 0 and sd 1, shared by all the files above). A completion's
quality is the mean value of its words (:func:`text_quality`); its words are drawn with probabilities
∝ exp(tilt · value) for a per-completion tilt ~ N(0, ``tilt_sd``), so completions differ in quality and the
quality is visible in the text. The latent gap of a comparison is the quality of A minus that of B (times
``quality_scale``); annotators (normal and expert pools with their own speed and noise) perceive gap + noise,
vote on the 5-level scale (ties near 0, "clearly" for large gaps) and answer faster on clear gaps, so agreement,
stated strength and response times all follow |gap|. Prompts are neutral (uniformly drawn words). In the
RewardBench files the chosen completion is always of strictly higher quality than each rejected one (Ties:
every correct answer above every incorrect one), with section-specific quality margins (Chat easy, Chat Hard
small), so a perfect word-value model scores 100 %.

The MultiPref files contain what the pipeline has to cope with: Tie votes and ``tie_is_common`` rows,
comparisons with missing annotations (down to none), a few annotations without ``time_spent``, and some very
long completions that exceed a 1024-token limit. Then run the dry run offline::

    python -m responserank.llm.train experiment=rr_agree dry_run=true \\
        experiment.dataset.path=DIR experiment.tokenizer_name=DIR/tokenizer
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from responserank.llm.signals import PREFERENCE_LABELS

SPECIAL_TOKENS = ("<unk>", "<pad>", "<s>", "</s>", "<|user|>", "<|assistant|>")
CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}<|{{ message['role'] }}|> {{ message['content'] }} </s> "
    "{% endfor %}"
)
SUBJECTS = ("Mathematics", "Computer Science", "History", "Biology", "Law", "Chemistry")
SOURCES = ("anthropic_helpful", "anthropic_harmless", "chatarena", "nectar")
MODELS = ("gpt-4o", "llama-3-70b", "tulu-2-70b", "gemma-7b", "mistral-large")
_SYLLABLES = ("ka", "lo", "mi", "ne", "ru", "ta", "vi", "so", "pe", "du", "ha", "zo")

ANNOTATION_TYPE = pa.list_(
    pa.struct(
        [
            ("overall_pref", pa.string()),
            ("time_spent", pa.int64()),
            ("evaluator", pa.string()),
            ("timestamp", pa.string()),
        ]
    )
)
MESSAGES_TYPE = pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))


def vocabulary() -> list[str]:
    """The fixture's 144 two-syllable words (all the tiny tokenizer knows besides its special tokens)."""
    return [a + b for a in _SYLLABLES for b in _SYLLABLES]


def word_values(value_seed: int = 0) -> np.ndarray:
    """The hidden value of each word of :func:`vocabulary` (same order), shape ``[144]``.

    Standard-normal draws from ``numpy.random.default_rng([value_seed, 0])``, standardised to mean 0 and
    (population) sd 1, so the mean of a uniformly drawn text is close to 0.
    """
    values = np.random.default_rng([int(value_seed), 0]).standard_normal(len(_SYLLABLES) ** 2)
    return (values - values.mean()) / values.std()


def text_quality(text: str, value_seed: int = 0) -> float:
    """Quality of a text = mean hidden value of its vocabulary words (other tokens ignored; 0.0 if none)."""
    index = {word: i for i, word in enumerate(vocabulary())}
    positions = [index[w] for w in text.split() if w in index]
    return float(word_values(value_seed)[positions].mean()) if positions else 0.0


class _Writer:
    """Draws texts from the vocabulary: neutral (uniform) or tilted towards high- or low-value words."""

    def __init__(self, rng: np.random.Generator, value_seed: int):
        self.rng = rng
        self.words = np.array(vocabulary())
        self.values = word_values(value_seed)

    def neutral(self, length: int) -> str:
        return " ".join(self.words[self.rng.integers(len(self.words), size=max(int(length), 1))])

    def tilted(self, tilt: float, length: int) -> tuple[str, float]:
        """A text of ``length`` words drawn with p ∝ exp(tilt · value); returns ``(text, quality)``."""
        logits = tilt * self.values
        probabilities = np.exp(logits - logits.max())
        probabilities /= probabilities.sum()
        index = self.rng.choice(len(self.words), size=max(int(length), 1), p=probabilities)
        return " ".join(self.words[index]), float(self.values[index].mean())


def _label(perceived: np.ndarray, slight: float = 0.35, clear: float = 1.1) -> np.ndarray:
    """Perceived A-minus-B quality → 5-level label index (0 = A-clearly … 4 = B-clearly)."""
    return np.select(
        [perceived > clear, perceived > slight, perceived >= -slight, perceived >= -clear],
        [0, 1, 2, 3],
        default=4,
    )


def make_multipref_fixture(
    num_comparisons: int = 200,
    seed: int = 0,
    *,
    num_normal_annotators: int = 12,
    num_expert_annotators: int = 10,
    missing_annotation_rate: float = 0.06,
    missing_time_rate: float = 0.02,
    long_text_rate: float = 0.04,
    completion_words: tuple[int, int] = (10, 250),
    prompt_words: tuple[int, int] = (5, 60),
    tilt_sd: float = 0.9,
    quality_scale: float = 1.0,
    annotator_noise: tuple[float, float] = (1.0, 2.0),
    value_seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Generate ``(comparisons, binarized)`` frames in the MultiPref schema (see the module docstring).

    One comparison per prompt. Each comparison gets up to 2 normal and 2 expert annotations; each is missing
    with probability ``missing_annotation_rate`` (the first two comparisons have exactly one and zero
    annotations), a present one lacks ``time_spent`` with probability ``missing_time_rate``. Completions have
    ``completion_words`` = [low, high) words, except that with probability ``long_text_rate`` one is 1100–1500
    words long (over a 1024-token limit); prompts have ``prompt_words`` words. The latent gap is
    ``quality_scale · (text_quality(A) − text_quality(B))``; tilts ~ N(0, ``tilt_sd``) (module docstring).
    All draws come from ``numpy.random.default_rng(seed)``; word values from ``value_seed``.
    """
    rng = np.random.default_rng(seed)
    writer = _Writer(rng, value_seed)
    annotators = {
        "normal": [f"normal_{i:03d}" for i in range(num_normal_annotators)],
        "expert": [f"expert_{i:03d}" for i in range(num_expert_annotators)],
    }
    speed = {name: float(rng.lognormal(0.0, 0.4)) for pool in annotators.values() for name in pool}
    noise = {name: float(rng.uniform(*annotator_noise)) for pool in annotators.values() for name in pool}
    start = datetime(2024, 5, 1, tzinfo=UTC)

    rows, binarized = [], []
    for index in range(num_comparisons):  # building nested test records; not a pipeline hot path
        prompt = writer.neutral(rng.integers(*prompt_words))
        lengths = rng.integers(*completion_words, size=2)
        lengths[rng.random(2) < long_text_rate] = rng.integers(1100, 1500)
        tilts = rng.normal(0.0, tilt_sd, size=2)
        (completion_a, quality_a), (completion_b, quality_b) = (
            writer.tilted(t, n) for t, n in zip(tilts, lengths, strict=True)
        )
        gap = quality_scale * (quality_a - quality_b)  # latent quality of A minus B
        lists = {}
        for annotator_type, pool in annotators.items():
            present = rng.random(2) >= missing_annotation_rate
            if index < 2:
                present[:] = annotator_type == "normal" and index == 0
                present[1] = False
            chosen = rng.choice(pool, size=2, replace=False)
            records = []
            for name in chosen[present]:
                perceived = gap + rng.normal(0.0, noise[name])
                label = PREFERENCE_LABELS[int(_label(np.array([perceived]))[0])]
                seconds = speed[name] * 150.0 * np.exp(-0.6 * abs(gap)) * rng.lognormal(0.0, 0.35) + 8
                time_spent = None if rng.random() < missing_time_rate else round(seconds)
                stamp = start + timedelta(minutes=int(rng.integers(0, 60 * 24 * 30)))
                records.append(
                    {
                        "overall_pref": label,
                        "time_spent": time_spent,
                        "evaluator": str(name),
                        "timestamp": stamp.isoformat(),
                    }
                )
            lists[annotator_type] = records
        comparison_id = f"cmp_{seed}_{index:05d}"
        subject = SUBJECTS[int(rng.integers(len(SUBJECTS)))]
        rows.append(
            {
                "comparison_id": comparison_id,
                "prompt_id": f"prompt_{index:05d}",
                "text": prompt,
                "model_a": MODELS[int(rng.integers(len(MODELS)))],
                "completion_a": completion_a,
                "model_b": MODELS[int(rng.integers(len(MODELS)))],
                "completion_b": completion_b,
                "source": SOURCES[int(rng.integers(len(SOURCES)))],
                "category": "Open QA",
                "subject_study": subject,
                "highest_level_degree": "Master's",
                "normal_worker_annotations": lists["normal"],
                "expert_worker_annotations": lists["expert"],
            }
        )
        votes = [r["overall_pref"] for r in lists["normal"] + lists["expert"]]
        score = sum({0: 1.0, 1: 0.5, 2: 0.0, 3: -0.5, 4: -1.0}[PREFERENCE_LABELS.index(v)] for v in votes)
        tie_is_common = not votes or votes.count("Tie") * 2 >= len(votes) or score == 0
        a_chosen = score > 0 or (score == 0 and rng.random() < 0.5)
        side_a = [{"role": "user", "content": prompt}, {"role": "assistant", "content": completion_a}]
        side_b = [{"role": "user", "content": prompt}, {"role": "assistant", "content": completion_b}]
        binarized.append(
            {
                "comparison_id": comparison_id,
                "chosen": side_a if a_chosen else side_b,
                "rejected": side_b if a_chosen else side_a,
                "tie_is_common": bool(tie_is_common),
            }
        )
    return pd.DataFrame(rows), pd.DataFrame(binarized)


def _schema(frame: pd.DataFrame) -> pa.Schema:
    types = {
        "normal_worker_annotations": ANNOTATION_TYPE,
        "expert_worker_annotations": ANNOTATION_TYPE,
        "chosen": MESSAGES_TYPE,
        "rejected": MESSAGES_TYPE,
        "tie_is_common": pa.bool_(),
    }
    return pa.schema([(column, types.get(column, pa.string())) for column in frame.columns])


def write_table(frame: pd.DataFrame, path: Path, fmt: str = "parquet") -> Path:
    """Write ``frame`` as parquet (typed, nested) or JSON lines; returns the file path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "parquet":
        pq.write_table(pa.Table.from_pylist(frame.to_dict("records"), schema=_schema(frame)), path)
    elif fmt == "jsonl":
        with path.open("w", encoding="utf-8") as handle:
            for record in frame.to_dict("records"):
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    else:
        raise ValueError(f"fmt must be 'parquet' or 'jsonl', got {fmt!r}")
    return path


def write_multipref_fixture(
    directory: str | Path,
    fmt: str = "parquet",
    comparisons: pd.DataFrame | None = None,
    binarized: pd.DataFrame | None = None,
    **kwargs,
) -> Path:
    """Write a fixture (generated with ``kwargs`` unless frames are given) in the local-path layout."""
    directory = Path(directory)
    if comparisons is None or binarized is None:
        comparisons, binarized = make_multipref_fixture(**kwargs)
    write_table(comparisons, directory / "default" / f"train.{fmt}", fmt)
    write_table(binarized, directory / "human_overall_binarized" / f"train.{fmt}", fmt)
    return directory


# ------------------------------------------------------------------------------------------------------------
# RewardBench v1 / v2 stand-ins (same vocabulary and word values)
# ------------------------------------------------------------------------------------------------------------

# Mean quality margin (in tilt units) between chosen and rejected completions, per v1 section / v2 subset.
V1_SECTION_MARGINS = {"Chat": 1.6, "Chat Hard": 0.5, "Safety": 1.0, "Reasoning": 0.8}
V2_SUBSET_MARGINS = {"Factuality": 0.8, "Focus": 1.4, "Math": 0.7, "Precise IF": 0.6, "Safety": 1.0}
V1_SCHEMA = pa.schema(
    [
        ("prompt", pa.string()),
        ("chosen", pa.string()),
        ("chosen_model", pa.string()),
        ("rejected", pa.string()),
        ("rejected_model", pa.string()),
        ("subset", pa.string()),
        ("id", pa.int64()),
    ]
)
V2_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("prompt", pa.string()),
        ("chosen", pa.list_(pa.string())),
        ("rejected", pa.list_(pa.string())),
        ("num_correct", pa.int64()),
        ("num_incorrect", pa.int64()),
        ("total_completions", pa.int64()),
        ("models", pa.list_(pa.string())),
        ("subset", pa.string()),
        ("additional_metadata", pa.struct([("category", pa.string())])),
    ]
)


def _ordered_completions(
    writer: _Writer,
    correct_tilts: np.ndarray,
    incorrect_tilts: np.ndarray,
    completion_words: tuple[int, int],
    max_tries: int = 1000,
) -> tuple[list[str], list[str]]:
    """Texts for the given tilts, redrawn until every correct text's quality beats every incorrect one's."""
    for _ in range(max_tries):
        correct = [writer.tilted(t, writer.rng.integers(*completion_words)) for t in correct_tilts]
        incorrect = [writer.tilted(t, writer.rng.integers(*completion_words)) for t in incorrect_tilts]
        if min(q for _, q in correct) > max(q for _, q in incorrect):
            return [text for text, _ in correct], [text for text, _ in incorrect]
    raise RuntimeError("could not draw correctly ordered completions; increase the quality margin")


def make_rewardbench_v1_fixture(
    examples_per_subset: int = 8,
    seed: int = 0,
    *,
    value_seed: int = 0,
    completion_words: tuple[int, int] = (10, 120),
    prompt_words: tuple[int, int] = (5, 40),
) -> pd.DataFrame:
    """A frame in the layout of ``allenai/reward-bench`` split ``filtered`` (all 23 subsets, ``id`` 0 … N−1).

    Per pair: a base tilt ~ N(0, 0.5); chosen and rejected are drawn at base ± margin/2 (margin from
    :data:`V1_SECTION_MARGINS`) until the chosen text's quality is strictly higher. Seeded by
    ``numpy.random.default_rng([seed, 1])``.
    """
    from responserank.llm.rewardbench import V1_SECTIONS

    rng = np.random.default_rng([int(seed), 1])
    writer = _Writer(rng, value_seed)
    rows = []
    for section, subsets in V1_SECTIONS.items():
        margin = V1_SECTION_MARGINS[section]
        for subset in subsets:
            for _ in range(examples_per_subset):
                base = rng.normal(0.0, 0.5)
                (chosen,), (rejected,) = _ordered_completions(
                    writer, np.array([base + margin / 2]), np.array([base - margin / 2]), completion_words
                )
                models = rng.choice(MODELS, size=2)
                rows.append(
                    {
                        "prompt": writer.neutral(rng.integers(*prompt_words)),
                        "chosen": chosen,
                        "chosen_model": str(models[0]),
                        "rejected": rejected,
                        "rejected_model": str(models[1]),
                        "subset": subset,
                        "id": len(rows),
                    }
                )
    return pd.DataFrame(rows, columns=V1_SCHEMA.names)


def make_rewardbench_v2_fixture(
    examples_per_subset: int = 8,
    seed: int = 0,
    *,
    value_seed: int = 0,
    completion_words: tuple[int, int] = (10, 120),
    prompt_words: tuple[int, int] = (5, 40),
) -> pd.DataFrame:
    """A frame in the layout of ``allenai/reward-bench-2`` split ``test``.

    Five subsets with ``examples_per_subset`` prompts of 1 chosen + 3 rejected (chosen at base + margin/2,
    rejected at base − margin/2 + N(0, 0.2), margins :data:`V2_SUBSET_MARGINS`), and a Ties subset of
    ``examples_per_subset`` prompt pairs ``ref:<n>`` (1 correct answer) / ``tied:<n>`` (2–4 correct answers of
    nearly equal quality), each with 3–5 incorrect ones. Every correct text beats every incorrect one in quality.
    Seeded by ``numpy.random.default_rng([seed, 2])``.
    """
    rng = np.random.default_rng([int(seed), 2])
    writer = _Writer(rng, value_seed)
    rows = []

    def add(identifier: str, subset: str, prompt: str, chosen: list[str], rejected: list[str]) -> None:
        rows.append(
            {
                "id": identifier,
                "prompt": prompt,
                "chosen": chosen,
                "rejected": rejected,
                "num_correct": len(chosen),
                "num_incorrect": len(rejected),
                "total_completions": len(chosen) + len(rejected),
                "models": [str(m) for m in rng.choice(MODELS, size=len(chosen) + len(rejected))],
                "subset": subset,
                "additional_metadata": {"category": subset},
            }
        )

    for subset, margin in V2_SUBSET_MARGINS.items():
        for _ in range(examples_per_subset):
            base = rng.normal(0.0, 0.5)
            incorrect_tilts = base - margin / 2 + rng.normal(0.0, 0.2, size=3)
            chosen, rejected = _ordered_completions(
                writer, np.array([base + margin / 2]), incorrect_tilts, completion_words
            )
            add(str(len(rows)), subset, writer.neutral(rng.integers(*prompt_words)), chosen, rejected)
    for pair in range(examples_per_subset):
        for kind, num_correct in (("ref", 1), ("tied", int(rng.integers(2, 5)))):
            base = rng.normal(0.0, 0.5)
            correct_tilts = base + 0.8 + rng.normal(0.0, 0.05, size=num_correct)
            incorrect_tilts = base - 0.8 + rng.normal(0.0, 0.2, size=int(rng.integers(3, 6)))
            chosen, rejected = _ordered_completions(writer, correct_tilts, incorrect_tilts, completion_words)
            add(f"{kind}:{pair}", "Ties", writer.neutral(rng.integers(*prompt_words)), chosen, rejected)
    return pd.DataFrame(rows, columns=V2_SCHEMA.names)


def _write_with_schema(frame: pd.DataFrame, path: Path, fmt: str, schema: pa.Schema) -> Path:
    if fmt == "parquet":
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist(frame.to_dict("records"), schema=schema), path)
        return path
    return write_table(frame, path, fmt)


def write_rewardbench_fixtures(
    directory: str | Path,
    fmt: str = "parquet",
    examples_per_subset: int = 8,
    seed: int = 0,
    value_seed: int = 0,
) -> tuple[Path, Path]:
    """Write ``DIR/rewardbench_v1/filtered.<fmt>`` and ``DIR/rewardbench_v2/test.<fmt>``; returns the two folders."""
    directory = Path(directory)
    v1 = make_rewardbench_v1_fixture(examples_per_subset, seed, value_seed=value_seed)
    v2 = make_rewardbench_v2_fixture(examples_per_subset, seed, value_seed=value_seed)
    _write_with_schema(v1, directory / "rewardbench_v1" / f"filtered.{fmt}", fmt, V1_SCHEMA)
    _write_with_schema(v2, directory / "rewardbench_v2" / f"test.{fmt}", fmt, V2_SCHEMA)
    return directory / "rewardbench_v1", directory / "rewardbench_v2"


def build_tokenizer(directory: str | Path, extra_words: list[str] | None = None) -> Path:
    """Save a word-level tokenizer (fixture vocabulary + ``extra_words``) with :data:`CHAT_TEMPLATE` to ``directory``.

    Unknown words map to ``<unk>``, so token counts equal word counts and long fixture texts exceed 1024 tokens.
    """
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    words = list(dict.fromkeys([*SPECIAL_TOKENS, *vocabulary(), *(extra_words or [])]))
    model = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    model.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=model, unk_token="<unk>", pad_token="<pad>", bos_token="<s>", eos_token="</s>"
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    tokenizer.save_pretrained(str(directory))
    return Path(directory)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m responserank.llm.fixtures",
        description="Write a synthetic, learnable MultiPref-shaped dataset, RewardBench v1/v2 stand-ins and a "
        "tiny tokenizer for offline runs.",
    )
    parser.add_argument(
        "directory", type=Path, help="output folder (created; existing fixture files are replaced)"
    )
    parser.add_argument(
        "--num-prompts",
        "--num-comparisons",
        dest="num_comparisons",
        type=int,
        default=3000,
        help="number of MultiPref prompts = comparisons (default 3000)",
    )
    parser.add_argument(
        "--completion-words",
        type=int,
        nargs=2,
        metavar=("MIN", "MAX"),
        default=(10, 250),
        help="completion length range in words, MAX exclusive (default 10 250)",
    )
    parser.add_argument("--seed", type=int, default=0, help="generator seed (default 0)")
    parser.add_argument(
        "--value-seed", type=int, default=0, help="seed of the hidden word values (default 0)"
    )
    parser.add_argument(
        "--rewardbench-per-subset",
        type=int,
        default=8,
        help="examples per RewardBench subset (Ties: prompt pairs) in DIR/rewardbench_v1|v2; 0 = none (default 8)",
    )
    parser.add_argument("--format", choices=("parquet", "jsonl"), default="parquet")
    parser.add_argument("--no-tokenizer", action="store_true", help="do not write DIR/tokenizer")
    args = parser.parse_args(argv)
    low, high = args.completion_words
    problems = [
        "--num-prompts must be at least 2" if args.num_comparisons < 2 else None,
        "--completion-words needs 1 <= MIN < MAX" if not 1 <= low < high else None,
        "--rewardbench-per-subset must be >= 0" if args.rewardbench_per_subset < 0 else None,
    ]
    for problem in filter(None, problems):
        print(f"error: {problem}", file=sys.stderr)
        return 1
    write_multipref_fixture(
        args.directory,
        args.format,
        num_comparisons=args.num_comparisons,
        seed=args.seed,
        completion_words=(low, high),
        value_seed=args.value_seed,
    )
    written = f"{args.num_comparisons} comparisons"
    if args.rewardbench_per_subset:
        write_rewardbench_fixtures(
            args.directory, args.format, args.rewardbench_per_subset, args.seed, args.value_seed
        )
        written += " and RewardBench v1/v2 stand-ins (rewardbench_v1/, rewardbench_v2/)"
    if not args.no_tokenizer:
        build_tokenizer(args.directory / "tokenizer")
    print(
        f"wrote {written} to {args.directory}; try:\n"
        f"  python -m responserank.llm.train experiment=rr_agree dry_run=true "
        f"experiment.dataset.path={args.directory} experiment.tokenizer_name={args.directory / 'tokenizer'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""A synthetic MultiPref-shaped dataset and a tiny offline tokenizer, for tests, docs and offline dry runs.

``python -m responserank.llm.fixtures DIR [--num-comparisons N] [--seed S] [--format parquet|jsonl]`` writes

* ``DIR/default/train.<fmt>`` — comparisons with the columns of the real ``allenai/multipref`` config
  ``default`` (spec ``llm.md`` §1.1): prompt ``text``, ``completion_a/b``, model and category fields, and
  ``normal_worker_annotations`` / ``expert_worker_annotations`` lists of records with ``overall_pref`` (5-level
  scale), ``time_spent`` (integer seconds), ``evaluator``, ``timestamp``;
* ``DIR/human_overall_binarized/train.<fmt>`` — ``comparison_id``, ``chosen``, ``rejected`` (message lists),
  ``tie_is_common``;
* ``DIR/tokenizer/`` — a word-level tokenizer over the fixture's vocabulary with a small chat template
  (``transformers.AutoTokenizer.from_pretrained(DIR / "tokenizer")`` loads it).

The data are generated, not real: a latent quality gap per comparison, annotators (normal and expert pools with
their own speed and noise) who vote on the 5-level scale and answer faster on clear gaps. They contain what the
pipeline has to cope with: Tie votes and ``tie_is_common`` rows, comparisons with missing annotations (down to
none), a few annotations without ``time_spent``, and some very long completions that exceed a 1024-token limit.
Then run the dry run offline::

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


def _text(rng: np.random.Generator, words: np.ndarray, length: int) -> str:
    return " ".join(words[rng.integers(len(words), size=max(int(length), 1))])


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
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Generate ``(comparisons, binarized)`` frames in the MultiPref schema (see the module docstring).

    Each comparison gets up to 2 normal and 2 expert annotations; each is missing with probability
    ``missing_annotation_rate`` (the first two comparisons have exactly one and zero annotations), a present one
    lacks ``time_spent`` with probability ``missing_time_rate``, and a completion is 1100–1500 words long (over
    a 1024-token limit) with probability ``long_text_rate``.
    """
    rng = np.random.default_rng(seed)
    words = np.array(vocabulary())
    annotators = {
        "normal": [f"normal_{i:03d}" for i in range(num_normal_annotators)],
        "expert": [f"expert_{i:03d}" for i in range(num_expert_annotators)],
    }
    speed = {name: float(rng.lognormal(0.0, 0.4)) for pool in annotators.values() for name in pool}
    noise = {name: float(rng.uniform(0.3, 0.9)) for pool in annotators.values() for name in pool}
    start = datetime(2024, 5, 1, tzinfo=UTC)

    gap = rng.normal(0.0, 1.2, size=num_comparisons)  # latent quality of A minus B
    rows, binarized = [], []
    for index in range(num_comparisons):  # building nested test records; not a pipeline hot path
        prompt = _text(rng, words, rng.integers(5, 60))
        lengths = rng.integers(10, 250, size=2)
        lengths[rng.random(2) < long_text_rate] = rng.integers(1100, 1500)
        completion_a, completion_b = (_text(rng, words, n) for n in lengths)
        lists = {}
        for annotator_type, pool in annotators.items():
            present = rng.random(2) >= missing_annotation_rate
            if index < 2:
                present[:] = annotator_type == "normal" and index == 0
                present[1] = False
            chosen = rng.choice(pool, size=2, replace=False)
            records = []
            for name in chosen[present]:
                perceived = gap[index] + rng.normal(0.0, noise[name])
                label = PREFERENCE_LABELS[int(_label(np.array([perceived]))[0])]
                seconds = speed[name] * 150.0 * np.exp(-0.6 * abs(gap[index])) * rng.lognormal(0.0, 0.35) + 8
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
        description="Write a synthetic MultiPref-shaped dataset (+ a tiny tokenizer) for offline dry runs.",
    )
    parser.add_argument(
        "directory", type=Path, help="output folder (created; existing fixture files are replaced)"
    )
    parser.add_argument(
        "--num-comparisons", type=int, default=3000, help="number of comparisons (default 3000)"
    )
    parser.add_argument("--seed", type=int, default=0, help="generator seed (default 0)")
    parser.add_argument("--format", choices=("parquet", "jsonl"), default="parquet")
    parser.add_argument("--no-tokenizer", action="store_true", help="do not write DIR/tokenizer")
    args = parser.parse_args(argv)
    if args.num_comparisons < 2:
        print("error: --num-comparisons must be at least 2", file=sys.stderr)
        return 1
    write_multipref_fixture(args.directory, args.format, num_comparisons=args.num_comparisons, seed=args.seed)
    if not args.no_tokenizer:
        build_tokenizer(args.directory / "tokenizer")
    print(
        f"wrote {args.num_comparisons} comparisons to {args.directory}; try:\n"
        f"  python -m responserank.llm.train experiment=rr_agree dry_run=true "
        f"experiment.dataset.path={args.directory} experiment.tokenizer_name={args.directory / 'tokenizer'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

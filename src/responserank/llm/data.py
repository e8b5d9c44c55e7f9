"""MultiPref: load (hub or local files), parse, tokenize, split, and aggregate labels (spec ``llm.md`` §1–§3).

Sources, selected by ``experiment.dataset``:

* ``path: null`` — the Hugging Face hub, ``datasets.load_dataset(hub_id, config, split=split)`` for the
  comparisons (config ``default``) and the binarized test labels (config ``human_overall_binarized``).
* ``path: DIR`` — local files in the same schema: ``DIR/<config>/`` holding ``*.parquet`` / ``*.jsonl`` /
  ``*.json`` files (read in sorted order), or a single ``DIR/<config>.parquet`` / ``.jsonl``. A snapshot of the
  hub repository with its own README configuration is read with ``datasets.load_dataset(DIR, config)``.
  ``python -m responserank.llm.fixtures DIR`` writes a synthetic example.

Tables are read as Arrow tables; the nested annotation lists are flattened with Arrow compute (no per-row Python).
"""

from __future__ import annotations

import json
import logging
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json
import pyarrow.parquet as pq

from responserank.errors import PipelineError
from responserank.llm.signals import AnnotationValues, annotation_values

COMPARISON_COLUMNS = (
    "comparison_id",
    "text",
    "completion_a",
    "completion_b",
    "normal_worker_annotations",
    "expert_worker_annotations",
)
OPTIONAL_COLUMNS = (
    "prompt_id",
    "model_a",
    "model_b",
    "source",
    "category",
    "subject_study",
    "highest_level_degree",
)
BINARIZED_COLUMNS = ("comparison_id", "chosen", "rejected", "tie_is_common")
ANNOTATION_LISTS = {"normal_worker_annotations": "normal", "expert_worker_annotations": "expert"}
ANNOTATION_FIELDS = ("overall_pref", "evaluator")  # time_spent is needed only by the response-time signal
_LOCAL_SUFFIXES = (".parquet", ".jsonl", ".json")
_POINT_TO_LOCAL = (
    "point the run at local files with experiment.dataset.path=DIR (parquet or JSONL in the MultiPref schema; "
    "see docs/llm.md, and `python -m responserank.llm.fixtures DIR` for a synthetic example)"
)


# ------------------------------------------------------------------------------------------------------------
# Hub access
# ------------------------------------------------------------------------------------------------------------


def hub_offline_requested() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def hub_reachable(timeout: float = 3.0) -> bool:
    """Whether a TCP connection to the hub endpoint (``HF_ENDPOINT``, default huggingface.co) opens in time.

    Without this probe the hub clients retry for about a minute before failing.
    """
    if hub_offline_requested():
        return False
    url = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        socket.create_connection((url.hostname or "huggingface.co", port), timeout=timeout).close()
    except OSError:
        return False
    return True


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


def _load_hub_table(hub_id: str, config: str, split: str) -> pa.Table:
    if not hub_offline_requested() and not hub_reachable():
        raise PipelineError(
            f"cannot reach the Hugging Face hub to load {hub_id!r} (config {config!r}); {_POINT_TO_LOCAL}, "
            "or set HF_HUB_OFFLINE=1 if it is in your Hugging Face cache"
        )
    import datasets

    try:
        dataset = datasets.load_dataset(hub_id, config, split=split)
    except Exception as error:  # the hub clients raise many types (connection, auth, missing config …)
        raise PipelineError(
            f"cannot load {hub_id!r} (config {config!r}, split {split!r}) from the hub ({_first_line(error)}); "
            f"{_POINT_TO_LOCAL}"
        ) from error
    return dataset.with_format("arrow")[:]


# ------------------------------------------------------------------------------------------------------------
# Local files
# ------------------------------------------------------------------------------------------------------------


def _read_file(path: Path) -> pa.Table:
    try:
        if path.suffix == ".parquet":
            return pq.read_table(path)
        return pa_json.read_json(path, read_options=pa_json.ReadOptions(block_size=1 << 26))
    except (pa.ArrowException, OSError) as error:
        raise PipelineError(f"cannot read {path}: {_first_line(error)}") from error


def local_files(root: Path, config: str) -> list[Path]:
    """The files holding ``config`` under ``root`` (see the module docstring for the layout)."""
    folder = root / config
    if folder.is_dir():
        files = sorted(p for p in folder.rglob("*") if p.suffix in _LOCAL_SUFFIXES and p.is_file())
        if files:
            return files
    return [
        root / f"{config}{suffix}" for suffix in _LOCAL_SUFFIXES if (root / f"{config}{suffix}").is_file()
    ]


def _load_local_table(root: Path, config: str, split: str) -> pa.Table:
    if not root.is_dir():
        raise PipelineError(f"experiment.dataset.path={str(root)!r} is not a directory")
    files = local_files(root, config)
    if files:
        tables = [_read_file(p) for p in files]
        try:
            return pa.concat_tables(tables, promote_options="permissive")
        except pa.ArrowException as error:
            raise PipelineError(
                f"files for config {config!r} under {root} disagree in schema: {_first_line(error)}"
            ) from error
    if (root / "README.md").is_file():  # a snapshot of the hub repository
        import datasets

        try:
            return datasets.load_dataset(str(root), config, split=split).with_format("arrow")[:]
        except Exception as error:
            raise PipelineError(f"cannot load config {config!r} from {root}: {_first_line(error)}") from error
    raise PipelineError(
        f"no files for MultiPref config {config!r} under {root}: expected {root / config}/*.parquet|*.jsonl "
        f"or {root / config}.parquet|.jsonl"
    )


def load_tables(
    path: str | os.PathLike | None, hub_id: str, config: str, test_config: str | None, split: str = "train"
) -> tuple[pa.Table, pa.Table | None]:
    """The comparison table and (when ``test_config`` is set) the binarized-label table."""
    if path is None:
        comparisons = _load_hub_table(hub_id, config, split)
        binarized = _load_hub_table(hub_id, test_config, split) if test_config else None
    else:
        root = Path(path).expanduser()
        comparisons = _load_local_table(root, config, split)
        binarized = _load_local_table(root, test_config, split) if test_config else None
    return comparisons, binarized


# ------------------------------------------------------------------------------------------------------------
# Parsing
# ------------------------------------------------------------------------------------------------------------


@dataclass
class MultiPref:
    """Parsed comparisons and their annotations.

    ``comparisons``: one row per comparison (columns of :data:`COMPARISON_COLUMNS` minus the annotation lists,
    the optional columns, filled with None when absent). ``annotations``: one row per annotation, grouped by
    comparison in the order normal then expert: ``comparison`` (row position in ``comparisons``),
    ``annotator_type`` (normal/expert), ``overall_pref``, ``time_spent`` (float seconds, NaN when missing),
    ``evaluator``; ``values`` holds their direction and stated strength.
    """

    comparisons: pd.DataFrame
    annotations: pd.DataFrame
    values: AnnotationValues
    has_time_spent: bool


def _check_columns(table: pa.Table, required: tuple[str, ...], what: str) -> None:
    missing = [c for c in required if c not in table.column_names]
    if missing:
        raise PipelineError(f"{what} lacks column(s) {missing}; it has {table.column_names}")


def _flatten_annotations(table: pa.Table, column: str) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Parent row index and field arrays of the annotation structs in list column ``column``."""
    array = table.column(column).combine_chunks()
    if not (pa.types.is_list(array.type) or pa.types.is_large_list(array.type)):
        raise PipelineError(f"column {column!r} must hold lists of annotation records, got type {array.type}")
    parents = pc.list_parent_indices(array).to_numpy(zero_copy_only=False)
    flat = pc.list_flatten(array)
    if pa.types.is_null(flat.type) or len(flat) == 0:
        return np.zeros(0, dtype=np.int64), {}
    if not pa.types.is_struct(flat.type):
        raise PipelineError(f"column {column!r} must hold annotation records (structs), got {flat.type}")
    valid = flat.is_valid().to_numpy(zero_copy_only=False)
    fields = {}
    for field in flat.type:
        values = flat.field(field.name)
        if field.name == "time_spent":
            try:
                values = pc.cast(values, pa.float64())
            except pa.ArrowException as error:
                raise PipelineError(
                    f"{column}.time_spent must be numeric seconds: {_first_line(error)}"
                ) from error
            fields[field.name] = values.to_numpy(zero_copy_only=False)[valid]
        else:
            fields[field.name] = np.asarray(values.to_pylist(), dtype=object)[valid]
    return parents[valid].astype(np.int64), fields


def parse_comparisons(table: pa.Table) -> MultiPref:
    """Validate the comparison table (config ``default``) and split it into comparisons and annotations."""
    _check_columns(table, COMPARISON_COLUMNS, "the MultiPref comparison table (config default)")
    ids = pc.cast(table.column("comparison_id"), pa.string()).to_numpy(zero_copy_only=False).astype(object)
    duplicated = pd.Series(ids).duplicated()
    if duplicated.any():
        raise PipelineError(
            f"comparison_id must be unique; {ids[duplicated.to_numpy()][0]!r} appears more than once"
        )
    comparisons = pd.DataFrame({"comparison_id": ids})
    for column in ("text", "completion_a", "completion_b", *OPTIONAL_COLUMNS):
        if column in table.column_names:
            comparisons[column] = table.column(column).to_pylist()
        elif column in OPTIONAL_COLUMNS:
            comparisons[column] = None
    for column in ("text", "completion_a", "completion_b"):
        bad = comparisons[column].map(lambda v: not isinstance(v, str))
        if bad.any():
            raise PipelineError(
                f"column {column!r} must hold strings; comparison_id {comparisons.comparison_id[bad].iloc[0]!r} has "
                f"{comparisons[column][bad].iloc[0]!r}"
            )

    parts, has_time = [], False
    for column, annotator_type in ANNOTATION_LISTS.items():
        parents, fields = _flatten_annotations(table, column)
        if len(parents) == 0:
            continue
        missing = [f for f in ANNOTATION_FIELDS if f not in fields]
        if missing:
            raise PipelineError(
                f"annotations in {column!r} lack field(s) {missing}; they have {sorted(fields)}"
            )
        has_time = has_time or "time_spent" in fields
        parts.append(
            pd.DataFrame(
                {
                    "comparison": parents,
                    "annotator_type": annotator_type,
                    "overall_pref": fields["overall_pref"],
                    "time_spent": fields.get("time_spent", np.full(len(parents), np.nan)),
                    "evaluator": fields["evaluator"],
                }
            )
        )
    columns = ["comparison", "annotator_type", "overall_pref", "time_spent", "evaluator"]
    annotations = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)
    annotations = annotations.sort_values("comparison", kind="stable", ignore_index=True)
    annotations["comparison"] = annotations["comparison"].astype(np.int64)
    annotations["time_spent"] = annotations["time_spent"].astype(np.float64)
    values = annotation_values(annotations["overall_pref"].to_numpy(dtype=object))
    return MultiPref(comparisons, annotations, values, has_time)


def parse_binarized(table: pa.Table) -> pd.DataFrame:
    """Validate the binarized-label table; returns comparison_id, chosen/rejected (canonical JSON), tie_is_common."""
    _check_columns(table, BINARIZED_COLUMNS, "the binarized label table (config human_overall_binarized)")
    frame = pd.DataFrame(
        {
            "comparison_id": pc.cast(table.column("comparison_id"), pa.string()).to_pylist(),
            "chosen": [canonical_messages(m) for m in table.column("chosen").to_pylist()],
            "rejected": [canonical_messages(m) for m in table.column("rejected").to_pylist()],
            "tie_is_common": table.column("tie_is_common").to_pylist(),
        }
    )
    if frame.tie_is_common.isna().any():
        raise PipelineError("binarized column 'tie_is_common' has missing values")
    frame["tie_is_common"] = frame.tie_is_common.astype(bool)
    return frame.drop_duplicates("comparison_id", keep="first")


def conversation(prompt: str, completion: str) -> list[dict[str, str]]:
    """One side of a comparison as chat messages."""
    return [{"role": "user", "content": prompt}, {"role": "assistant", "content": completion}]


def canonical_messages(messages) -> str:
    """Message list → canonical JSON (role and content only) for exact equality tests."""
    if messages is None:
        return "null"
    return json.dumps([{"role": m["role"], "content": m["content"]} for m in messages], ensure_ascii=False)


# ------------------------------------------------------------------------------------------------------------
# Tokenization and max-length filter (§1.1, §3)
# ------------------------------------------------------------------------------------------------------------


def tokenize_sides(
    tokenizer, prompts: list[str], completions: list[str], batch_size: int = 512
) -> list[np.ndarray]:
    """Render ``[user: prompt, assistant: completion]`` with the tokenizer's chat template and tokenize it.

    The template already holds the special tokens, so none are added again (no second BOS). Returns one int32
    id array per conversation.
    """
    ids: list[np.ndarray] = []
    for start in range(0, len(prompts), batch_size):  # batches of conversations, not single comparisons
        batch = [
            conversation(p, c)
            for p, c in zip(
                prompts[start : start + batch_size], completions[start : start + batch_size], strict=True
            )
        ]
        texts = tokenizer.apply_chat_template(batch, tokenize=False)
        encoded = tokenizer(texts, add_special_tokens=False)["input_ids"]
        ids.extend(np.asarray(e, dtype=np.int32) for e in encoded)
    return ids


# ------------------------------------------------------------------------------------------------------------
# Split (§3) and label aggregation (§2)
# ------------------------------------------------------------------------------------------------------------


def split_ids(
    comparison_ids: np.ndarray, test_size: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique ids shuffled with ``rng``; the first ``test_size`` are test, the rest train (shuffled order)."""
    unique = np.sort(np.unique(np.asarray(comparison_ids, dtype=str)))
    if int(test_size) != test_size or test_size < 0:
        raise PipelineError(f"experiment.dataset.test_size must be an integer >= 0, got {test_size!r}")
    if test_size >= len(unique):
        raise PipelineError(
            f"experiment.dataset.test_size={test_size} leaves no training comparisons (only {len(unique)} remain "
            "after the max-length filter); lower experiment.dataset.test_size"
        )
    shuffled = unique[rng.permutation(len(unique))]
    return shuffled[int(test_size) :], shuffled[: int(test_size)]


def draw_annotations(
    comparison: np.ndarray, rows: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Draw one annotation uniformly at random for each comparison in ``rows`` (the ``random_choice`` aggregator).

    Args:
        comparison: ``[A]`` comparison row of each annotation, sorted ascending.
        rows: ``[C']`` comparison rows to draw for.
    Returns:
        ``(annotation_index, coin)``: the drawn annotation's position in ``comparison`` (−1 when the comparison has
        none) and a fair coin per comparison (orientation of a drawn tie). Both are drawn for every row so the
        random stream does not depend on the data.
    """
    start = np.searchsorted(comparison, rows, side="left")
    count = np.searchsorted(comparison, rows, side="right") - start
    uniform = rng.random(len(rows))
    coin = rng.random(len(rows)) < 0.5
    drawn = np.where(count > 0, start + np.floor(uniform * count).astype(np.int64), -1)
    return drawn, coin


# ------------------------------------------------------------------------------------------------------------
# Tokenizer
# ------------------------------------------------------------------------------------------------------------

_POINT_TO_LOCAL_TOKENIZER = (
    "point the run at a local tokenizer with experiment.tokenizer_name=DIR (a folder saved with "
    "save_pretrained that has a chat template; `python -m responserank.llm.fixtures DIR` writes a tiny one "
    "to DIR/tokenizer)"
)


PLAIN_CHAT_TEMPLATE = (
    "{% if bos_token %}{{ bos_token }}{% endif %}"
    "{% for message in messages %}{{ message['role'] | capitalize }}: {{ message['content'] }}\n\n{% endfor %}"
    "{% if eos_token %}{{ eos_token }}{% endif %}"
)
"""The plain template for tokenizers without a chat template: ``[BOS]User: <prompt>\n\nAssistant:
<completion>\n\n[EOS]`` — each message as ``Role: content`` followed by a blank line, then EOS, so the reward is
read at the EOS token."""


def load_tokenizer(name_or_path: str, chat_template: str = "required", gguf_file: str | None = None):
    """``AutoTokenizer.from_pretrained`` with a fast, clear failure when neither the hub nor a local copy works.

    ``chat_template``: ``"required"`` — a tokenizer without one is an error; ``"auto"`` — it gets
    :data:`PLAIN_CHAT_TEMPLATE` (one log line says so); ``"plain"`` — always the plain template.
    ``gguf_file``: read the tokenizer from that GGUF file inside the ``name_or_path`` folder.
    """
    from transformers import AutoTokenizer

    path = Path(name_or_path).expanduser()
    looks_local = str(name_or_path).startswith((".", "/", "~")) or path.is_dir()
    if looks_local and not path.is_dir():
        raise PipelineError(f"tokenizer directory {str(path)!r} does not exist; {_POINT_TO_LOCAL_TOKENIZER}")
    offline = not looks_local and not hub_reachable()
    try:
        extra = {"gguf_file": gguf_file} if gguf_file else {}
        tokenizer = AutoTokenizer.from_pretrained(
            str(path) if looks_local else name_or_path, local_files_only=offline, **extra
        )
    except Exception as error:  # transformers raises OSError, ValueError, … depending on what is missing
        where = (
            "the hub is unreachable and it is not in the Hugging Face cache"
            if offline
            else _first_line(error)
        )
        raise PipelineError(
            f"cannot load tokenizer {name_or_path!r} ({where}); {_POINT_TO_LOCAL_TOKENIZER}"
        ) from error
    if chat_template == "plain" or (
        chat_template == "auto" and not getattr(tokenizer, "chat_template", None)
    ):
        if chat_template == "auto":
            logging.getLogger(__name__).warning(
                "tokenizer %r has no chat template; using the plain template (User: …/Assistant: …, then EOS)",
                name_or_path,
            )
        tokenizer.chat_template = PLAIN_CHAT_TEMPLATE
    if not getattr(tokenizer, "chat_template", None):
        raise PipelineError(
            f"tokenizer {name_or_path!r} has no chat template; the comparisons are rendered with it "
            "(experiment.chat_template=auto falls back to the plain template)"
        )
    return tokenizer

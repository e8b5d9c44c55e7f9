"""Comparison tables: read a CSV / Parquet / JSONL file and validate it into arrays ready for fitting.

A comparison table has one row per observed pairwise choice. Its columns are mapped by name (:class:`Columns`):

* ``item_a``, ``item_b`` — ids of the two options (any values; floats holding whole numbers, e.g. ``10.0``, are
  written as ``10``). Item labels are strings from here on.
* ``choice`` — equals ``a_chosen_value`` when option a was chosen. Exactly one other value may occur (it means
  "b chosen"); the value is compared as a number when the column is numeric (``1`` matches ``1.0``).
* ``strength`` (optional) — the preference-strength signal. By default it is a response time: lower = stronger,
  and it must be positive. With ``strength_higher_is_stronger`` it is any finite score, negated into the rank.
* ``stratum`` (optional, zero or more columns) — comparisons whose strengths may be compared (e.g. a subject
  id). Without a stratum column all comparisons form one stratum.

Validation: every problem raises :class:`ComparisonTableError` whose message names the column, the problem, an
example offending row (the table's row label: the 0-based data row for files, header excluded) and how many rows
are affected. Problems caught: missing column; missing item, choice, strength or stratum value; unknown choice
coding (``a_chosen_value`` absent, or more than one other value); non-positive or non-finite response time; an
option compared with itself; an item that appears in only one comparison (item-level model, see below); an item
missing from the features table (feature model). Strata of a single comparison are legal but suspicious: they
produce a warning (ResponseRank treats such a comparison as a plain Bradley–Terry term, so its strength is unused).

"Items that never appear": with one utility parameter per item, an item that appears in a single comparison is,
in the fold that holds that comparison out, absent from the training data; its utility there is the L2 prior's 0
and its held-out prediction a guess. Such items are rejected (drop the rows or give item features). Held-out
comparisons whose item is missing from a particular training split for another reason (two comparisons landing
in one fold, or the training subsamples of a learning curve) are scored with the prior utility and counted in the
report. A feature model predicts unseen items from their features, so it only needs every item in its table.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse
import scipy.sparse.csgraph

from responserank import segments
from responserank.errors import ComparisonTableError
from responserank.strata import random_groups, stratify

SUFFIXES = {".csv": "csv", ".tsv": "tsv", ".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl"}
SUFFIXES |= {".ndjson": "jsonl"}
READERS = {"csv": pd.read_csv, "tsv": functools.partial(pd.read_csv, sep="\t"), "parquet": pd.read_parquet}
READERS |= {"jsonl": functools.partial(pd.read_json, lines=True)}
_COMPRESSION = (".gz", ".bz2", ".xz", ".zst", ".zip")


def read_table(path: str | os.PathLike) -> pd.DataFrame:
    """Read a CSV (``.csv``, ``.tsv``, optionally compressed), Parquet (``.parquet``/``.pq``) or JSON Lines file."""
    path = Path(path)
    if not path.is_file():
        raise ComparisonTableError(f"table {path} does not exist")
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in _COMPRESSION:
        suffixes = suffixes[:-1]
    kind = SUFFIXES.get(suffixes[-1] if suffixes else "")
    if kind is None:
        raise ComparisonTableError(
            f"table {path}: unknown file type {path.suffix!r}; expected one of {', '.join(sorted(SUFFIXES))}"
        )
    try:
        return READERS[kind](path)
    except Exception as error:  # parser errors differ per format; report them as one line
        raise ComparisonTableError(f"table {path} could not be read as {kind}: {error}") from error


@dataclass(frozen=True)
class Columns:
    """How the table's columns map onto a comparison (see the module docstring)."""

    item_a: str
    item_b: str
    choice: str
    a_chosen_value: object
    strength: str | None = None
    strength_higher_is_stronger: bool = False
    stratum: tuple[str, ...] = ()


class DeprecatedAChosen:
    """``a_chosen``: the deprecated old name of ``first_chosen`` (the name in :mod:`responserank.losses`)."""

    @property
    def a_chosen(self) -> np.ndarray:
        warnings.warn("a_chosen is deprecated; use first_chosen", DeprecationWarning, stacklevel=2)
        return self.first_chosen


@dataclass(frozen=True)
class Comparisons(DeprecatedAChosen):
    """A validated comparison table as arrays (``N`` comparisons, ``I`` items, ``S`` strata).

    Attributes:
        item_a, item_b: ``[N]`` int64 indices into ``items``.
        first_chosen: ``[N]`` bool, True when option a was chosen (``a_chosen``: deprecated alias).
        strength: ``[N]`` float64 raw strength values, or None.
        rank: ``[N]`` float64, lower = stronger (``strength``, or ``-strength`` if higher is stronger), or None.
        stratum: ``[N]`` int64 dense stratum ids ``0 … S−1`` (all 0 without stratum columns; after
            :func:`split_strata_into_random_groups`, the group ids).
        items: ``[I]`` item labels (strings), in order of first appearance (a before b, row by row).
        strata: ``[S]`` stratum labels (the key values joined by ``/``).
        row: ``[N]`` row labels of the source table (for messages).
        component: ``[I]`` connected component of the comparison graph each item belongs to. Utilities are
            identified only up to one shift per component.
        design: ``[I, D]`` standardized item features of a feature model, or None (one parameter per item).
        feature_names: ``[D]`` names of the feature columns.
        columns: the column mapping used.
        warnings: human-readable warnings raised while validating.
    """

    item_a: np.ndarray
    item_b: np.ndarray
    first_chosen: np.ndarray
    strength: np.ndarray | None
    rank: np.ndarray | None
    stratum: np.ndarray
    items: list[str]
    strata: list[str]
    row: np.ndarray
    component: np.ndarray
    columns: Columns
    design: np.ndarray | None = None
    feature_names: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def num_comparisons(self) -> int:
        return int(self.item_a.shape[0])

    @property
    def num_items(self) -> int:
        return len(self.items)

    @property
    def num_strata(self) -> int:
        return len(self.strata)

    @property
    def strength_is_time(self) -> bool:
        """True when the strength is a positive response time (lower = stronger): RT regression applies."""
        return self.strength is not None and not self.columns.strength_higher_is_stronger


# --------------------------------------------------------------------------------------------------------------
# Messages naming column, problem and an example row
# --------------------------------------------------------------------------------------------------------------


def plain(value: object) -> object:
    """``value`` as a plain Python object for messages: ``2``, not ``np.int64(2)``."""
    return value.item() if isinstance(value, np.generic) else value


def _example(frame: pd.DataFrame, bad: np.ndarray, column: str) -> str:
    first = int(np.flatnonzero(bad)[0])
    count = int(bad.sum())
    value = plain(frame[column].iloc[first])
    label = plain(frame.index[first])
    return f"e.g. row {label!r} has {value!r} ({count} row{'s' if count != 1 else ''} affected)"


def _fail(frame: pd.DataFrame, column: str, problem: str, bad: np.ndarray) -> ComparisonTableError:
    return ComparisonTableError(f"column {column!r}: {problem}; {_example(frame, bad, column)}")


def _require_columns(frame: pd.DataFrame, columns: Sequence[tuple[str, str]]) -> None:
    for option, name in columns:
        if name not in frame.columns:
            shown = ", ".join(map(repr, frame.columns[:30])) + (", ..." if len(frame.columns) > 30 else "")
            raise ComparisonTableError(
                f"column {name!r} (given as {option}) is not in the table; columns: {shown}"
            )


def _require_present(frame: pd.DataFrame, column: str) -> None:
    missing = frame[column].isna().to_numpy()
    if missing.any():
        raise _fail(frame, column, "missing value(s)", missing)


# --------------------------------------------------------------------------------------------------------------
# Column conversions
# --------------------------------------------------------------------------------------------------------------


def item_labels(values: pd.Series) -> pd.Series:
    """Item ids as strings; floats holding whole numbers lose their ``.0`` (``10.0`` → ``"10"``)."""
    if pd.api.types.is_float_dtype(values) and np.all(np.mod(values.to_numpy(dtype=float), 1.0) == 0):
        return values.astype("int64").astype(str)
    return values.astype(str)


def _parse_choice(frame: pd.DataFrame, column: str, a_chosen_value: object) -> np.ndarray:
    values = frame[column]
    _require_present(frame, column)
    if pd.api.types.is_bool_dtype(values):
        text = str(a_chosen_value).strip().lower()
        if text not in ("true", "false", "1", "0"):
            raise ComparisonTableError(
                f"column {column!r} holds booleans but the a-chosen value {plain(a_chosen_value)!r} is not "
                "true/false/1/0"
            )
        is_a = values.to_numpy() == (text in ("true", "1"))
    elif pd.api.types.is_numeric_dtype(values):
        try:
            target = float(a_chosen_value)
        except (TypeError, ValueError):
            raise ComparisonTableError(
                f"column {column!r} is numeric but the a-chosen value {plain(a_chosen_value)!r} is not a number"
            ) from None
        is_a = values.to_numpy(dtype=float) == target
    else:
        is_a = (values.astype(str) == str(a_chosen_value)).to_numpy()
    if not is_a.any():
        found = ", ".join(repr(plain(v)) for v in pd.unique(values)[:10])
        raise ComparisonTableError(
            f"column {column!r}: the a-chosen value {plain(a_chosen_value)!r} never occurs (values found: {found}); "
            "check --a-chosen-value"
        )
    others = values[~is_a]
    if others.nunique() > 1:
        b_value = plain(others.value_counts().index[0])  # the commonest other value is read as "b chosen"
        unknown = ~is_a & (values != b_value).to_numpy()
        raise _fail(
            frame,
            column,
            f"unknown choice coding: expected only {plain(a_chosen_value)!r} (a chosen) and one other value "
            f"(b chosen, here {b_value!r})",
            unknown,
        )
    return is_a


def _parse_strength(frame: pd.DataFrame, column: str, higher_is_stronger: bool) -> np.ndarray:
    values = frame[column]
    if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        converted = pd.to_numeric(values, errors="coerce")
        bad = converted.isna().to_numpy() & values.notna().to_numpy()
        if bad.any():
            raise _fail(frame, column, "strength must be numeric", bad)
        values = converted
    strength = values.to_numpy(dtype=np.float64)
    bad = ~np.isfinite(strength)
    if bad.any():
        raise _fail(frame, column, "strength must be a finite number (NaN or infinite found)", bad)
    if not higher_is_stronger:
        bad = strength <= 0
        if bad.any():
            raise _fail(
                frame,
                column,
                "response times must be positive (pass --strength-higher-is-stronger if this column is a "
                "score where higher means a stronger preference)",
                bad,
            )
    return strength


# --------------------------------------------------------------------------------------------------------------
# Items: labels, rare items, components, features
# --------------------------------------------------------------------------------------------------------------


def _connected_components(item_a: np.ndarray, item_b: np.ndarray, num_items: int) -> np.ndarray:
    graph = scipy.sparse.coo_matrix(
        (np.ones(item_a.shape[0]), (item_a, item_b)), shape=(num_items, num_items)
    )
    return scipy.sparse.csgraph.connected_components(graph, directed=False)[1].astype(np.int64)


def _check_rare_items(frame: pd.DataFrame, columns: Columns, item_a, item_b, items) -> None:
    counts = np.bincount(np.concatenate([item_a, item_b]), minlength=len(items))
    rare = counts < 2
    if not rare.any():
        return
    in_a = rare[item_a]
    column = columns.item_a if in_a.any() else columns.item_b
    bad = in_a if in_a.any() else rare[item_b]
    shown = ", ".join(repr(items[i]) for i in np.flatnonzero(rare)[:5])
    raise _fail(
        frame,
        column,
        f"{int(rare.sum())} item(s) ({shown}{', ...' if rare.sum() > 5 else ''}) appear in only one "
        "comparison, so cross-validation would hold them out without ever training on them and their "
        "one-parameter utility would be set by the L2 penalty alone; drop those rows or fit a feature model "
        "(item features)",
        bad,
    )


def _standardized_design(
    features: pd.DataFrame, key: str, feature_columns: Sequence[str] | None, items: list[str], frame, columns
) -> tuple[np.ndarray, list[str]]:
    """``[I, D]`` z-scored features in the order of ``items`` (mean 0, SD 1 over the features table's items)."""
    _require_columns(features, [("item key", key)])
    names = list(feature_columns) if feature_columns else [c for c in features.columns if c != key]
    _require_columns(features, [("feature", name) for name in names])
    if not names:
        raise ComparisonTableError("the item features table has no feature columns besides the item key")
    _require_present(features, key)
    labels = item_labels(features[key])
    duplicated = labels.duplicated().to_numpy()
    if duplicated.any():
        raise _fail(features, key, "item listed twice in the features table", duplicated)
    for name in names:
        if not pd.api.types.is_numeric_dtype(features[name]) or pd.api.types.is_bool_dtype(features[name]):
            raise ComparisonTableError(
                f"feature column {name!r} is not numeric (dtype {features[name].dtype})"
            )
        bad = ~np.isfinite(features[name].to_numpy(dtype=np.float64))
        if bad.any():
            raise _fail(features, name, "feature values must be finite", bad)
    matrix = features[names].to_numpy(dtype=np.float64)
    sd = matrix.std(axis=0)
    if (sd == 0).any():
        raise ComparisonTableError(
            f"feature column {names[int(np.flatnonzero(sd == 0)[0])]!r} is constant: it cannot explain choices"
        )
    matrix = (matrix - matrix.mean(axis=0)) / sd
    position = pd.Series(np.arange(len(labels)), index=labels.to_numpy())
    missing = [item for item in items if item not in position.index]
    if missing:
        in_a = item_labels(frame[columns.item_a]).isin(missing).to_numpy()
        column = columns.item_a if in_a.any() else columns.item_b
        bad = in_a if in_a.any() else item_labels(frame[column]).isin(missing).to_numpy()
        raise _fail(frame, column, f"{len(missing)} item(s) never appear in the item features table", bad)
    return matrix[position.loc[items].to_numpy()], names


# --------------------------------------------------------------------------------------------------------------
# The entry point
# --------------------------------------------------------------------------------------------------------------


def prepare_comparisons(
    frame: pd.DataFrame,
    columns: Columns,
    *,
    query: str | None = None,
    item_features: pd.DataFrame | None = None,
    item_key: str | None = None,
    feature_columns: Sequence[str] | None = None,
) -> Comparisons:
    """Validate ``frame`` under the mapping ``columns`` and convert it to :class:`Comparisons`.

    Args:
        frame: the comparison table, one row per choice.
        columns: column mapping.
        query: optional row filter (e.g. ``"YesNo == 0"``) in the safe subset of ``DataFrame.query`` syntax of
            :mod:`responserank.fitting.query` (columns, literals, comparisons, and/or/not); row labels in messages
            still refer to the full table.
        item_features: optional per-item features table for a linear feature model ``u(item) = x_item · w``.
        item_key: column of ``item_features`` holding the item ids (required with ``item_features``).
        feature_columns: feature columns to use (default: every column except ``item_key``).

    Raises:
        ComparisonTableError: see the module docstring.
    """
    if query:
        from responserank.fitting.query import query_rows  # a safe filter language, never eval

        frame = query_rows(frame, query)
    if len(frame) == 0:
        raise ComparisonTableError(
            "the table has no rows" + (f" matching --query {query!r}" if query else "")
        )
    required = [("--item-a", columns.item_a), ("--item-b", columns.item_b), ("--choice", columns.choice)]
    if columns.strength is not None:
        required.append(("--strength", columns.strength))
    required += [("--stratum", name) for name in columns.stratum]
    _require_columns(frame, required)
    for column in (columns.item_a, columns.item_b, *columns.stratum):
        _require_present(frame, column)

    labels_a, labels_b = item_labels(frame[columns.item_a]), item_labels(frame[columns.item_b])
    same = (labels_a == labels_b).to_numpy()
    if same.any():
        raise _fail(frame, columns.item_b, "an option is compared with itself (item a == item b)", same)
    codes, uniques = pd.factorize(np.column_stack([labels_a, labels_b]).reshape(-1))
    item_a, item_b = codes.reshape(-1, 2).T.astype(np.int64)
    items = [str(item) for item in uniques]

    first_chosen = _parse_choice(frame, columns.choice, columns.a_chosen_value)
    strength = rank = None
    if columns.strength is not None:
        strength = _parse_strength(frame, columns.strength, columns.strength_higher_is_stronger)
        rank = -strength if columns.strength_higher_is_stronger else strength.copy()

    warnings: list[str] = []
    if columns.stratum:
        stratum = stratify(frame=frame, columns=list(columns.stratum))
        keys = pd.concat([item_labels(frame[c]) for c in columns.stratum], axis=1).agg("/".join, axis=1)
        keys = keys.to_numpy()
        strata = [str(k) for k in pd.unique(keys)]  # stratify numbers strata in order of first appearance
        sizes = np.bincount(stratum)
        single = sizes[stratum] == 1
        if single.any():
            names = " × ".join(map(repr, columns.stratum))
            warnings.append(
                f"column {names}: {int((sizes == 1).sum())} stratum/strata hold a single comparison, e.g. row "
                f"{plain(frame.index[int(np.flatnonzero(single)[0])])!r} ({keys[single][0]!r}); ResponseRank treats "
                "such a comparison as a plain Bradley–Terry term (its strength is unused)"
            )
    else:
        stratum = np.zeros(len(frame), dtype=np.int64)
        strata = ["all"]

    design, names = None, []
    if item_features is not None:
        if not item_key:
            raise ComparisonTableError("item features need the name of their item-id column (--item-key)")
        design, names = _standardized_design(item_features, item_key, feature_columns, items, frame, columns)
        component = np.zeros(len(items), dtype=np.int64)  # features tie every item together
    else:
        _check_rare_items(frame, columns, item_a, item_b, items)
        component = _connected_components(item_a, item_b, len(items))

    return Comparisons(
        item_a=item_a,
        item_b=item_b,
        first_chosen=np.asarray(first_chosen, dtype=bool),
        strength=strength,
        rank=rank,
        stratum=stratum,
        items=items,
        strata=strata,
        row=frame.index.to_numpy(),
        component=component,
        columns=columns,
        design=design,
        feature_names=names,
        warnings=warnings,
    )


def split_strata_into_random_groups(comparisons: Comparisons, group_size: int, seed: int) -> Comparisons:
    """Split every stratum into random groups of ``group_size`` comparisons (the last of each may be smaller).

    A random order of all comparisons is drawn with :func:`responserank.strata.random_groups` (groups of one =
    a random permutation position, from ``seed``); inside each stratum the comparisons are then taken in that
    order and cut into consecutive groups. The group is the new stratum. Vectorized.
    """
    if int(group_size) != group_size or group_size < 1:
        raise ComparisonTableError(f"group size must be a positive integer, got {plain(group_size)!r}")
    n = comparisons.num_comparisons
    random_position = random_groups(n, 1, seed)
    order = segments.lexsort(comparisons.stratum, random_position)
    group = np.empty(n, dtype=np.int64)
    group[order] = segments.position_in_segment(comparisons.stratum[order]) // int(group_size)
    new_stratum = stratify(comparisons.stratum, group)
    labels = pd.unique(
        pd.Series(np.asarray(comparisons.strata, dtype=object)[comparisons.stratum])
        + "#"
        + pd.Series(group).astype(str)
    )
    return dataclasses.replace(comparisons, stratum=new_stratum, strata=[str(s) for s in labels])

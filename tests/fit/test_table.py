"""Reading and validating comparison tables: every error names the column and an example row."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from responserank.errors import ComparisonTableError
from responserank.fitting import Columns, prepare_comparisons, read_table
from responserank.fitting.table import split_strata_into_random_groups

COLUMNS = Columns("left", "right", "choice", "L", strength="rt", stratum=("annotator",))


@pytest.fixture
def table(make_table) -> pd.DataFrame:
    return make_table(0, num_items=8, num_comparisons=80)[0]


def error_message(frame: pd.DataFrame, columns: Columns = COLUMNS, **options) -> str:
    with pytest.raises(ComparisonTableError) as info:
        prepare_comparisons(frame, columns, **options)
    return str(info.value)


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz", ".tsv", ".parquet", ".jsonl"])
def test_every_format_reads_to_the_same_comparisons(table, tmp_path, suffix):
    path = tmp_path / f"table{suffix}"
    if suffix == ".parquet":
        table.to_parquet(path)
    elif suffix == ".jsonl":
        table.to_json(path, orient="records", lines=True)
    else:
        table.to_csv(path, sep="\t" if suffix == ".tsv" else ",", index=False)
    expected = prepare_comparisons(table, COLUMNS)
    got = prepare_comparisons(read_table(path), COLUMNS)
    assert got.items == expected.items
    for name in ("item_a", "item_b", "first_chosen", "stratum"):
        np.testing.assert_array_equal(getattr(got, name), getattr(expected, name))
    np.testing.assert_allclose(got.rank, expected.rank)


def test_unknown_suffix_and_missing_file(tmp_path):
    (tmp_path / "t.xlsx").write_text("x")
    with pytest.raises(ComparisonTableError, match=r"unknown file type '\.xlsx'"):
        read_table(tmp_path / "t.xlsx")
    with pytest.raises(ComparisonTableError, match="does not exist"):
        read_table(tmp_path / "missing.csv")


def test_conversions_items_choice_rank_strata(table):
    frame = table.assign(left=table["left"].str[4:].astype(float), right=table["right"].str[4:].astype(float))
    comparisons = prepare_comparisons(
        frame, Columns("left", "right", "choice", "L", "rt", stratum=("annotator",))
    )
    assert comparisons.items[0] == str(int(frame["left"].iloc[0]))  # 3.0 → "3"
    assert comparisons.items[comparisons.item_b[0]] == str(int(frame["right"].iloc[0]))
    np.testing.assert_array_equal(comparisons.first_chosen, table["choice"] == "L")
    np.testing.assert_array_equal(comparisons.rank, table["rt"])  # a response time: rank = rt
    assert comparisons.strata == list(pd.unique(table["annotator"]))
    assert comparisons.strata[comparisons.stratum[5]] == table["annotator"].iloc[5]
    flipped = prepare_comparisons(table, Columns("left", "right", "choice", "L", "rt", True))
    np.testing.assert_array_equal(flipped.rank, -table["rt"])  # higher = stronger → rank = −strength
    assert flipped.num_strata == 1 and not flipped.strength_is_time


def test_a_chosen_is_a_deprecated_alias_of_first_chosen(table):
    comparisons = prepare_comparisons(table, COLUMNS)
    with pytest.warns(DeprecationWarning, match="first_chosen"):
        np.testing.assert_array_equal(comparisons.a_chosen, comparisons.first_chosen)


def test_choice_value_is_compared_as_a_number_in_numeric_columns(table):
    numeric = table.assign(choice=np.where(table["choice"] == "L", 1.0, 2.0))
    comparisons = prepare_comparisons(numeric, Columns("left", "right", "choice", "1", "rt"))
    np.testing.assert_array_equal(comparisons.first_chosen, table["choice"] == "L")
    boolean = table.assign(choice=table["choice"] == "L")
    comparisons = prepare_comparisons(boolean, Columns("left", "right", "choice", "True", "rt"))
    np.testing.assert_array_equal(comparisons.first_chosen, table["choice"] == "L")


def test_missing_column_names_it_and_the_option(table):
    message = error_message(table.drop(columns="rt"))
    assert "'rt'" in message and "--strength" in message and "'left'" in message  # lists available columns


def test_unknown_choice_coding_names_column_and_row(table):
    frame = table.copy()
    frame.loc[17, "choice"] = "both"
    message = error_message(frame)
    assert "column 'choice'" in message and "unknown choice coding" in message and "row 17" in message
    assert "'both'" in message


def test_a_chosen_value_that_never_occurs(table):
    message = error_message(table, Columns("left", "right", "choice", "left", "rt"))
    assert "column 'choice'" in message and "never occurs" in message and "'L'" in message


@pytest.mark.parametrize(
    ("value", "problem"), [(-0.5, "must be positive"), (0.0, "must be positive"), (np.nan, "finite")]
)
def test_bad_response_time_names_column_and_row(table, value, problem):
    frame = table.copy()
    frame.loc[[23, 40], "rt"] = value
    message = error_message(frame)
    assert (
        "column 'rt'" in message
        and problem in message
        and "row 23" in message
        and "2 rows affected" in message
    )


def test_negative_strength_is_fine_when_higher_is_stronger(table):
    frame = table.assign(rt=-table["rt"])
    comparisons = prepare_comparisons(frame, Columns("left", "right", "choice", "L", "rt", True))
    np.testing.assert_array_equal(comparisons.rank, table["rt"])


def test_missing_item_or_stratum_value(table):
    frame = table.copy()
    frame.loc[4, "right"] = None
    assert "column 'right': missing value" in error_message(frame) and "row 4" in error_message(frame)
    frame = table.copy()
    frame.loc[9, "annotator"] = np.nan
    assert "column 'annotator': missing value" in error_message(frame) and "row 9" in error_message(frame)


def test_item_compared_with_itself(table):
    frame = table.copy()
    frame.loc[3, "right"] = frame.loc[3, "left"]
    message = error_message(frame)
    assert "column 'right'" in message and "compared with itself" in message and "row 3" in message


def test_item_in_a_single_comparison_is_rejected(table):
    frame = table.copy()
    frame.loc[31, "left"] = "lonely"
    message = error_message(frame)
    assert "column 'left'" in message and "'lonely'" in message and "only one comparison" in message
    assert "row 31" in message


def test_stratum_of_one_comparison_warns_with_column_and_row(table):
    frame = table.copy()
    frame.loc[12, "annotator"] = "solo"
    comparisons = prepare_comparisons(frame, COLUMNS)
    assert len(comparisons.warnings) == 1
    warning = comparisons.warnings[0]
    assert (
        "'annotator'" in warning
        and "row 12" in warning
        and "'solo'" in warning
        and "Bradley–Terry" in warning
    )


def test_query_selects_rows_and_reports_bad_expressions(table):
    frame = table.assign(keep=np.arange(len(table)) % 2 == 0)
    comparisons = prepare_comparisons(frame, COLUMNS, query="keep")
    assert comparisons.num_comparisons == len(table) // 2
    np.testing.assert_array_equal(comparisons.row, np.arange(0, len(table), 2))  # rows keep their labels
    assert "--query" in error_message(frame, query="no_such_column > 1")
    assert "no rows" in error_message(frame, query="keep and not keep")


def test_feature_table_checks(table):
    items = sorted(set(table["left"]) | set(table["right"]))
    features = pd.DataFrame({"id": items, "x": np.arange(len(items), dtype=float), "c": 1.0})
    comparisons = prepare_comparisons(
        table, COLUMNS, item_features=features, item_key="id", feature_columns=["x"]
    )
    assert comparisons.design.shape == (len(items), 1)
    np.testing.assert_allclose(comparisons.design.mean(), 0.0, atol=1e-12)  # z-scored
    message = error_message(table, item_features=features.iloc[1:], item_key="id", feature_columns=["x"])
    assert "never appear in the item features table" in message and "row" in message
    assert "constant" in error_message(table, item_features=features, item_key="id")


def test_random_groups_split_strata_reproducibly(table):
    comparisons = prepare_comparisons(table, COLUMNS)
    grouped = split_strata_into_random_groups(comparisons, 3, seed=5)
    again = split_strata_into_random_groups(comparisons, 3, seed=5)
    np.testing.assert_array_equal(grouped.stratum, again.stratum)
    sizes = np.bincount(grouped.stratum)
    assert sizes.max() == 3 and len(grouped.strata) == sizes.size
    # every group lies inside one original stratum, and each stratum has ceil(n / 3) groups
    parent = pd.Series(comparisons.stratum).groupby(grouped.stratum).nunique()
    assert (parent == 1).all()
    expected_groups = np.ceil(np.bincount(comparisons.stratum) / 3).sum()
    assert sizes.size == expected_groups
    other = split_strata_into_random_groups(comparisons, 3, seed=6)
    assert not np.array_equal(other.stratum, grouped.stratum)

"""``--query`` is a safe filter: the attack from issue 11 is refused (nothing runs), legitimate filters equal pandas."""

from __future__ import annotations

import pandas as pd
import pytest

from responserank.__main__ import main
from responserank.errors import QueryError
from responserank.fitting.query import query_rows

ARGS = ["--item-a", "left", "--item-b", "right", "--choice", "choice", "--a-chosen-value", "L"]
ATTACKS = [
    "rt.__class__.__init__.__globals__['sys'].modules['os'].system('touch pwned') == 0",
    "__import__('os').system('touch pwned') == 0",
    "rt.__class__ == 0",
    "(lambda: __import__('os').system('touch pwned'))() == 0",
    "[c for c in ().__class__.__base__.__subclasses__()] == 0",
    "rt[0] == 0",
    "__builtins__ == 0",
    "@rt > 0",
    "rt * 10**9 > 0",
]


@pytest.fixture()
def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "rt": [0.5, 1.5, 2.5, 3.5, 4.5, 5.5],
            "YesNo": [0, 1, 0, 1, 0, 1],
            "subject": ["s1", "s2", "s3", "s1", "s2", "s3"],
            "is practice": [True, False, False, True, False, False],
        },
        index=[10, 11, 12, 13, 14, 15],
    )


@pytest.mark.parametrize("attack", ATTACKS)
def test_the_attack_is_refused_in_one_line_and_runs_nothing(tmp_path, monkeypatch, capsys, attack):
    table = pd.DataFrame(
        {"left": ["a", "b", "c"] * 4, "right": ["b", "c", "a"] * 4, "choice": ["L", "R"] * 6, "rt": 1.0}
    )
    table.to_csv(tmp_path / "choices.csv", index=False)
    monkeypatch.chdir(tmp_path)
    status = main(["fit", "choices.csv", *ARGS, "--query", attack, "--out", "res"])
    lines = capsys.readouterr().err.strip().splitlines()
    assert status == 1 and len(lines) == 1 and lines[0].startswith("error: --query "), lines
    assert "not allowed" in lines[0] or "not a valid expression" in lines[0]
    assert "sandbox" not in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["choices.csv"]  # no 'pwned', no results


@pytest.mark.parametrize(
    "query",
    [
        "YesNo == 0",
        "rt > 1 & YesNo == 1",  # pandas gives & the precedence of 'and'
        "YesNo == 0 | YesNo == 1 & rt > 4",
        "1 < rt <= 4.5",
        "subject in ['s1', 's3'] and not YesNo == 1",
        "subject not in ('s2',)",
        "subject == ['s2', 's3']",
        "subject != 's1' or rt < -(-1)",
        "~(YesNo == 0)",
        "`is practice`",
        "`is practice` == False and rt >= 2.5",
        "rt > 100",
    ],
)
def test_legitimate_filters_select_what_pandas_query_selects(frame, query):
    pd.testing.assert_frame_equal(query_rows(frame, query), frame.query(query))


@pytest.mark.parametrize(
    "query, needle",
    [
        ("rt + 1 > 2", "arithmetic not allowed"),
        ("reaction == 1", "'reaction' is not a column of the table (columns: 'rt', 'YesNo', 'subject'"),
        ("subject < 3", "cannot be evaluated on the table"),
        ("rt", "needs true/false values"),
        ("rt in subject", "list or tuple of literals"),
        ("rt is None", "comparison Is not allowed"),
        ("rt == None", "literal None not allowed"),
        ("rt ==", "not a valid expression"),
    ],
)
def test_bad_filters_are_one_line_errors(frame, query, needle):
    with pytest.raises(QueryError) as error:
        query_rows(frame, query)
    message = str(error.value)
    assert message.startswith(f"--query {query!r}: ") and needle in message and "\n" not in message


def test_a_query_selects_the_rows_fit_uses(make_table, tmp_path, capsys):
    table, _ = make_table(0, num_items=8, num_comparisons=160)
    table["block"] = [i % 2 for i in range(len(table))]
    table.to_csv(tmp_path / "choices.csv", index=False)
    out = tmp_path / "res"
    status = main(
        ["fit", str(tmp_path / "choices.csv"), *ARGS, "--query", "block == 1", "--folds", "2",
         "--train-fractions", "1", "--no-progress", "--out", str(out)]
    )  # fmt: skip
    assert status == 0, capsys.readouterr().err
    report = (out / "report.md").read_text()
    assert "rows selected by `block == 1`" in report and "- 80 comparisons" in report

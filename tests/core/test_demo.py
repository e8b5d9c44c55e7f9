"""The loss demo runs and shows ResponseRank using the response times (fewer repeats than the default)."""

from __future__ import annotations

from responserank import demo


def test_demo_prints_both_methods_and_responserank_recovers_strength(capsys):
    demo.main(["--repeats", "2", "--seed", "3"])
    lines = capsys.readouterr().out.splitlines()
    rows = {line.split()[0]: [float(v) for v in line.split()[1:]] for line in lines[2:]}
    assert set(rows) == {"bt", "responserank"}
    # Columns: test accuracy, PDC, Spearman(u). RT carries signal here, so RR knows preference strength better.
    assert rows["responserank"][1] > rows["bt"][1]

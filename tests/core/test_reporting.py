"""Reporting helpers: statistics and table cells, crossing points, atomic output, shared summary.md sections,
and byte-identical figures."""

from __future__ import annotations

import math
import os
import stat

import numpy as np
import pytest

from responserank import reporting


def test_summarize_known_answers():
    """Textbook values: 1…5 has mean 3, SD √2.5, SEM √0.5 and t(0.975, 4) = 2.7764; 0 and 2 give t(0.975, 1)."""
    summary = reporting.summarize([1.0, 2.0, 3.0, 4.0, 5.0])
    assert (summary.mean, summary.n) == (3.0, 5)
    assert summary.sd == pytest.approx(1.5811388, abs=1e-7)
    assert summary.ci95 == pytest.approx(1.9632432, abs=1e-6)
    assert reporting.summarize([0.0, 2.0]).ci95 == pytest.approx(12.7062047, abs=1e-6)
    assert reporting.summarize([1.0, 2.0, 3.0, 4.0, 5.0], ddof=0).sd == pytest.approx(math.sqrt(2))
    assert reporting.summarize([0.5]).ci95 == 0.0
    assert reporting.summarize([1.0, np.nan, 3.0]).n == 2
    assert math.isnan(reporting.summarize([]).mean)


def test_summarize_interval_covers_the_true_mean_95_percent_of_the_time():
    rng = np.random.default_rng(0)
    samples = rng.normal(loc=2.0, scale=3.0, size=(4000, 6))
    covered = [abs(s.mean - 2.0) <= s.ci95 for s in map(reporting.summarize, samples)]
    assert np.mean(covered) == pytest.approx(0.95, abs=0.01)


def test_format_cell_latex_and_markdown():
    summary = reporting.Summary(mean=0.7771, sd=0.0421, ci95=0.0083, n=100)
    assert reporting.format_cell(summary, 1, scale=100) == "77.7 $\\pm$ 4.2 [$\\pm$ 0.8]"
    assert reporting.format_cell(summary, 3, with_ci=False, bold=True, latex=False) == "**0.777** ± 0.042"


@pytest.mark.parametrize(
    ("means", "expected"),
    [
        ([0.70, 0.74, 0.78, 0.80], 0.6 + (0.76 - 0.74) * 0.1 / 0.04),  # interpolated between 60 % and 70 %
        ([0.77, 0.80, 0.81, 0.82], 0.5),  # reached at the first size
        ([0.60, 0.61, 0.62, 0.63], None),  # never reached
    ],
)
def test_crossing_point(means, expected):
    result = reporting.crossing_point([0.5, 0.6, 0.7, 0.8], means, threshold=0.76)
    assert result == (pytest.approx(expected) if expected is not None else None)


def test_format_p_value():
    assert reporting.format_p_value(2e-68) == "< 0.0001"
    assert reporting.format_p_value(0.01234) == "0.0123"


def test_atomic_directory_leaves_nothing_behind_on_failure(tmp_path):
    destination = tmp_path / "figures"
    with pytest.raises(RuntimeError), reporting.atomic_directory(destination) as staging:
        (staging / "half.pdf").write_text("x")
        raise RuntimeError("plotting failed")
    assert not destination.exists()
    assert list(tmp_path.iterdir()) == []
    with reporting.atomic_directory(destination) as staging:
        (staging / "sub").mkdir()
        (staging / "sub" / "a.txt").write_text("a")
    assert (destination / "sub" / "a.txt").read_text() == "a"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["figures"]


def test_write_text_atomic_uses_ordinary_permissions(tmp_path):
    path = tmp_path / "nested" / "metadata.json"
    reporting.write_text_atomic(path, "{}\n")
    assert path.read_text() == "{}\n"
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~mask
    assert [p.name for p in path.parent.iterdir()] == ["metadata.json"]


def test_public_temp_gives_ordinary_permissions_without_changing_the_umask(tmp_path):
    mask = os.umask(0o027)
    try:
        folder = reporting.public_temp(tmp_path, ".trial_1.partial-", directory=True)
        file = reporting.public_temp(tmp_path, ".x.", ".tmp")
        assert os.umask(0o027) == 0o027
    finally:
        os.umask(mask)
    assert folder.name.startswith(".trial_1.partial-") and folder.is_dir() and not any(folder.iterdir())
    assert stat.S_IMODE(folder.stat().st_mode) == 0o750
    assert file.name.endswith(".tmp") and file.read_text() == ""
    assert stat.S_IMODE(file.stat().st_mode) == 0o640


def test_summary_sections_of_several_families_coexist(tmp_path):
    text = reporting.summary_with_section(tmp_path, "synthetic", "# Synthetic\nA")
    (tmp_path / "summary.md").write_text(text)
    text = reporting.summary_with_section(tmp_path, "llm", "# LLM\nB")
    (tmp_path / "summary.md").write_text(text)
    text = reporting.summary_with_section(tmp_path, "synthetic", "# Synthetic\nA2")
    assert "A2" in text and "\nA\n" not in text and "# LLM\nB" in text
    assert text.index("# Synthetic") < text.index("# LLM")
    (tmp_path / "summary.md").write_text("an unrelated file")
    assert "unrelated" not in reporting.summary_with_section(tmp_path, "llm", "x")


def test_save_figure_is_byte_identical(tmp_path):
    import matplotlib.pyplot as plt

    reporting.configure_matplotlib()

    def draw(path):
        fig, ax = plt.subplots(figsize=(3, 2))
        ax.plot([0, 1, 2], [0.7, 0.75, 0.8], label="RR ± CI")
        ax.legend()
        return reporting.save_figure(fig, path)

    first = draw(tmp_path / "a" / "curve")
    second = draw(tmp_path / "b" / "curve")
    assert [p.suffix for p in first] == [".pdf", ".png"]
    for a, b in zip(first, second, strict=True):
        assert a.read_bytes() == b.read_bytes()
    assert b"(D:19900101000000Z)" in first[0].read_bytes()


def test_write_outputs_restores_matplotlib_settings_and_adds_a_summary_section(tmp_path):
    import matplotlib
    import matplotlib.pyplot as plt

    def write(out: reporting.OutputFolder, inputs: str) -> str:
        assert matplotlib.rcParams["font.family"] == ["serif"]  # the paper's style inside
        out.figure(plt.figure(), "empty")
        out.text("table.tex", "x\n")
        return f"# Family\n{inputs}"

    with matplotlib.rc_context({"font.family": "monospace"}):
        written = reporting.write_outputs(tmp_path / "figures", "family", lambda: "numbers", write)
        assert matplotlib.rcParams["font.family"] == ["monospace"]
    assert [p.as_posix() for p in written] == ["empty.pdf", "empty.png", "table.tex", "summary.md"]
    summary = (tmp_path / "figures" / "summary.md").read_text()
    assert "<!-- responserank:family -->\n# Family\nnumbers" in summary

"""Our experiment registry: valid, consistent with the paper's groups and with every output that names a key."""

from __future__ import annotations

import re

import pytest
from helpers import REPO_ROOT

from responserank.errors import AnalysisError
from responserank.llm.analysis.figures import BAR_PLOTS
from responserank.llm.analysis.names import DATASIZE_CURVES, MAIN_ROWS
from responserank.llm.analysis.registry import load_registry, parse_registry
from responserank.llm.analysis.stats import COMPARISONS, macro_name
from responserank.resources import llm_registry_path

OURS = llm_registry_path()


def test_every_key_used_by_an_output_is_registered():
    registry = load_registry(OURS)
    used = set(MAIN_ROWS) | set(DATASIZE_CURVES)
    used |= {k for plot in BAR_PLOTS for k in plot.keys + list(plot.references)}
    used |= {k for _, first, second in COMPARISONS for k in (first, second)}
    assert used <= set(registry), sorted(used - set(registry))


def test_egids_are_the_paper_groups():
    ours = load_registry(OURS)
    paper = load_registry(REPO_ROOT / "results" / "llm" / "registry.yaml")
    assert {k: e.egid for k, e in paper.items()} == {k: ours[k].egid for k in paper}
    assert set(ours) - set(paper) == {"rr"}  # the response-time preset has no paper runs
    assert ours["rr"].egid is None


def test_macro_names_are_letters_only_and_distinct():
    keys = list(load_registry(OURS))
    names = [macro_name(k) for k in keys]
    assert all(re.fullmatch(r"[A-Za-z]+", n) for n in names)
    assert len(set(names)) == len(names)
    assert macro_name("rr_agree_spread2_partialshuffle25") == "AgreeSpreadTwoPartialshuffleTwoFive"


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"experiments": {}}, "lists no experiments"),
        ([1, 2], "expected a mapping"),
        ({"experiments": {"bad key": {"egid": "x"}}}, "letters, digits"),
        ({"experiments": {"bt": {"egid": "x", "colour": "red"}}}, "unknown field"),
        ({"experiments": {"bt": {"egid": "x"}, "rr": {"egid": "x"}}}, "listed for both"),
        ({"experiments": {"bt": {"egid": 3}}}, "must be a non-empty string"),
    ],
)
def test_bad_registries_are_refused(payload, message):
    with pytest.raises(AnalysisError, match=message):
        parse_registry(payload, "registry.yaml")


def test_unreadable_registry_file(tmp_path):
    path = tmp_path / "registry.yaml"
    path.write_text("experiments: [unclosed")
    with pytest.raises(AnalysisError, match="not a readable YAML registry"):
        load_registry(path)
    with pytest.raises(AnalysisError, match="not found"):
        load_registry(tmp_path / "missing.yaml")

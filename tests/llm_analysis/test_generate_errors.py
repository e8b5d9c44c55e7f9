"""Bad caches give one clear line, exit status 1 and no (half-written) output folder."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

from responserank.llm.analysis.cli import main
from responserank.llm.analysis.names import CACHE_COLUMNS

REGISTRY = "experiments:\n  bt: {egid: bt-v1}\n  rr_agree: {egid: rr-v1}\n"


def _runs(seeds_bt=(1, 2, 3), seeds_rr=(1, 2, 3), state="finished"):
    rows = []
    for egid, seeds in (("bt-v1", seeds_bt), ("rr-v1", seeds_rr)):
        for seed in seeds:
            rows.append(
                {
                    "run_id": f"{egid}-{seed}",
                    "egid": egid,
                    "seed": seed,
                    "fraction": 1.0,
                    "run_state": state,
                    "eval_accuracy": 0.7 + 0.01 * seed,
                }
            )
    frame = pd.DataFrame(rows)
    for column in CACHE_COLUMNS:
        if column not in frame:
            frame[column] = 0.5 if column.startswith("eval/") else None
    return frame


def _cache(folder, runs=None, registry=REGISTRY, meta="{}"):
    folder.mkdir(parents=True)
    (_runs() if runs is None else runs).to_csv(folder / "runs.csv", index=False)
    if registry is not None:
        (folder / "registry.yaml").write_text(registry)
    if meta is not None:
        (folder / "meta.json").write_text(meta)


def _cut(folder, where: str):
    """A cache whose runs.csv lost the end of a row (issue 11: pandas read the rest as NaN / a number's prefix)."""
    _cache(folder, runs=_runs().assign(source="wandb:rr/llm"))  # the last column is filled in every row
    path = folder / "runs.csv"
    lines = path.read_text().splitlines(keepends=True)
    if where == "end of file":  # an interrupted copy: the last row stops after a few fields
        path.write_text("".join(lines[:-1]) + lines[-1][: len(lines[-1]) // 3])
    elif where == "inside the last number":  # all fields present, the last one cut short, no final newline
        path.write_text("".join(lines)[:-4])
    else:  # a row in the middle lost its tail
        lines[3] = lines[3][: len(lines[3]) // 2] + "\n"
        path.write_text("".join(lines))


CASES = {
    "row cut at the end of the file": (
        lambda c: _cut(c, "end of file"),
        "runs.csv: line 7 has 6 fields but the header has 23 (a truncated or malformed row)",
    ),
    "row cut inside the last number": (
        lambda c: _cut(c, "inside the last number"),
        "runs.csv: line 7 does not end with a line break: the file looks truncated",
    ),
    "row cut in the middle": (lambda c: _cut(c, "middle"), "runs.csv: line 4 has"),
    "accuracy in percent": (
        lambda c: _cache(c, runs=_runs().assign(eval_accuracy=[0.7, 0.7, 75.0, 0.7, 0.7, 0.7])),
        "runs.csv: line 4: column 'eval_accuracy' = 75 is outside [0, 1] (metrics are fractions in [0, 1], "
        "not percentages; 1 value(s) affected)",
    ),
    "RewardBench category in percent": (
        lambda c: _cache(c, runs=_runs().assign(**{"eval/rewardbench_v2/section/Math_score": 42.0})),
        "column 'eval/rewardbench_v2/section/Math_score' = 42 is outside [0, 1]",
    ),
    "negative count": (
        lambda c: _cache(c, runs=_runs().assign(train_examples=-5)),
        "column 'train_examples' = -5 is outside [0, inf] (a count of examples",
    ),
    "missing folder": (lambda c: None, "does not exist"),
    "missing runs.csv": (
        lambda c: (c.mkdir(), (c / "registry.yaml").write_text(REGISTRY)),
        "runs.csv not found",
    ),
    "missing registry": (lambda c: _cache(c, registry=None), "registry.yaml not found"),
    "corrupt registry": (lambda c: _cache(c, registry="experiments: [x"), "not a readable YAML registry"),
    "corrupt meta": (lambda c: _cache(c, meta="{oops"), "meta.json: not a readable JSON cache description"),
    "missing column": (
        lambda c: _cache(c, runs=_runs().drop(columns=["eval_accuracy"])),
        "missing column(s) 'eval_accuracy'",
    ),
    "text in a metric": (
        lambda c: _cache(c, runs=_runs().assign(eval_accuracy=["x", 0.1, 0.1, 0.1, 0.1, 0.1])),
        "row 2: column 'eval_accuracy' value 'x' is not a number",
    ),
    "fraction out of range": (lambda c: _cache(c, runs=_runs().assign(fraction=1.5)), "is not in (0, 1]"),
    "no finished runs": (lambda c: _cache(c, runs=_runs(state="failed")), "no finished runs in the cache"),
    "unregistered egids": (
        lambda c: _cache(c, registry="experiments:\n  bt: {egid: other-v9}\n"),
        "no finished run belongs to an experiment",
    ),
    "duplicate finished runs": (
        lambda c: _cache(c, runs=pd.concat([_runs(), _runs().iloc[:1].assign(run_id="dup")])),
        "2 finished runs of bt at fraction 1, seed 1 (run ids bt-v1-1, dup)",
    ),
    "unpaired seeds": (
        lambda c: _cache(c, runs=_runs(seeds_rr=(1, 2, 4))),
        "paired test bt vs rr_agree at fraction 1.0: the seeds differ (only bt: [3]; only rr_agree: [4])",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_cache(tmp_path, capsys, case):
    setup, message = CASES[case]
    cache, out = tmp_path / "cache", tmp_path / "out"
    setup(cache)
    assert main(["generate", str(cache), str(out)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0], err
    assert not out.exists() and not list(tmp_path.glob(".out.partial*"))


def test_a_failed_generate_leaves_earlier_outputs_alone(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "summary.md").write_text("earlier")
    _cache(tmp_path / "cache", runs=_runs(state="failed"))
    assert main(["generate", str(tmp_path / "cache"), str(out)]) == 1
    assert (out / "summary.md").read_text() == "earlier"


def test_meta_json_is_optional(tmp_path):
    _cache(tmp_path / "cache", meta=None)
    assert main(["generate", str(tmp_path / "cache"), str(tmp_path / "out")]) == 0
    summary = (tmp_path / "out" / "summary.md").read_text()
    assert "| `rr_agree` | rr_agree | 3 | 72.0 ± 1.0 |" in summary  # display name defaults to the key


def test_module_entry_point_prints_one_line(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "responserank.llm.analysis.cli",
            "generate",
            str(tmp_path / "none"),
            str(tmp_path / "o"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [f"error: cache folder {tmp_path / 'none'} does not exist"]


def test_usetex_without_latex_is_one_clear_error(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("shutil.which", lambda tool: None)
    _cache(tmp_path / "cache")
    assert main(["generate", str(tmp_path / "cache"), str(tmp_path / "out"), "--usetex"]) == 1
    assert capsys.readouterr().err.strip().startswith("error: --usetex needs latex, dvipng, gs on PATH")
    assert not (tmp_path / "out").exists()

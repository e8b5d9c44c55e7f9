"""The per-run record schema of the local run store: writer, reader, validation."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from responserank.errors import AnalysisError
from responserank.llm.analysis.run_store import (
    RECORD_FILE,
    SCHEMA,
    RunRecord,
    find_run_records,
    read_run_record,
    record_row,
    write_run_record,
)

finite = st.floats(0, 1, allow_nan=False)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**31),
    fraction=st.floats(1e-3, 1.0),
    state=st.sampled_from(["running", "finished", "failed", "stopped", "crashed"]),
    accuracy=st.one_of(st.none(), finite),
    config=st.one_of(st.none(), st.dictionaries(st.text(max_size=5), st.integers(), max_size=3)),
)
def test_write_then_read_gives_the_same_record(tmp_path_factory, seed, fraction, state, accuracy, config):
    folder = tmp_path_factory.mktemp("run")
    original = RunRecord(
        run_name=f"rr_agree-v10.1-abcdef12-{fraction}-{seed}",
        egid="rr_agree-v10.1-abcdef12",
        experiment="rr_agree",
        seed=seed,
        fraction=fraction,
        run_state=state,
        metrics={"eval_accuracy": accuracy},
        config=config,
    )
    path = write_run_record(folder, original)
    assert path == folder / RECORD_FILE
    assert read_run_record(path) == original
    assert json.loads(path.read_text())["schema"] == SCHEMA


def test_wandb_style_names_are_renamed_and_nan_becomes_null(tmp_path):
    record = RunRecord(
        run_name="x-1.0-1",
        egid="x",
        experiment="bt",
        seed=1,
        fraction=1.0,
        run_state="finished",
        metrics={
            "eval/accuracy": 0.7,
            "eval/rewardbench_v2/overall/accuracy_score": math.nan,
            "eval/loss": 0.3,
        },
        statistics={"packing/avg_fragment_size": 4.5},
    )
    assert record.metrics == {
        "eval/loss": 0.3,
        "eval/rewardbench_v2/overall/accuracy_score": None,
        "eval_accuracy": 0.7,
    }
    payload = json.loads(write_run_record(tmp_path, record).read_text())  # strict JSON: no NaN
    assert payload["metrics"]["eval/rewardbench_v2/overall/accuracy_score"] is None
    row = record_row(record, run_id="folder")
    assert row["eval_accuracy"] == 0.7 and row["avg_fragment_size"] == 4.5 and row["run_id"] == "folder"
    assert math.isnan(row["eval/rewardbench_v2/overall/accuracy_score"]) and "eval/loss" not in row
    assert record.experiment_name == "bt"  # defaults to the preset name


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"fraction": 0.0}, "fraction must be in"),
        ({"fraction": 1.5}, "fraction must be in"),
        ({"seed": 1.5}, "seed must be an integer"),
        ({"run_state": "done"}, "run_state must be one of"),
        ({"egid": ""}, "egid must be a non-empty string"),
        ({"metrics": {"eval_accuracy": "high"}}, "must be a number"),
    ],
)
def test_invalid_records_are_refused_by_the_writer(change, message):
    fields = {
        "run_name": "r",
        "egid": "e",
        "experiment": "bt",
        "seed": 1,
        "fraction": 1.0,
        "run_state": "finished",
    }
    with pytest.raises(ValueError, match=message):
        RunRecord(**{**fields, **change})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not a readable JSON run record"),
        ("[1, 2]", "must be a JSON object"),
        (json.dumps({"schema": "other/1"}), "schema must be"),
        (json.dumps({"schema": SCHEMA, "run_name": "r"}), "missing field"),
        (
            json.dumps(
                {
                    "schema": SCHEMA,
                    "run_name": "r",
                    "egid": "e",
                    "experiment": "bt",
                    "seed": 1,
                    "fraction": 2,
                    "run_state": "finished",
                }
            ),
            "fraction must be in",
        ),
    ],
)
def test_bad_record_files_name_the_file(tmp_path, text, message):
    path = tmp_path / RECORD_FILE
    path.write_text(text)
    with pytest.raises(AnalysisError, match=message) as info:
        read_run_record(path)
    assert str(path) in str(info.value)


def test_find_run_records_walks_the_tree_in_order(tmp_path):
    for name in ("b/2", "a/1", "a/3/deep"):
        (tmp_path / name).mkdir(parents=True)
        (tmp_path / name / RECORD_FILE).write_text("{}")
    assert [p.parent.relative_to(tmp_path).as_posix() for p in find_run_records(tmp_path)] == [
        "a/1",
        "a/3/deep",
        "b/2",
    ]
    with pytest.raises(AnalysisError, match="does not exist"):
        find_run_records(tmp_path / "missing")


def test_fields_changed_after_construction_are_checked_on_write(tmp_path):
    record = RunRecord(run_name="r", egid="e", experiment="bt", seed=1, fraction=1.0, run_state="running")
    record.run_state = "finished"
    record.metrics = {"eval/accuracy": 0.7}
    assert read_run_record(write_run_record(tmp_path, record)).metrics == {"eval_accuracy": 0.7}
    record.run_state = "done"
    with pytest.raises(ValueError, match="run_state must be one of"):
        write_run_record(tmp_path, record)

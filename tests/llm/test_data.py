"""Loading and parsing MultiPref (local parquet / JSONL, hub failure), schema errors, test-label checks."""

from __future__ import annotations

import json

import numpy as np
import pytest

from responserank.errors import PipelineError
from responserank.llm import data
from responserank.llm.fixtures import make_multipref_fixture, write_multipref_fixture, write_table
from responserank.llm.pipeline import Seeds, prepare_data
from responserank.llm.train import dry_run

CLOSED_PORT = "http://127.0.0.1:9"  # nothing listens: connection refused at once


@pytest.fixture(scope="module")
def frames():
    return make_multipref_fixture(num_comparisons=60, seed=3)


def test_parquet_and_jsonl_parse_identically(tmp_path, frames):
    comparisons, binarized = frames
    parsed = {}
    for fmt in ("parquet", "jsonl"):
        write_multipref_fixture(tmp_path / fmt, fmt, comparisons=comparisons, binarized=binarized)
        table, labels = data.load_tables(tmp_path / fmt, "unused", "default", "human_overall_binarized")
        parsed[fmt] = (data.parse_comparisons(table), data.parse_binarized(labels))
    (a, la), (b, lb) = parsed["parquet"], parsed["jsonl"]
    assert a.comparisons.equals(b.comparisons)
    assert a.annotations.equals(b.annotations)
    assert la.equals(lb)
    assert len(a.comparisons) == 60
    expected = sum(
        len(x) + len(y)
        for x, y in zip(
            comparisons.normal_worker_annotations, comparisons.expert_worker_annotations, strict=True
        )
    )
    assert len(a.annotations) == expected
    # the first fixture comparison has one annotation, the second none
    assert a.annotations.comparison.value_counts().get(0) == 1 and 1 not in set(a.annotations.comparison)


def test_single_file_layout(tmp_path, frames):
    comparisons, binarized = frames
    write_table(comparisons, tmp_path / "default.jsonl", "jsonl")
    write_table(binarized, tmp_path / "human_overall_binarized.parquet")
    table, labels = data.load_tables(tmp_path, "unused", "default", "human_overall_binarized")
    assert table.num_rows == labels.num_rows == 60


def test_missing_local_files_and_folder(tmp_path):
    with pytest.raises(PipelineError, match="is not a directory"):
        data.load_tables(tmp_path / "nope", "x", "default", None)
    with pytest.raises(PipelineError, match=r"no files for MultiPref config 'default'"):
        data.load_tables(tmp_path, "x", "default", None)


def test_missing_columns_are_named(tmp_path, frames):
    comparisons, binarized = frames
    write_multipref_fixture(
        tmp_path, "parquet", comparisons=comparisons.drop(columns=["completion_b"]), binarized=binarized
    )
    table, _ = data.load_tables(tmp_path, "x", "default", None)
    with pytest.raises(PipelineError, match=r"lacks column\(s\) \['completion_b'\]"):
        data.parse_comparisons(table)
    write_multipref_fixture(
        tmp_path, "parquet", comparisons=comparisons, binarized=binarized.drop(columns=["tie_is_common"])
    )
    _, labels = data.load_tables(tmp_path, "x", "default", "human_overall_binarized")
    with pytest.raises(PipelineError, match=r"binarized label table.*\['tie_is_common'\]"):
        data.parse_binarized(labels)


def test_missing_annotation_field_and_unknown_label(tmp_path, frames):
    comparisons, binarized = frames
    broken = comparisons.copy()
    broken["expert_worker_annotations"] = [
        [{k: v for k, v in a.items() if k != "evaluator"} for a in lst]
        for lst in broken.expert_worker_annotations
    ]
    write_multipref_fixture(tmp_path / "a", "jsonl", comparisons=broken, binarized=binarized)
    with pytest.raises(PipelineError, match=r"expert_worker_annotations.*lack field\(s\) \['evaluator'\]"):
        data.parse_comparisons(data.load_tables(tmp_path / "a", "x", "default", None)[0])
    relabelled = comparisons.copy()
    relabelled["normal_worker_annotations"] = [
        [{**a, "overall_pref": "A-is-better"} for a in lst] for lst in relabelled.normal_worker_annotations
    ]
    write_multipref_fixture(tmp_path / "b", "parquet", comparisons=relabelled, binarized=binarized)
    with pytest.raises(PipelineError, match=r"unknown overall_pref label\(s\) \['A-is-better'\]"):
        data.parse_comparisons(data.load_tables(tmp_path / "b", "x", "default", None)[0])


def test_duplicate_ids_rejected(tmp_path, frames):
    comparisons, binarized = frames
    doubled = comparisons.copy()
    doubled.loc[1, "comparison_id"] = doubled.loc[0, "comparison_id"]
    write_multipref_fixture(tmp_path, "parquet", comparisons=doubled, binarized=binarized)
    with pytest.raises(PipelineError, match="must be unique"):
        data.parse_comparisons(data.load_tables(tmp_path, "x", "default", None)[0])


def _experiment(preset_overrides: dict | None = None) -> dict:
    from responserank.llm.config import compose_config, to_container

    return to_container(compose_config(["experiment=rr_agree"]))["experiment"] | (preset_overrides or {})


def test_binarized_label_must_match_a_side(tmp_path, frames, tokenizer):
    comparisons, binarized = frames
    experiment = _experiment(
        {"dataset": {**_experiment()["dataset"], "test_size": 20, "path": str(tmp_path)}}
    )
    wrong = binarized.copy()
    wrong["chosen"] = [[m[0], {"role": "assistant", "content": "something else"}] for m in wrong.chosen]
    write_multipref_fixture(tmp_path, "parquet", comparisons=comparisons, binarized=wrong)
    with pytest.raises(PipelineError, match="equals neither conversation A nor B"):
        prepare_data(experiment, Seeds.from_config(1), tokenizer)
    write_multipref_fixture(tmp_path, "parquet", comparisons=comparisons, binarized=binarized.iloc[:5])
    with pytest.raises(PipelineError, match="have no row in the binarized labels"):
        prepare_data(experiment, Seeds.from_config(1), tokenizer)


def test_response_time_preset_without_time_spent(tmp_path, frames, tokenizer):
    comparisons, binarized = frames
    no_time = comparisons.copy()
    for column in ("normal_worker_annotations", "expert_worker_annotations"):
        no_time[column] = [
            [{k: v for k, v in a.items() if k != "time_spent"} for a in lst] for lst in no_time[column]
        ]
    write_multipref_fixture(tmp_path, "jsonl", comparisons=no_time, binarized=binarized)
    from responserank.llm.config import compose_config, to_container

    config = to_container(
        compose_config(
            [
                "experiment=rr_rt_annostrat_spread2",
                f"experiment.dataset.path={tmp_path}",
                "experiment.dataset.test_size=10",
            ]
        )
    )
    with pytest.raises(PipelineError, match="real_rt needs the annotations' time_spent"):
        dry_run(config, tokenizer=tokenizer)
    config["experiment"]["train_processor"] = "agreement"  # other signals do not need times
    assert "train examples" in dry_run(config, tokenizer=tokenizer)


def test_unreachable_hub_fails_fast_with_local_hint(monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", CLOSED_PORT)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    assert not data.hub_reachable(timeout=1.0)
    with pytest.raises(
        PipelineError,
        match=r"cannot reach the Hugging Face hub to load 'allenai/multipref'.*experiment\.dataset\.path=DIR",
    ):
        data.load_tables(None, "allenai/multipref", "default", "human_overall_binarized")


def test_unreachable_tokenizer_names_the_option(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_ENDPOINT", CLOSED_PORT)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))  # an empty cache
    with pytest.raises(
        PipelineError, match=r"cannot load tokenizer 'someone/no-such-model'.*experiment\.tokenizer_name=DIR"
    ):
        data.load_tokenizer("someone/no-such-model")
    with pytest.raises(PipelineError, match=r"tokenizer directory .* does not exist"):
        data.load_tokenizer(str(tmp_path / "missing"))


def test_tokenizer_without_chat_template(tmp_path, multipref_dir):
    import shutil

    shutil.copytree(multipref_dir / "tokenizer", tmp_path / "tok")
    (tmp_path / "tok" / "chat_template.jinja").unlink()
    config = json.loads((tmp_path / "tok" / "tokenizer_config.json").read_text())
    config.pop("chat_template", None)
    (tmp_path / "tok" / "tokenizer_config.json").write_text(json.dumps(config))
    with pytest.raises(PipelineError, match="has no chat template"):
        data.load_tokenizer(str(tmp_path / "tok"))


def test_tokenize_sides_uses_the_chat_template(tokenizer):
    ids = data.tokenize_sides(tokenizer, ["kaka lolo"], ["mimi"])[0]
    text = tokenizer.convert_ids_to_tokens(ids.tolist())
    assert text == ["<s>", "<|user|>", "kaka", "lolo", "</s>", "<|assistant|>", "mimi", "</s>"]
    assert ids.dtype == np.int32


def test_split_is_seeded_and_sized():
    ids = np.array([f"c{i}" for i in range(50)])
    train, test = data.split_ids(ids, 10, np.random.default_rng(0))
    assert len(test) == 10 and len(train) == 40 and not set(train) & set(test)
    again = data.split_ids(ids[::-1], 10, np.random.default_rng(0))  # input order does not matter
    np.testing.assert_array_equal(test, again[1])
    with pytest.raises(PipelineError, match="leaves no training comparisons"):
        data.split_ids(ids, 50, np.random.default_rng(0))


def test_hub_snapshot_folder_is_read_with_datasets(tmp_path, frames, monkeypatch):
    """A downloaded copy of the hub repository (README with its configs) goes through datasets.load_dataset."""
    datasets = pytest.importorskip("datasets")
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "cache")
    comparisons, binarized = frames
    write_table(comparisons, tmp_path / "repo" / "original" / "train-00000-of-00001.parquet")
    write_table(binarized, tmp_path / "repo" / "binarized" / "train-00000-of-00001.parquet")
    (tmp_path / "repo" / "README.md").write_text(
        "---\nconfigs:\n- config_name: default\n  data_files:\n  - split: train\n    path: original/train-*\n"
        "- config_name: human_overall_binarized\n  data_files:\n  - split: train\n    path: binarized/train-*\n---\n"
    )
    table, labels = data.load_tables(tmp_path / "repo", "unused", "default", "human_overall_binarized")
    parsed = data.parse_comparisons(table)
    assert len(parsed.comparisons) == 60 and labels.num_rows == 60
    write_multipref_fixture(tmp_path / "plain", "parquet", comparisons=comparisons, binarized=binarized)
    plain = data.parse_comparisons(data.load_tables(tmp_path / "plain", "unused", "default", None)[0])
    assert parsed.annotations.equals(plain.annotations)

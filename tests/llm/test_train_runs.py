"""End to end: ``python -m responserank.llm.train`` on the tiny presets at reduced size, its run records,
``collect`` + ``generate`` on them, two processes under ``accelerate launch``, interruption and bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch

from responserank.llm.analysis.cli import main as analysis_main
from responserank.llm.analysis.run_store import find_run_records, read_run_record
from responserank.llm.train import main

REDUCED = [
    "experiment.epochs=1",
    "experiment.dataset.fixture.num_comparisons=300",
    "experiment.dataset.fixture.rewardbench_per_subset=2",
    "experiment.dataset.test_size=60",
]


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("train_runs")
    return root


def run(store: Path, *overrides: str, name: str | None = None) -> int:
    folder = [f"hydra.run.dir={store / 'runs' / name}"] if name else []
    return main(
        [*overrides, *REDUCED, f"runs_dir={store / 'runs'}", f"fixtures_dir={store / 'fixtures'}", *folder]
    )


@pytest.fixture(scope="module")
def demo(store) -> dict[str, dict]:
    """The two tiny presets at reduced size, seed 40 (each writes its record)."""
    records = {}
    for preset in ("bt_tiny", "rr_agree_tiny"):
        assert run(store, f"experiment={preset}", "seed=40", name=preset) == 0
        records[preset] = json.loads((store / "runs" / preset / "run_record.json").read_text())
    return records


def test_the_tiny_demo_trains_and_records_everything(demo):
    for preset, record in demo.items():
        assert record["schema"] == "responserank.llm.run/1" and record["run_state"] == "finished"
        assert record["experiment"] == preset and record["seed"] == 40 and record["fraction"] == 1.0
        metrics = record["metrics"]
        # learnable fixture: clearly above chance after one epoch even at this size
        assert metrics["eval_accuracy"] > 0.6, (preset, metrics["eval_accuracy"])
        assert metrics["eval_accuracy"] == metrics["epoch1/eval/accuracy"]  # final = last epoch's evaluation
        assert metrics["eval/accuracy_tie_credit"] == 0.5
        assert 0 <= metrics["eval/rewardbench_v1/overall/accuracy_score"] <= 1
        assert 0 <= metrics["eval/rewardbench_v2/overall/accuracy_score"] <= 1
        assert metrics["train/pairs"] == record["statistics"]["train_examples"]
        assert metrics["train/pairs_per_second"] > 0 and metrics["train/peak_memory_mib"] > 0
        assert record["statistics"]["data/max_length_dropped"] >= 0
        details = record["details"]
        assert details["device"].startswith("cpu") and details["wall_time_s"] > 0
        assert [round(e["epoch"]) for e in details["epochs"]] == [1]
        assert record["config"]["experiment"]["name"] == preset
    assert demo["rr_agree_tiny"]["details"]["loss"] == "responserank"
    assert demo["bt_tiny"]["details"]["loss"] == "bradley_terry"
    assert demo["rr_agree_tiny"]["statistics"]["avg_fragment_size"] > 1  # packing/avg_fragment_size


def test_records_collect_and_generate_end_to_end(demo, store, tmp_path):
    registry = tmp_path / "registry.yaml"
    registry.write_text(
        "experiments:\n"
        f"  bt: {{egid: {demo['bt_tiny']['egid']}, display_name: BT}}\n"
        f"  rr_agree: {{egid: {demo['rr_agree_tiny']['egid']}, display_name: RR-Agree}}\n"
    )
    cache = tmp_path / "cache"
    argv = ["collect", str(cache), "--runs-dir", str(store / "runs"), "--registry", str(registry)]
    assert analysis_main(argv) == 0
    runs = pd.read_csv(cache / "runs.csv")
    assert sorted(runs["preset"]) == ["bt_tiny", "rr_agree_tiny"]
    row = runs.set_index("preset").loc["rr_agree_tiny"]
    assert row["eval_accuracy"] == pytest.approx(demo["rr_agree_tiny"]["metrics"]["eval_accuracy"])
    assert analysis_main(["generate", str(cache), str(tmp_path / "figures")]) == 0
    assert (tmp_path / "figures" / "summary.md").is_file()


def test_a_finished_run_is_not_run_again(demo, store, caplog):
    caplog.set_level("INFO")
    assert run(store, "experiment=bt_tiny", "seed=40", name="again") == 0
    assert "skipped: run" in caplog.text
    assert not (store / "runs" / "again" / "run_record.json").exists()


def test_ctrl_c_marks_the_record_stopped(store, monkeypatch):
    from responserank.llm import trainer as trainer_module

    def interrupt(self, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(trainer_module.RewardTrainer, "training_step", interrupt)
    assert run(store, "experiment=bt_tiny", "seed=41", name="stopped") == 130
    record = read_run_record(store / "runs" / "stopped" / "run_record.json")
    assert record.run_state == "stopped" and "interrupted" in record.details["message"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["experiment.model_name=./no/such/model", "experiment.random_init=null"], "no such model folder"),
        (["experiment.device=cuda"], "no CUDA GPU is available"),
        (["experiment.bf16=true"], "needs a CUDA GPU with bfloat16 support"),
        (["experiment.lora.r=-1"], "experiment.lora.r must be an integer >= 0"),
        (["experiment.gguf_file=model.gguf", "experiment.random_init=null"], "experiment.gguf_file"),
    ],
)
def test_bad_input_is_one_line_and_writes_no_record(store, capsys, overrides, message):
    if message == "no CUDA GPU is available" and torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    before = set(find_run_records(store / "runs")) if (store / "runs").is_dir() else set()
    assert run(store, "experiment=rr_agree_tiny", "seed=45", *overrides) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
    after = set(find_run_records(store / "runs")) if (store / "runs").is_dir() else set()
    assert after == before


def test_rewardbench_copy_with_missing_columns_is_one_line(store, tmp_path, capsys):
    frame = pd.DataFrame({"prompt": ["a"], "chosen": ["b"], "rejected": ["c"], "id": [1]})  # no subset
    frame.to_parquet(tmp_path / "filtered.parquet")
    code = run(store, "experiment=bt_tiny", "seed=46", f"experiment.rewardbench.v1_path={tmp_path}")
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1 and "subset" in err[0], err


def test_oversized_partitions_are_split_counted_and_warned(store, caplog, tmp_path):
    caplog.set_level("WARNING")
    overrides = [
        "experiment=rr_agree_tiny",
        "seed=47",
        "experiment.stratifier.name=global",
        "experiment.train_partitioner.name=noop",
        "experiment.allow_ties=true",
        "experiment.eval_on_rewardbench_v1=false",
        "experiment.eval_on_rewardbench_v2=false",
        "experiment.max_length=40",
    ]
    assert run(store, *overrides, name="oversized") == 0
    record = read_run_record(store / "runs" / "oversized" / "run_record.json")
    assert record.statistics["train/partitions_larger_than_batch"] == 1
    assert record.statistics["data/max_length_dropped"] > 0  # sequences over max_length: dropped, counted
    assert "larger than the batch" in caplog.text


def test_dry_run_still_prints_the_summary_without_a_model(store, capsys):
    assert run(store, "experiment=rr_agree_tiny", "dry_run=true") == 0
    out = capsys.readouterr().out
    assert (
        "dry run (no model is loaded)" in out
        and "egid                                 dry-rr_agree_tiny" in out
    )


def test_two_processes_get_disjoint_whole_batches(store, tmp_path):
    """``accelerate launch`` with 2 CPU processes (gloo): each rank trains on every other packed batch."""
    pytest.importorskip("accelerate")
    log = tmp_path / "batches"
    env = {**os.environ, "RR_DDP_BATCH_LOG": str(log), "OMP_NUM_THREADS": "1"}
    env["PYTHONPATH"] = os.pathsep.join(
        [str(Path(__file__).resolve().parents[2] / "src"), env.get("PYTHONPATH", "")]
    )
    command = [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        "--multi_gpu",  # torchrun launcher; without a GPU the processes use the CPU and gloo
        "--num_processes",
        "2",
        "--num_machines",
        "1",
        "--mixed_precision",
        "no",
        "--dynamo_backend",
        "no",
        str(Path(__file__).with_name("ddp_worker.py")),
        "experiment=rr_agree_tiny",
        "seed=48",
        *REDUCED,
        "experiment.eval_on_rewardbench_v1=false",
        "experiment.eval_on_rewardbench_v2=false",
        f"runs_dir={store / 'runs'}",
        f"fixtures_dir={store / 'fixtures'}",
        f"hydra.run.dir={store / 'runs' / 'ddp'}",
    ]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    logs = [json.loads(Path(f"{log}.{rank}.json").read_text()) for rank in (0, 1)]
    assert [entry["world_size"] for entry in logs] == [2, 2]
    (epoch,) = logs[0]["epochs"]
    assert logs[1]["epochs"] == [epoch]  # both ranks build the same packed batches
    assert len(epoch) % 2 == 0  # no padding batch needed for this size (accelerate would repeat one)
    record = read_run_record(store / "runs" / "ddp" / "run_record.json")
    partition = _train_partitions(record)
    for rank, entry in enumerate(logs):
        mine = epoch[rank::2]  # batch i goes to rank i mod 2, whole
        assert entry["batches"] == [[partition[i] for i in batch] for batch in mine]
    rows = [set(i for batch in epoch[rank::2] for i in batch) for rank in (0, 1)]
    assert not rows[0] & rows[1] and len(rows[0] | rows[1]) == record.statistics["train_examples"]
    assert record.details["num_processes"] == 2
    assert record.metrics["train/pairs"] == record.statistics["train_examples"]


def _train_partitions(record) -> list[int]:
    """The train partition ids of a run, recomputed from its config (same seed → same data)."""
    from responserank.llm.pipeline import Seeds, prepare_data
    from responserank.llm.train import load_run_tokenizer, with_local_inputs

    config = with_local_inputs(record.config)
    experiment = config["experiment"]
    prepared = prepare_data(experiment, Seeds.from_config(config["seed"]), load_run_tokenizer(experiment))
    return prepared.train.partition_id.tolist()

"""The runner CLI: mini runs of every config, output layout, reproducibility, resume, process pool, bad input."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from helpers import REPO_ROOT

from responserank.synthetic.config import LEARNER_ORDER, available_options
from responserank.synthetic.experiment_runner import main

MINI = ["num_trials=2", "dataset_sizes=[0.5,1.0]", "show_progress=false", "execution_backend.num_processes=1"]
CONFIGS = [
    "deterministic_all",
    "stochastic",
    "drift_diffusion",
    "deterministic_all_no_variability",
    "stochastic_no_variability",
    "drift_diffusion_no_variability",
]
DISPLAY = {
    "deterministic_all": "Deterministic",
    "stochastic": "Stochastic",
    "drift_diffusion": "Drift Diffusion",
    "deterministic_all_no_variability": "Deterministic No Variability",
    "stochastic_no_variability": "Stochastic No Variability",
    "drift_diffusion_no_variability": "Drift Diffusion No Variability",
}


def run(directory: Path, *overrides: str) -> Path:
    """Run the CLI in this process (same entry point as ``python -m``) into ``directory``."""
    main([*overrides, f"hydra.run.dir={directory}"])
    return directory


def results(directory: Path) -> dict[str, dict]:
    """Every results file of a run, keyed by its path relative to the run folder."""
    return {
        str(path.relative_to(directory)): json.loads(path.read_text())
        for path in sorted(directory.glob("trial_*/*_results.json"))
    }


def run_subprocess(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "responserank.synthetic.experiment_runner", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_the_six_configs_exist():
    # plus the robustness config of the DDM study (docs/synthetic.md, "DDM learner and RT outliers")
    assert available_options("dataset") == sorted([*CONFIGS, "drift_diffusion_rt_outliers"])
    assert set(available_options("learner")) == set(LEARNER_ORDER)


@pytest.mark.parametrize("config", CONFIGS)
def test_mini_run_of_every_config(tmp_path, config):
    directory = run(tmp_path / "run", f"dataset={config}", *MINI)
    metadata = json.loads((directory / "metadata.json").read_text())
    assert metadata["dataset"] == DISPLAY[config]
    assert metadata["num_trials"] == 2
    assert metadata["learners"] == list(LEARNER_ORDER)
    assert metadata["dataset_sizes"] == [0.5, 1.0]
    assert set(metadata) == {"dataset", "timestamp", "num_trials", "learners", "dataset_sizes"}
    assert not (directory / "ABORTED").exists()
    assert (directory / "config" / "dataset.yaml").is_file() and (
        directory / "config" / "learners.yaml"
    ).is_file()
    assert sorted(p.name for p in directory.glob("trial_*")) == ["trial_1", "trial_2"]
    assert not list(directory.glob(".trial_*"))
    for trial in (1, 2):
        folder = directory / f"trial_{trial}"
        names = {p.name for p in folder.glob("*_results.json")}
        assert names == {
            f"{learner}_frac_{pct}_results.json" for learner in LEARNER_ORDER for pct in (50, 100)
        }
        train = pd.read_csv(folder / f"dataset={config}" / "train.csv")
        test = pd.read_csv(folder / f"dataset={config}" / "test.csv")
        assert len(train) == 50 and len(test) == 200
        assert list(train.columns[-5:]) == ["u1", "u2", "y", "t", "partition_id"]
        payload = json.loads((folder / "rr_frac_50_results.json").read_text())
        summary = payload["summary_metrics"]
        assert (
            summary["choice_accuracy"]["type"] == "scalar"
            and summary["choice_accuracy"]["dataset_metric"] is False
        )
        assert 0.0 <= summary["choice_accuracy"]["value"] <= 1.0
        assert summary["num_train_pairs"]["value"] == 25
        assert summary["test_confusion_matrix"]["type"] == "confusion_matrix"
        assert sum(map(sum, summary["test_confusion_matrix"]["value"])) == 200
        assert summary["test_abs_logit_diff_rt_kendall_tau"]["value"]["range"] == [0, 1]
        assert payload["epoch_metrics"] == []


def test_the_real_command_line_writes_the_spec_layout(tmp_path, monkeypatch):
    """``python -m …`` with the default Hydra run directory: outputs/experiment_runner/<date>/<time>-configv2+…"""
    completed = subprocess.run(
        [sys.executable, "-m", "responserank.synthetic.experiment_runner", "dataset=stochastic", *MINI],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert completed.returncode == 0, completed.stderr
    (directory,) = (tmp_path / "outputs" / "experiment_runner").glob("*/*")
    assert directory.name.endswith("-configv2+dataset=stochastic,dataset_sizes=[0.5,1.0],num_trials=2")
    assert len(list(directory.glob("trial_*/*_results.json"))) == 2 * len(LEARNER_ORDER) * 2
    # resume=<that folder> typed verbatim (its name holds '=', ',' and '[…]') continues it in place.
    complete = results(directory)
    shutil.rmtree(directory / "trial_2")
    (directory / "ABORTED").write_text("")
    monkeypatch.chdir(tmp_path)
    main(["dataset=stochastic", *MINI, f"resume={directory.relative_to(tmp_path)}"])
    assert [directory] == list((tmp_path / "outputs" / "experiment_runner").glob("*/*"))
    assert results(directory) == complete and not (directory / "ABORTED").exists()


def test_same_seed_same_numbers_and_other_seed_other_numbers(tmp_path):
    args = ["dataset=drift_diffusion", *MINI]
    first = results(run(tmp_path / "a", *args))
    assert first == results(run(tmp_path / "b", *args))
    other = results(run(tmp_path / "c", *args, "random_seed=43"))
    key = "trial_1/rr_frac_100_results.json"
    assert (
        other[key]["summary_metrics"]["choice_accuracy"] != first[key]["summary_metrics"]["choice_accuracy"]
    )


def test_process_pool_gives_the_numbers_of_an_inline_run(tmp_path):
    args = [
        "dataset=stochastic",
        "num_trials=2",
        "dataset_sizes=[1.0]",
        "trials_per_batch=1",
        "show_progress=false",
    ]
    inline = results(run(tmp_path / "inline", *args, "execution_backend.num_processes=1"))
    pooled = results(run(tmp_path / "pool", *args, "execution_backend.num_processes=2"))
    assert inline == pooled


def test_resume_after_an_interrupt_equals_an_uninterrupted_run(tmp_path):
    args = [
        "dataset=stochastic",
        "num_trials=12",
        "dataset_sizes=[0.5,1.0]",
        "trials_per_batch=1",
        "show_progress=false",
    ]
    directory = tmp_path / "interrupted"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "responserank.synthetic.experiment_runner",
            *args,
            f"hydra.run.dir={directory}",
            "execution_backend.num_processes=1",
        ],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not (directory / "trial_1").exists() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    finished = len(list(directory.glob("trial_*")))
    if finished < 6:  # interrupted half way (the normal case)
        assert process.returncode == 130
        assert (directory / "ABORTED").exists()
        assert stderr.strip().splitlines()[-1].startswith("experiment_runner: error: interrupted")
        assert "Traceback" not in stderr
    run(directory, *args, f"resume={directory}")
    assert not (directory / "ABORTED").exists()
    assert results(directory) == results(run(tmp_path / "uninterrupted", *args))


def test_resume_skips_finished_trials_and_removes_partial_folders(tmp_path):
    args = [
        "dataset=deterministic_all",
        "num_trials=3",
        "dataset_sizes=[1.0]",
        "trials_per_batch=2",
        *MINI[2:],
    ]
    reference = run(tmp_path / "reference", *args)
    directory = tmp_path / "broken"
    shutil.copytree(reference, directory)
    finished = (directory / "trial_1" / "bt_frac_100_results.json").stat().st_mtime_ns
    shutil.rmtree(directory / "trial_2")
    shutil.rmtree(directory / "trial_3")
    (directory / ".trial_3.partial-xyz").mkdir()
    (directory / "ABORTED").write_text("")
    run(directory, *args, f"resume={directory}")
    assert (directory / "trial_1" / "bt_frac_100_results.json").stat().st_mtime_ns == finished
    assert not list(directory.glob(".trial_*")) and not (directory / "ABORTED").exists()
    assert results(directory) == results(reference)


def test_resume_refuses_a_directory_of_another_config(tmp_path, capsys):
    directory = run(tmp_path / "run", "dataset=stochastic", "num_trials=1", "dataset_sizes=[1.0]", *MINI[2:])
    with pytest.raises(SystemExit) as exit_info:
        main(
            [
                "dataset=stochastic_no_variability",
                "num_trials=2",
                "dataset_sizes=[1.0]",
                f"resume={directory}",
            ]
        )
    assert exit_info.value.code == 2
    message = capsys.readouterr().err.strip()
    assert len(message.splitlines()) == 1
    assert "cannot resume" in message
    assert (
        "dataset.partition_rt_variability" in message
        and "num_trials" in message
        and "dataset.name" in message
    )


def test_a_finished_folder_is_not_overwritten_without_resume(tmp_path, capsys):
    directory = run(tmp_path / "run", "dataset=stochastic", "num_trials=1", "dataset_sizes=[1.0]", *MINI[2:])
    with pytest.raises(SystemExit):
        run(directory, "dataset=stochastic", "num_trials=1", "dataset_sizes=[1.0]", *MINI[2:])
    assert "already holds an experiment" in capsys.readouterr().err


def test_epoch_metrics_on_request_and_per_learner_overrides(tmp_path):
    directory = run(
        tmp_path / "run",
        "dataset=stochastic",
        "num_trials=1",
        "dataset_sizes=[1.0]",
        "learners.bt.num_epochs=7",
        "log_epoch_metrics=true",
        *MINI[2:],
    )
    bt = json.loads((directory / "trial_1" / "bt_frac_100_results.json").read_text())
    rr = json.loads((directory / "trial_1" / "rr_frac_100_results.json").read_text())
    assert len(bt["epoch_metrics"]) == 7 and len(rr["epoch_metrics"]) == 200
    assert set(rr["epoch_metrics"][0]) == {
        "responserankloss_train",
        "test_choice_accuracy",
        "test_pearson_distance_correlation",
    }
    assert bt["summary_metrics"]["best_step"]["value"] <= 6
    assert (
        yaml.safe_load((directory / "config" / "learners.yaml").read_text())["learners"]["bt"]["num_epochs"]
        == 7
    )


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        (
            "dataset=stochastc",
            "unknown dataset 'stochastc'; valid datasets: deterministic_all, deterministic_all_no_variability",
        ),
        ("learners.foo.num_epochs=3", "unknown learner 'foo'"),
        ("dataset_sizes=[0,0.5]", "dataset_sizes must lie in (0, 1]"),
        ("dataset_sizes=[0.5,1.5]", "dataset_sizes must lie in (0, 1]"),
        ("num_trials=0", "num_trials must be an integer >= 1"),
        ("num_trials=abc", "num_trials must be an integer >= 1"),
        ("learners.bt.num_epoch=3", "learners.bt.num_epoch"),
        ("learners.rr.loss=huber", "learners.rr.loss='huber' is not valid"),
        ("resume=does/not/exist", "resume directory does/not/exist does not exist"),
        ("dataset_sizes=[0.01]", "keeps only 0 of 50 train pairs"),
    ],
)
def test_bad_input_is_one_line_before_any_work(tmp_path, capsys, override, expected):
    with pytest.raises(SystemExit) as exit_info:
        main([override, f"hydra.run.dir={tmp_path / 'run'}"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("experiment_runner: error: ")
    assert expected in err
    assert not (tmp_path / "run").exists()


def test_bad_input_on_the_real_command_line(tmp_path):
    completed = run_subprocess("dataset=nope", f"hydra.run.dir={tmp_path / 'run'}")
    assert completed.returncode == 2
    assert completed.stderr.count("\n") == 1 and "Traceback" not in completed.stderr
    assert "valid datasets: deterministic_all" in completed.stderr
    assert not (tmp_path / "run").exists()


def test_run_full_mini_script_lists_the_six_configs():
    script = (REPO_ROOT / "run_full_mini.sh").read_text()
    assert "dataset=$dataset num_trials=2 dataset_sizes=[0.5,1.0]" in script
    for config in CONFIGS:
        assert config in script
    assert os.access(REPO_ROOT / "run_full_mini.sh", os.X_OK)

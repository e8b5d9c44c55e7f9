"""Configs are package data: found without the repository, extendable with a user's own ``--config-dir``."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
import yaml
from helpers import REPO_ROOT

from responserank.errors import ConfigError, PipelineError
from responserank.llm import train
from responserank.llm.config import available_presets, compose_config
from responserank.resources import conf_dir, llm_registry_path, search_dirs, split_config_dir
from responserank.synthetic import experiment_runner
from responserank.synthetic.config import available_options


def test_configs_live_in_the_package_and_the_repository_link_points_there():
    shipped = conf_dir()
    assert shipped == Path(__file__).resolve().parents[2] / "src" / "responserank" / "conf"
    assert (REPO_ROOT / "conf").resolve() == shipped.resolve()
    assert (conf_dir("synthetic") / "config.yaml").is_file()
    assert (conf_dir("llm") / "config.yaml").is_file()
    assert llm_registry_path().is_file()


def test_every_config_file_is_declared_as_package_data():
    """The wheel carries what ``pyproject.toml`` declares: every file under conf/ must match its patterns."""
    package_data = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]["responserank"]
    assert "conf/**/*.yaml" in package_data
    files = [p for p in conf_dir().rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    assert files and all(p.suffix == ".yaml" for p in files), [p for p in files if p.suffix != ".yaml"]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["a=1"], (None, ["a=1"])),
        (["--config-dir", "my", "a=1"], ("my", ["a=1"])),
        (["a=1", "--config-dir=my"], ("my", ["a=1"])),
        (["-cd", "x", "-cd", "y"], ("y", [])),
    ],
)
def test_config_dir_option_is_taken_out(args, expected):
    assert split_config_dir(args) == expected


def test_config_dir_needs_a_value_and_an_existing_folder(tmp_path):
    with pytest.raises(ValueError, match="--config-dir needs a folder"):
        split_config_dir(["--config-dir"])
    with pytest.raises(FileNotFoundError, match="does not exist"):
        search_dirs("synthetic", tmp_path / "missing")


@pytest.fixture
def user_synthetic_dir(tmp_path) -> Path:
    """A user's folder with one extra dataset config (a small copy of ``stochastic``)."""
    dataset = yaml.safe_load((conf_dir("synthetic") / "dataset" / "stochastic.yaml").read_text())
    dataset.update(name="My Data", num_train_samples=20, num_test_samples=30)
    folder = tmp_path / "my_conf"
    (folder / "dataset").mkdir(parents=True)
    (folder / "dataset" / "my_data.yaml").write_text(yaml.safe_dump(dataset))
    return folder


def test_synthetic_runner_uses_a_users_config_dir(user_synthetic_dir, tmp_path):
    assert "my_data" not in available_options("dataset")
    assert "my_data" in available_options("dataset", user_synthetic_dir)
    with pytest.raises(ConfigError, match="unknown dataset 'my_data'"):
        experiment_runner.compose_config(["dataset=my_data"])
    config, _ = experiment_runner.compose_config(["dataset=my_data"], str(user_synthetic_dir))
    assert (config.dataset.name, config.dataset.num_train_samples) == ("My Data", 20)

    run_dir = tmp_path / "run"
    experiment_runner.main(
        [
            "--config-dir",
            str(user_synthetic_dir),
            "dataset=my_data",
            "num_trials=1",
            "dataset_sizes=[1.0]",
            "show_progress=false",
            "execution_backend.num_processes=1",
            f"hydra.run.dir={run_dir}",
        ]
    )
    assert sorted(p.name for p in run_dir.glob("trial_*/*_results.json"))
    assert yaml.safe_load((run_dir / "config" / "dataset.yaml").read_text())["dataset"]["name"] == "My Data"


def test_synthetic_runner_refuses_a_missing_config_dir(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        experiment_runner.main(["--config-dir", str(tmp_path / "nope"), "dataset=stochastic"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "does not exist" in err


def test_llm_presets_from_a_users_config_dir(tmp_path, capsys):
    folder = tmp_path / "presets"
    (folder / "experiment").mkdir(parents=True)
    (folder / "experiment" / "my_bt.yaml").write_text(
        "defaults:\n  - _base\n  - _self_\nname: my_bt\nbaseline: true\nuse_rr_loss: false\nbatch_size: 4\n"
    )
    assert "my_bt" not in available_presets()
    assert "my_bt" in available_presets(folder)
    with pytest.raises(PipelineError, match="unknown preset"):
        compose_config(["experiment=my_bt"])
    cfg = compose_config(["experiment=my_bt"], folder)
    assert (cfg.experiment.name, cfg.experiment.batch_size) == ("my_bt", 4)
    assert cfg.experiment.learning_rate == compose_config(["experiment=bt"]).experiment.learning_rate

    assert train.main(["--config-dir", str(folder), "experiment=my_bt", "--cfg"]) == 0
    assert "name: my_bt" in capsys.readouterr().out
    assert train.main(["--config-dir", str(tmp_path / "nope"), "experiment=bt", "--cfg"]) == 1
    assert "does not exist" in capsys.readouterr().err

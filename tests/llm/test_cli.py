"""``python -m responserank.llm.train``: dry runs end to end and one-line errors."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from helpers import REPO_ROOT

from responserank.llm.identity import config_hash, run_identity
from responserank.llm.train import main

CLOSED_PORT = "http://127.0.0.1:9"


def run_cli(*args: str, cwd) -> subprocess.CompletedProcess:
    env = os.environ | {"HF_ENDPOINT": CLOSED_PORT, "PYTHONPATH": str(REPO_ROOT / "src")}
    return subprocess.run(
        [sys.executable, "-m", "responserank.llm.train", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
@pytest.mark.parametrize("preset", ["bt", "rr_agree"])
def test_dry_run_through_the_cli(preset, fixture_overrides, tmp_path):
    result = run_cli(f"experiment={preset}", *fixture_overrides, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert re.search(rf"egid\s+dry-{preset}-v10\.3-[0-9a-f]{{8}}\n", out)
    for expected in (
        "split (comparisons)",
        "train: drawn ties dropped",
        "test: tie_is_common dropped",
        "Strength signal",
        "Partitions",
        "non-singleton fraction",
        "Batches",
    ):
        assert expected in out, expected
    if preset == "rr_agree":
        assert "agreement of all annotations" in out and "partitions kept whole" in out and "cohesion" in out
    else:
        assert "random shuffled batches of 16" in out
    assert not list(tmp_path.iterdir())  # a dry run writes nothing


def test_unknown_preset_is_one_line_listing_the_valid_ones(tmp_path):
    result = run_cli("experiment=rr_agreee", "dry_run=true", cwd=tmp_path)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert lines[0].startswith("error: unknown preset experiment='rr_agreee'; valid presets: bt, bt_acc2,")
    assert "rr_agree," in lines[0] and "_base" not in lines[0]


def one_line_error(capsys, *args: str) -> str:
    assert main(list(args)) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    return lines[0]


def test_a_bf16_preset_on_a_machine_without_cuda_stops_with_one_line(capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    line = one_line_error(capsys, "experiment=rr_agree")
    assert line.startswith("error: experiment.bf16=true needs a CUDA GPU with bfloat16 support")


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (
            "experiment.train_partitioner.target_size=0",
            "target_size must be -1 (auto) or an integer >= 1, got 0",
        ),
        ("experiment.fraction=1.5", r"experiment.fraction must lie in (0, 1], got 1.5"),
        ("experiment.fraction=0", r"experiment.fraction must lie in (0, 1], got 0"),
        ("experiment.train_processor=speed", "experiment.train_processor='speed' is not a valid option"),
        ("experiment.fractoin=0.5", "Could not override 'experiment.fractoin'"),
        ("+foo=3", "unknown key 'foo' in override '+foo=3'"),
        ("++foo=3", "unknown key 'foo' in override '++foo=3'"),
        (
            "+experiment.fractoin=0.5",
            "unknown key 'experiment.fractoin' in override '+experiment.fractoin=0.5'",
        ),
        ("+seed=1", "An item is already at 'seed'"),
        ("seed=[", "invalid configuration"),
    ],
)
def test_bad_options_are_one_line(capsys, override, message):
    assert message in one_line_error(capsys, "experiment=rr_agree", "dry_run=true", override)


def test_missing_preset_and_bad_flag(capsys):
    assert "choose a preset with experiment=<name>; valid presets: bt," in one_line_error(
        capsys, "dry_run=true"
    )
    assert "unknown option '--fast'" in one_line_error(capsys, "experiment=bt", "--fast")


def test_unreachable_hub_and_tokenizer_name_the_local_options(capsys, monkeypatch, multipref_dir):
    monkeypatch.setenv("HF_ENDPOINT", CLOSED_PORT)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    line = one_line_error(capsys, "experiment=rr_agree", "dry_run=true")
    assert (
        "cannot load tokenizer 'meta-llama/Llama-3.1-8B-Instruct'" in line
        and "experiment.tokenizer_name=DIR" in line
    )
    line = one_line_error(
        capsys,
        "experiment=rr_agree",
        "dry_run=true",
        f"experiment.tokenizer_name={multipref_dir / 'tokenizer'}",
    )
    assert (
        "cannot reach the Hugging Face hub to load 'allenai/multipref'" in line
        and "experiment.dataset.path=DIR" in line
    )


def test_help_and_cfg(capsys):
    assert main(["--help"]) == 0
    assert "rr_rt_annolength32_spread2" in capsys.readouterr().out
    assert main(["experiment=rr_agree", "--cfg"]) == 0
    assert "name: rr_agree" in capsys.readouterr().out


def test_run_identity():
    config = {
        "seed": 40,
        "dry_run": False,
        "version": 6,
        "experiment": {"name": "rtrank_agreement", "fraction": 1.0, "lr": 1},
    }
    identity = run_identity(config)
    assert re.fullmatch(r"rtrank_agreement-v10\.6-[0-9a-f]{8}", identity.egid)
    assert identity.eid == identity.egid + "-1.0" and identity.run_name == identity.egid + "-1.0-40"
    # seed, fraction and dry_run do not change the group; anything else does
    same = {**config, "seed": 41, "dry_run": True, "experiment": {**config["experiment"], "fraction": 0.1}}
    assert config_hash(same) == identity.hash
    dry = run_identity(same)
    assert dry.egid == "dry-" + identity.egid and dry.run_name == f"dry-{identity.egid}-0.1-41"
    assert config_hash({**config, "experiment": {**config["experiment"], "lr": 2}}) != identity.hash
    local = {
        **config,
        "experiment": {**config["experiment"], "tokenizer_name": "/m/tok", "dataset": {"path": "/d"}},
    }
    assert config_hash(local) == config_hash(
        {**config, "experiment": {**config["experiment"], "dataset": {}}}
    )
    assert config_hash({**config, "version": 7}) != identity.hash


def test_force_add_of_an_existing_key_is_a_plain_override():
    from responserank.llm.config import compose_config

    cfg = compose_config(["experiment=bt", "++seed=3", "++model_seed=5", "++experiment.fraction=0.5"])
    assert (cfg.seed, cfg.model_seed, cfg.experiment.fraction) == (3, 5, 0.5)

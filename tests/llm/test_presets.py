"""Every preset in conf/llm/experiment resolves and dry-runs; key settings match spec llm.md §9."""

from __future__ import annotations

import re

import pytest
import yaml
from helpers import REPO_ROOT

from responserank.llm.config import (
    PRESET_DIR,
    available_presets,
    compose_config,
    to_container,
    validate_config,
)
from responserank.llm.train import dry_run

PRESETS = available_presets()


def resolve(preset: str, *overrides: str) -> dict:
    config = to_container(compose_config([f"experiment={preset}", *overrides]))
    validate_config(config)
    return config


@pytest.fixture(scope="module")
def resolved(fixture_overrides) -> dict[str, dict]:
    """Every preset composed once, pointed at the fixture (Hydra composition is the slow part)."""
    # the laptop presets filter at 128 tokens, shorter than most texts of the (non-learnable) test fixture
    tiny = ["experiment.max_length=1024"]
    return {
        preset: resolve(preset, *fixture_overrides, *(tiny if preset.endswith("_tiny") else []))
        for preset in PRESETS
    }


def test_preset_names_match_the_original():
    """All 60 cached experiment keys of the paper plus ``rr`` (not in the paper) and the laptop-scale presets."""
    registry = yaml.safe_load((REPO_ROOT / "results" / "llm" / "registry.yaml").read_text())  # the paper's
    assert set(PRESETS) == set(registry["experiments"]) | {"rr", "bt_tiny", "rr_agree_tiny"}


def test_presets_have_unique_names(resolved):
    names = {p: c["experiment"]["name"] for p, c in resolved.items()}
    assert len(set(names.values())) == len(PRESETS)
    renamed = {p: n for p, n in names.items() if n != p}
    assert renamed == {"rr_rt_annostrat_spread2": "rr_annostrat_spread2"}  # the original's name (spec §9)
    assert (PRESET_DIR / "_base.yaml").stem not in PRESETS


def test_every_preset_dry_runs_on_the_fixture(resolved, tokenizer):
    for preset, config in resolved.items():
        summary = dry_run(config, tokenizer=tokenizer)
        name = config["experiment"]["name"]
        assert re.search(rf"egid\s+dry-{name}-v10\.3-[0-9a-f]{{8}}\n", summary), preset
        assert "train examples" in summary and "Batches" in summary, preset


def subset(config: dict, expected: dict) -> dict:
    return {k: (subset(config[k], v) if isinstance(v, dict) else config[k]) for k, v in expected.items()}


AGREE = {
    "train_processor": "agreement",
    "dataset": {"ties_in_agreement_total": True, "slight_preference_value": 0.5},
}
EXPECTED = {
    "bt": {"baseline": True, "use_rr_loss": False, "bt_target": "hard", "learning_rate": 1.5e-5, "epochs": 3},
    "bt_lr1em5": {"baseline": True, "learning_rate": 1e-5},
    "bt_acc8": {"baseline": True, "gradient_accumulation_steps": 8},
    "bt_clip0p5": {"max_grad_norm": 0.5},
    "bt_ep2": {"baseline": True, "epochs": 2},
    "bt_warmup0p1": {"warmup_ratio": 0.1},
    "bt_wd0p001": {"weight_decay": 0.001},
    "bt_agree": {"baseline": True, "bt_target": "agreement", "dataset": {"ties_in_agreement_total": True}},
    "bt_meanpref": {"baseline": True, "bt_target": "mean_preference"},
    "rr": {
        "train_processor": "real_rt",
        "stratifier": {"name": "global"},
        "allow_ties": True,
        "dataset": {"ties_in_agreement_total": False},
    },
    "rr_agree": AGREE
    | {
        "stratifier": {"name": "global_split_ties"},
        "train_partitioner": {"name": "round_robin", "target_size": -1},
        "allow_ties": False,
        "baseline": False,
        "use_rr_loss": True,
        "sampler": {"name": "fixed_size", "packer": "largest_first_best_fit", "drop_last": False},
    },
    "rr_agree_bt": AGREE
    | {"use_rr_loss": False, "baseline": False, "train_partitioner": {"target_size": -1}},
    "rr_agree_gradacc2": AGREE | {"gradient_accumulation_steps": 2},
    "rr_agree_ep4": AGREE | {"epochs": 4},
    "rr_agree_spread3": AGREE
    | {
        "stratifier": {"name": "global"},
        "train_partitioner": {"name": "round_robin", "target_size": 3},
        "allow_ties": True,
    },
    "rr_agree_partialshuffle75": AGREE
    | {
        "train_rank_transform": {"name": "partial_shuffle", "noise": 0.75},
        "train_partitioner": {"target_size": -1},
    },
    "rr_agree_spread2_partialshuffle25": AGREE
    | {"train_rank_transform": {"noise": 0.25}, "train_partitioner": {"target_size": 2}},
    "rr_agree_filter95": AGREE
    | {"train_filter": {"name": "random", "fraction": 0.95}, "rank_filter_after_fraction_sampling": True},
    "rr_agree_slight25": {"dataset": {"slight_preference_value": 0.25, "ties_in_agreement_total": True}},
    "rr_agree_slight75": {"dataset": {"slight_preference_value": 0.75, "ties_in_agreement_total": True}},
    "rr_consensus": {
        "train_processor": "consensus",
        "stratifier": {"name": "global"},
        "train_partitioner": {"target_size": -1},
        "dataset": {"ties_in_agreement_total": True},
    },
    "rr_consensus_spread6": {
        "train_processor": "consensus",
        "train_partitioner": {"target_size": 6},
        "allow_ties": True,
    },
    "rr_randrank_randsize4": AGREE
    | {
        "train_partitioner": {"name": "random", "partition_size": 4},
        "train_rank_transform": {"name": "random_rank"},
    },
    "rr_stated": {
        "train_processor": "stated_strength",
        "stratifier": {"name": "annotator"},
        "train_partitioner": {"target_size": -1},
        "dataset": {"ties_in_agreement_total": False},
        "allow_ties": False,
    },
    "rr_stated_global": {"train_processor": "stated_strength", "stratifier": {"name": "global"}},
    "rr_stated_partialshuffle100": {
        "train_processor": "stated_strength",
        "train_rank_transform": {"name": "partial_shuffle", "noise": 1.0},
    },
    "rr_rt_spread2_global": {
        "train_processor": "real_rt",
        "stratifier": {"name": "global"},
        "train_partitioner": {"target_size": 2},
        "allow_ties": True,
    },
    "rr_rt_annostrat_spread2": {
        "train_processor": "real_rt",
        "stratifier": {"name": "annotator"},
        "train_partitioner": {"target_size": 2},
    },
    "rr_rt_annolength16_spread2": {
        "train_processor": "real_rt",
        "stratifier": {"name": "annotator_length_bucket", "num_buckets": 16},
        "train_partitioner": {"target_size": 2},
        "allow_ties": True,
    },
}


@pytest.mark.parametrize("preset", sorted(EXPECTED))
def test_preset_settings(preset, resolved):
    experiment = resolved[preset]["experiment"]
    assert subset(experiment, EXPECTED[preset]) == EXPECTED[preset]


def test_the_original_command_lines_resolve():
    config = resolve(
        "rr_agree", "seed=43", "experiment.fraction=0.1", "experiment.train_partitioner.target_size=4"
    )
    assert (
        config["seed"],
        config["experiment"]["fraction"],
        config["experiment"]["train_partitioner"]["target_size"],
    ) == (43, 0.1, 4)
    top = resolve("bt")
    assert {k: top[k] for k in ("seed", "model_seed", "version", "dry_run")} == {
        "seed": 42,
        "model_seed": None,
        "version": 3,
        "dry_run": False,
    }
    assert top["wandb"]["project_name"] == "rr-llm"

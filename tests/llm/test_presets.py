"""Every preset in conf/llm/experiment resolves, dry-runs and does what its name (the paper's label) says."""

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


def _number(text: str) -> float:
    """The numbers of preset names: ``0p5`` = 0.5, ``1em5`` = 1e-5, ``25`` = 25."""
    return float(text.replace("p", ".").replace("em", "e-"))


#: Name token → (setting, value) the preset promises; a percentage becomes a fraction.
NAME_TOKENS = {
    r"spread(\d+)": ("train_partitioner.target_size", int),
    r"randsize(\d+)": ("train_partitioner.partition_size", int),
    r"partialshuffle(\d+)": ("train_rank_transform.noise", lambda n: int(n) / 100),
    r"filter(\d+)": ("train_filter.fraction", lambda n: int(n) / 100),
    r"slight(\d+)": ("dataset.slight_preference_value", lambda n: int(n) / 100),
    r"annolength(\d+)": ("stratifier.num_buckets", int),
    r"lr([\dpem]+)": ("learning_rate", _number),
    r"(?:grad)?acc(\d+)": ("gradient_accumulation_steps", int),
    r"(?:grad)?clip([\dp]+)": ("max_grad_norm", _number),
    r"ep(\d+)": ("epochs", int),
    r"warmup([\dp]+)": ("warmup_ratio", _number),
    r"(?:wd|weightdecay)([\dp]+)": ("weight_decay", _number),
}
SIGNALS = {"agree": "agreement", "stated": "stated_strength", "rt": "real_rt", "consensus": "consensus"}
PLAIN_TOKENS = {"bt", "rr", "meanpref", "randrank", "tiny", "global", "annostrat", *SIGNALS}


def promised(name: str) -> dict[str, object]:
    """What a preset's name says about its settings (the paper's experiment labels)."""
    tokens = name.split("_")
    baseline = tokens[0] == "bt"
    promise: dict[str, object] = {"baseline": baseline, "use_rr_loss": not baseline and tokens[-1] != "bt"}
    if baseline:
        targets = {"agree": "agreement", "meanpref": "mean_preference"}
        promise["bt_target"] = targets.get(tokens[1] if len(tokens) > 1 else "", "hard")
    else:
        promise["train_processor"] = SIGNALS.get(tokens[1] if len(tokens) > 1 else "rt", "agreement")
    if "randrank" in tokens:
        promise["train_rank_transform.name"] = "random_rank"
    if "global" in tokens or "annostrat" in tokens:
        promise["stratifier.name"] = "global" if "global" in tokens else "annotator"
    for token in tokens[1:]:
        for pattern, (setting, convert) in NAME_TOKENS.items():
            if match := re.fullmatch(pattern, token):
                promise[setting] = convert(match.group(1))
                break
        else:
            assert token in PLAIN_TOKENS, f"{name}: unknown name part {token!r}"
    return promise


def setting(experiment: dict, dotted: str):
    for key in dotted.split("."):
        experiment = experiment[key]
    return experiment


@pytest.mark.parametrize("preset", PRESETS)
def test_preset_does_what_its_name_says(preset, resolved):
    experiment = resolved[preset]["experiment"]
    for key, value in promised(preset).items():
        assert setting(experiment, key) == pytest.approx(value), (preset, key)


@pytest.mark.parametrize(("preset", "size"), [("rr_agree_spread2", 2), ("rr_consensus_spread4", 4)])
def test_partition_presets_train_on_partitions_of_their_size(preset, size, resolved, tokenizer):
    stats = _prepared(resolved[preset], tokenizer).stats
    assert stats["partitioner/train/max_partition_size"] == size


@pytest.mark.parametrize("percent", [25, 75])
def test_filter_presets_remove_their_share_of_ranks(percent, resolved, tokenizer):
    stats = _prepared(resolved[f"rr_agree_filter{percent}"], tokenizer).stats
    ranked = stats["train_examples"] - stats["rank/without_signal"]
    assert stats["rank/filtered"] / ranked == pytest.approx(percent / 100, abs=0.05)


def _prepared(config: dict, tokenizer):
    from responserank.llm.pipeline import Seeds, prepare_data
    from responserank.llm.train import with_local_inputs

    config = with_local_inputs(config)
    seeds = Seeds.from_config(config["seed"], config["model_seed"])
    return prepare_data(config["experiment"], seeds, tokenizer)


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

"""``python -m responserank.llm.train experiment=<preset> [key=value ...]`` — LLM reward-model runs.

This release ships the data side: the command resolves the Hydra config, and with ``dry_run=true`` loads the
tokenizer, prepares the data exactly as a training run would (spec ``llm.md`` §4–§6, §11) and prints a
summary, without loading a model. Training itself (model, optimiser, RewardBench evaluation) is tracked as a
separate issue; without ``dry_run=true`` the command stops with a one-line message.

Options: ``--cfg`` prints the resolved config and exits; ``--config-dir DIR`` adds your own presets
(``DIR/experiment/<name>.yaml``, which may start with ``defaults: [_base]``) to the shipped ones; ``-h`` /
``--help`` prints this text and the presets.
Errors (unknown preset, bad option, unreadable data) are printed as one line to stderr, exit status 1.
"""

from __future__ import annotations

import sys
from typing import Any

from responserank.llm.config import available_presets, compose_config, to_container, validate_config
from responserank.llm.errors import PipelineError
from responserank.llm.identity import run_identity
from responserank.resources import split_config_dir

TRAINING_NOT_AVAILABLE = (
    "training is not part of this release (the trainer is tracked in a separate issue); add dry_run=true to "
    "resolve the config, prepare the data and print its summary"
)


def dry_run(config: dict[str, Any], tokenizer=None, tables=None) -> str:
    """Prepare the data for a resolved config and return the summary text (nothing is written)."""
    from responserank.llm.data import load_tokenizer
    from responserank.llm.pipeline import Seeds, build_train_sampler, prepare_data
    from responserank.llm.summary import format_summary

    experiment = config["experiment"]
    tokenizer_name = experiment["tokenizer_name"] or experiment["model_name"]
    if tokenizer is None:
        tokenizer = load_tokenizer(tokenizer_name)
    seeds = Seeds.from_config(config["seed"], config["model_seed"])
    prepared = prepare_data(experiment, seeds, tokenizer, tables=tables)
    sampler = build_train_sampler(prepared, experiment)
    return format_summary(config, run_identity(config), prepared, sampler, tokenizer_name)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        try:
            config_dir, args = split_config_dir(args)
        except ValueError as error:
            raise PipelineError(str(error)) from None
        if any(a in ("-h", "--help") for a in args):
            print(__doc__.strip() + "\n\nPresets: " + ", ".join(available_presets(config_dir)))
            return 0
        show_config = "--cfg" in args
        overrides = [a for a in args if a != "--cfg"]
        flags = [a for a in overrides if a.startswith("-")]
        if flags:
            raise PipelineError(
                f"unknown option {flags[0]!r}; pass Hydra overrides key=value, --cfg or --help"
            )
        cfg = compose_config(overrides, config_dir)
        config = to_container(cfg)
        validate_config(config)
        if show_config:
            from omegaconf import OmegaConf

            print(OmegaConf.to_yaml(cfg), end="")
            return 0
        if not config["dry_run"]:
            raise PipelineError(TRAINING_NOT_AVAILABLE)
        print(dry_run(config))
    except PipelineError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The scalar reward model: a transformer backbone, a linear head, the reward read at the last real token.

``RewardModel(input_ids, attention_mask) -> rewards [B]`` (float32). The reward is the head's output at the
**last position whose attention mask is 1**, whatever the padding side and whatever the pad token is. The
sequence-classification heads of ``transformers`` instead look for the last token that differs from
``pad_token_id``; with the usual ``pad := eos`` they skip a final EOS / end-of-turn token and pool the token before
it (spec ``llm.md`` §13). Pooling by the mask has no such pitfall.

:func:`load_reward_model` builds it from ``experiment``:

* ``model_name`` — a hub id or a local folder (``save_pretrained`` layout); only the backbone's weights are read
  (``AutoModel``), so causal-LM and sequence-classification checkpoints both work; the head starts at
  ``normal(0, initializer_range)``. ``gguf_file`` reads the weights from a GGUF file inside that folder (needs the
  ``gguf`` package).
* ``random_init`` — a mapping of ``LlamaConfig`` sizes (``hidden_size``, ``num_hidden_layers`` …): a
  random-initialised Llama-style backbone with the tokenizer's vocabulary, seeded; no weights are read.
* ``bf16`` — weights in bfloat16 and bf16 autocast (needs a CUDA GPU with bf16); ``gradient_checkpointing``;
  ``disable_dropout``; ``lora.r > 0`` — LoRA adapters (peft) on the backbone's linear layers, head fully trained.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch
from torch import nn

from responserank.errors import PipelineError

log = logging.getLogger(__name__)

DROPOUT_CONFIG_KEYS = (
    "attention_dropout",
    "hidden_dropout",
    "hidden_dropout_prob",
    "attention_probs_dropout_prob",
    "resid_pdrop",
    "embd_pdrop",
    "attn_pdrop",
    "dropout",
    "classifier_dropout",
)


def last_token_index(attention_mask: torch.Tensor) -> torch.Tensor:
    """``[B, L]`` 0/1 mask → ``[B]`` position of the last 1 in each row (left or right padding alike)."""
    positions = torch.arange(attention_mask.shape[-1], device=attention_mask.device)
    return (attention_mask.to(torch.long) * positions).argmax(-1)


class RewardModel(nn.Module):
    """Backbone (``AutoModel``-style, returns ``last_hidden_state``) + ``Linear(hidden, 1)`` head."""

    def __init__(self, backbone: nn.Module, hidden_size: int, initializer_range: float = 0.02):
        super().__init__()
        self.backbone = backbone
        self.head = nn.Linear(hidden_size, 1, bias=False)
        nn.init.normal_(self.head.weight, std=initializer_range)
        self.config = getattr(backbone, "config", None)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """``[B, L]`` token ids and mask → ``[B]`` float32 rewards."""
        hidden = self.backbone(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        last = last_token_index(attention_mask)
        pooled = hidden[torch.arange(hidden.shape[0], device=hidden.device), last]
        return self.head(pooled.to(self.head.weight.dtype)).squeeze(-1).float()


def resolve_device(experiment: dict[str, Any]) -> str:
    """``experiment.device`` (auto | cpu | cuda) → "cpu" or "cuda"; one-line errors for CUDA / bf16 requests
    this machine cannot serve."""
    requested = experiment.get("device", "auto")
    if requested not in ("auto", "cpu", "cuda"):
        raise PipelineError(f"experiment.device must be auto, cpu or cuda, got {requested!r}")
    has_cuda = torch.cuda.is_available()
    if requested == "cuda" and not has_cuda:
        raise PipelineError(
            "experiment.device=cuda but no CUDA GPU is available (torch.cuda.is_available() is false); "
            "use experiment.device=cpu"
        )
    device = "cuda" if requested == "cuda" or (requested == "auto" and has_cuda) else "cpu"
    if experiment["bf16"]:
        if device != "cuda":
            raise PipelineError(
                "experiment.bf16=true needs a CUDA GPU with bfloat16 support and this run is on the CPU; "
                "set experiment.bf16=false (and experiment.gradient_checkpointing=false) for CPU runs"
            )
        if not torch.cuda.is_bf16_supported():
            raise PipelineError(
                f"experiment.bf16=true but {torch.cuda.get_device_name()} has no bfloat16 support; "
                "set experiment.bf16=false"
            )
    return device


def _disable_dropout(model: nn.Module) -> None:
    config = getattr(model, "config", None)
    for key in DROPOUT_CONFIG_KEYS:
        if config is not None and isinstance(getattr(config, key, None), float):
            setattr(config, key, 0.0)
    for module in model.modules():
        if isinstance(module, nn.Dropout):
            module.p = 0.0


def _random_backbone(sizes: dict[str, Any], tokenizer) -> nn.Module:
    from transformers import AutoModel, LlamaConfig

    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    try:
        config = LlamaConfig(
            vocab_size=len(tokenizer),
            pad_token_id=pad,
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            **sizes,
        )
        return AutoModel.from_config(config)
    except (TypeError, ValueError) as error:
        raise PipelineError(
            f"experiment.random_init={sizes!r} is not a valid LlamaConfig: {error}"
        ) from error


def _pretrained_backbone(name: str, gguf_file: str | None, dtype: torch.dtype) -> nn.Module:
    from transformers import AutoModel

    from responserank.llm.data import hub_reachable

    path = Path(name).expanduser()
    looks_local = str(name).startswith((".", "/", "~")) or path.is_dir()
    if looks_local and not path.is_dir():
        raise PipelineError(f"experiment.model_name={name!r}: no such model folder")
    if gguf_file is not None:
        if not looks_local:
            raise PipelineError("experiment.gguf_file needs experiment.model_name=<local folder holding it>")
        if not (path / gguf_file).is_file():
            raise PipelineError(f"experiment.gguf_file={gguf_file!r}: no such file in {str(path)!r}")
        try:
            import gguf  # noqa: F401
        except ImportError as error:
            raise PipelineError("experiment.gguf_file needs the 'gguf' package (pip install gguf)") from error
    offline = not looks_local and not hub_reachable()
    try:
        kwargs: dict[str, Any] = {"dtype": dtype, "local_files_only": offline}
        if gguf_file is not None:
            kwargs["gguf_file"] = gguf_file
        return AutoModel.from_pretrained(str(path) if looks_local else name, **kwargs)
    except Exception as error:  # transformers raises OSError / ValueError / … depending on what is missing
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        where = "the hub is unreachable and it is not in the Hugging Face cache" if offline else first
        raise PipelineError(f"cannot load model {name!r} ({where})") from error


def load_reward_model(experiment: dict[str, Any], tokenizer, seed: int) -> RewardModel:
    """Build the reward model for a resolved ``experiment`` config (see the module docstring)."""
    dtype = torch.bfloat16 if experiment["bf16"] else torch.float32
    torch.manual_seed(seed)  # random backbone and head initialisation
    sizes = experiment.get("random_init")
    if sizes:
        backbone = _random_backbone(dict(sizes), tokenizer).to(dtype)
    else:
        backbone = _pretrained_backbone(experiment["model_name"], experiment.get("gguf_file"), dtype)
        if backbone.get_input_embeddings().num_embeddings < len(tokenizer):
            backbone.resize_token_embeddings(len(tokenizer))
    if experiment["disable_dropout"]:
        _disable_dropout(backbone)
    config = backbone.config
    text_config = config.get_text_config() if hasattr(config, "get_text_config") else config
    hidden = int(text_config.hidden_size)
    if experiment["gradient_checkpointing"]:
        if hasattr(backbone, "activation_checkpointing_enable"):  # transformers >= 5.2x
            backbone.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})
        else:
            backbone.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        backbone.config.use_cache = False
    lora = experiment.get("lora") or {}
    if int(lora.get("r") or 0) > 0:
        backbone = _with_lora(backbone, lora)
    model = RewardModel(backbone, hidden, float(getattr(text_config, "initializer_range", 0.02)))
    return model.to(dtype)


def _with_lora(backbone: nn.Module, lora: dict[str, Any]) -> nn.Module:
    try:
        from peft import LoraConfig, get_peft_model
    except ImportError as error:
        raise PipelineError("experiment.lora.r > 0 needs the 'peft' package (pip install peft)") from error
    target = lora.get("target_modules", "all-linear")
    config = LoraConfig(
        r=int(lora["r"]),
        lora_alpha=float(lora.get("alpha", 2 * int(lora["r"]))),
        lora_dropout=float(lora.get("dropout", 0.0)),
        target_modules=list(target) if isinstance(target, list | tuple) else target,
    )
    try:
        return get_peft_model(backbone, config)
    except ValueError as error:
        raise PipelineError(f"experiment.lora: {str(error).splitlines()[0]}") from error

#!/usr/bin/env bash
# Prepared GPU check of the LLM trainer (bf16, a 0.1–1B model, a few hundred steps): prints pairs/s, tokens/s and
# peak memory of BT and RR (and TRL's RewardTrainer when trl is importable) side by side
# (benchmarks/bench_llm_step.py), then trains the tiny preset on the GPU.
# Usage: bash scripts/gpu_check.sh [MODEL_DIR]   MODEL_DIR: a local model folder (e.g. SmolLM2-135M-Instruct);
# without it a random-initialised Llama-style model of ~0.2B parameters (hidden 1024, 16 layers) is used.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
$PY -c "import torch; assert torch.cuda.is_available(), 'no CUDA GPU'; print('torch', torch.__version__, 'bf16', torch.cuda.is_bf16_supported())"
model_args=(--hidden 1024 --layers 16 --heads 16)
if [ -n "${1:-}" ]; then model_args=(--model-name "$1"); fi
$PY benchmarks/bench_llm_step.py --device cuda --bf16 "${model_args[@]}" \
  --seq-len 512 --batch 16 --steps 300 --warmup-steps 10 --repeats 1
SKIP_EXISTING_RUN_CHECK=true $PY -m responserank.llm.train experiment=rr_agree_tiny experiment.device=cuda \
  runs_dir=outputs/gpu_check hydra.run.dir=outputs/gpu_check/rr_agree_tiny-$(date +%s) 2>&1 | tail -3

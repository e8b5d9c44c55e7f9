#!/usr/bin/env bash
# One LLM reward-model run per SLURM array task: EXPERIMENT x FRACTION, seed = SLURM_ARRAY_TASK_ID (spec llm.md §8).
#
#   for experiment in bt rr_agree rr_stated; do
#     for fraction in 0.1 0.2 0.3 0.4 0.5 0.6 0.7 0.8 0.9 1.0; do
#       sbatch --array=40-69 --export=ALL,EXPERIMENT=$experiment,FRACTION=$fraction scripts/slurm/run_experiment.sh
#     done
#   done
#
# Extra Hydra overrides go in OVERRIDES (e.g. OVERRIDES="experiment.rewardbench.v1_path=/data/rb1"). A run that
# is already finished or running in runs_dir is skipped; SLURM's SIGTERM before the time limit marks the record
# "stopped". With several GPUs per task set NUM_GPUS (accelerate launch --num_processes NUM_GPUS).
#SBATCH --job-name=rr-llm
#SBATCH --gres=gpu:1
#SBATCH --cpus-per-task=8
#SBATCH --mem=64G
#SBATCH --time=04:00:00
#SBATCH --signal=TERM@120
#SBATCH --output=slurm-%A_%a.out
set -euo pipefail
: "${EXPERIMENT:?set EXPERIMENT (a preset name, e.g. rr_agree)}"
: "${FRACTION:=1.0}"
: "${SLURM_ARRAY_TASK_ID:?submit as an array job: sbatch --array=40-69 ...}"
cd "${SLURM_SUBMIT_DIR:-$(dirname "$0")/../..}"
args=(experiment="$EXPERIMENT" experiment.fraction="$FRACTION" seed="$SLURM_ARRAY_TASK_ID" ${OVERRIDES:-})
if [ "${NUM_GPUS:-1}" -gt 1 ]; then
  exec accelerate launch --num_processes "$NUM_GPUS" -m responserank.llm.train "${args[@]}"
fi
exec python -m responserank.llm.train "${args[@]}"

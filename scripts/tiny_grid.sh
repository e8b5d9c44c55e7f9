#!/usr/bin/env bash
# BT vs RR-Agree on the laptop-scale setup: 2 presets x fractions 0.1 and 1.0 x seeds 40-44 (README, trainer section).
# Usage: [SEEDS="40 41"] bash scripts/tiny_grid.sh [RUNS_DIR]   (default outputs/rr_llm_tiny); runs already
# finished or running in RUNS_DIR are skipped, so several copies can share the grid. Summarise with
#   python -m responserank.llm.analysis.cli collect results/tiny --runs-dir RUNS_DIR --registry <registry>
set -euo pipefail
runs_dir=${1:-outputs/rr_llm_tiny}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}   # a tiny model runs fastest on one thread
for seed in ${SEEDS:-40 41 42 43 44}; do
  for fraction in 0.1 1.0; do
    for experiment in bt_tiny rr_agree_tiny; do
      python -m responserank.llm.train experiment=$experiment seed=$seed experiment.fraction=$fraction \
        runs_dir="$runs_dir" hydra.run.dir="$runs_dir/$experiment-$fraction-$seed"
    done
  done
done

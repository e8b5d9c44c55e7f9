#!/usr/bin/env bash
# Smoke test of the whole synthetic pipeline: every dataset config with 2 trials at 50 % and 100 % of the data,
# then find → collect → generate into a scratch results folder (never the committed results/), and a table of
# BT vs ResponseRank at 100 %. Everything goes below outputs/mini/<date>-<time>/ (or $MINI_DIR):
#   runs/<config>/  the runner's folders     results/  the collected caches     figures/  figures + summary.md
# Extra arguments are passed to every run as Hydra overrides (e.g. execution_backend.num_processes=1).
set -euo pipefail
cd "$(dirname "$0")"
if [ -z "${VIRTUAL_ENV:-}" ] && [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=python; fi
MINI_DIR=${MINI_DIR:-outputs/mini/$(date +%Y-%m-%d-%H%M%S)}
for dataset in deterministic_all stochastic drift_diffusion \
               deterministic_all_no_variability stochastic_no_variability drift_diffusion_no_variability; do
    "$PY" -m responserank.synthetic.experiment_runner dataset=$dataset num_trials=2 dataset_sizes=[0.5,1.0] \
        show_progress=false "hydra.run.dir=$MINI_DIR/runs/$dataset" "$@"
done
ANALYSIS=(-m responserank.synthetic.analysis.cli)
"$PY" "${ANALYSIS[@]}" find "$MINI_DIR/runs" "$MINI_DIR/results" >/dev/null
"$PY" "${ANALYSIS[@]}" collect "$MINI_DIR/results" --paths-file "$MINI_DIR/results/experiment_paths.json" >/dev/null
"$PY" "${ANALYSIS[@]}" generate "$MINI_DIR/results" "$MINI_DIR/figures" >/dev/null
echo
"$PY" "${ANALYSIS[@]}" summary "$MINI_DIR/results" --size 1.0
echo "figures: $MINI_DIR/figures (overview: $MINI_DIR/figures/summary.md; caches: $MINI_DIR/results)"

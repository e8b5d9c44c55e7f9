#!/usr/bin/env bash
# Smoke test of the whole synthetic pipeline: every dataset config with 2 trials at 50 % and 100 % of the data
# (about half a minute in total). Results go to outputs/experiment_runner/<date>/<time>-configv2+<overrides>/.
set -euo pipefail
cd "$(dirname "$0")"
if [ -z "${VIRTUAL_ENV:-}" ] && [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=python; fi
for dataset in deterministic_all stochastic drift_diffusion \
               deterministic_all_no_variability stochastic_no_variability drift_diffusion_no_variability; do
    "$PY" -m responserank.synthetic.experiment_runner dataset=$dataset num_trials=2 dataset_sizes=[0.5,1.0] "$@"
done

#!/usr/bin/env bash
# Wheel smoke test (CI): does an installed wheel work outside the checkout?
#   1. build the wheel; install it into a fresh virtual environment (the pinned lock, then the wheel, --no-deps);
#   2. from a temporary folder outside the checkout: `responserank fit --help`, a mini synthetic run with
#      find → collect → generate → summary, `generate` of the three families on the repository's committed
#      caches, and the LLM dry run on generated fixtures;
#   3. the seed's three `generate` commands, verbatim, from the repository root (into the ignored paper/figures).
# Usage: scripts/wheel_smoke.sh   (PYTHON=python3.11 to choose the interpreter; KEEP=1 keeps the temporary folder)
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/rr-wheel-smoke.XXXXXX")
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$WORK"' EXIT
unset PYTHONPATH  # the wheel, not the checkout's src/, must be imported
step() { printf '\n== %s (%ds)\n' "$1" "$SECONDS"; }

step "build the wheel"
"$PYTHON" -m venv "$WORK/venv"
PY="$WORK/venv/bin/python"
PIP=("$PY" -m pip --quiet --disable-pip-version-check)
# Built from a copy of the working tree (tracked and untracked-not-ignored files), so no stale build/ folder of
# the checkout can slip old files into the wheel.
mkdir "$WORK/tree"
(cd "$REPO" && git ls-files -z --cached --others --exclude-standard | xargs -0 tar -cf - --no-recursion) \
    | tar -xf - -C "$WORK/tree"
"${PIP[@]}" wheel --no-deps --wheel-dir "$WORK/dist" "$WORK/tree"
ls "$WORK"/dist/

step "install the lock, then the wheel without dependencies"
"${PIP[@]}" install -r "$REPO/requirements-lock.txt"
"${PIP[@]}" install --no-deps "$WORK"/dist/responserank-*.whl

mkdir -p "$WORK/cwd" && cd "$WORK/cwd"
step "the package is the installed wheel, with its configs"
"$PY" - <<'PYTHON'
import responserank, responserank.resources as r
assert "site-packages" in responserank.__file__, responserank.__file__
assert (r.conf_dir("synthetic") / "config.yaml").is_file() and r.llm_registry_path().is_file()
print("responserank", responserank.__version__, "from", responserank.__file__)
PYTHON
"$WORK/venv/bin/responserank" fit --help >/dev/null && echo "responserank fit --help: ok"
"$WORK/venv/bin/responserank" datasets --help >/dev/null && echo "responserank datasets --help: ok"

step "mini synthetic run (stochastic, 2 trials, 50 + 100 %, small samples)"
for dataset in stochastic stochastic_no_variability; do
    "$PY" -m responserank.synthetic.experiment_runner dataset=$dataset num_trials=2 dataset_sizes=[0.5,1.0] \
        dataset.num_train_samples=30 dataset.num_test_samples=60 show_progress=false \
        execution_backend.num_processes=1 "hydra.run.dir=runs/$dataset"
done
"$PY" -m responserank.synthetic.analysis.cli find runs results
"$PY" -m responserank.synthetic.analysis.cli collect results --paths-file results/experiment_paths.json
"$PY" -m responserank.synthetic.analysis.cli generate results figures/mini
"$PY" -m responserank.synthetic.analysis.cli summary results

step "generate on the committed caches (from outside the checkout)"
for family in synthetic llm rl_control; do
    "$PY" -m responserank.$family.analysis.cli generate "$REPO/results/$family" "figures/$family"
done

step "LLM dry run on fixtures"
"$PY" -m responserank.llm.fixtures fixtures >/dev/null
"$PY" -m responserank.llm.train experiment=rr_agree dry_run=true \
    experiment.dataset.path=fixtures experiment.tokenizer_name=fixtures/tokenizer | tail -n 5

step "the seed's generate commands, verbatim, from the repository root"
cd "$REPO"
"$PY" -m responserank.synthetic.analysis.cli generate results/synthetic paper/figures
"$PY" -m responserank.llm.analysis.cli generate results/llm paper/figures
"$PY" -m responserank.rl_control.analysis.cli generate results/rl_control paper/figures

step "wheel smoke test passed"

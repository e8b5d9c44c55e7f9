#!/usr/bin/env bash
# Rehearse the multi-node recipe on one CPU machine: two accelerate launchers (machine ranks 0 and 1) on localhost,
# with scripts/accelerate/multi_node_ddp.yaml and the settings multi_node_train.sbatch passes per node, train a
# shrunk rr_agree_tiny run together (torchrun rendezvous, gloo). Prints where the record is and what it says.
#   bash scripts/multi_node_cpu_check.sh [work folder, default: a new temporary folder]
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-$(mktemp -d)}
mkdir -p "$work" && cd "$work"
PY=${PYTHON:-$repo/.venv/bin/python}
export OMP_NUM_THREADS=1
for rank in 0 1; do
  "$PY" -m accelerate.commands.launch --config_file "$repo/scripts/accelerate/multi_node_ddp.yaml" \
    --num_machines 2 --num_processes 2 --machine_rank "$rank" \
    --main_process_ip 127.0.0.1 --main_process_port "${PORT:-29533}" --mixed_precision no --dynamo_backend no \
    -m responserank.llm.train experiment=rr_agree_tiny seed=42 experiment.epochs=1 \
    experiment.dataset.fixture.num_comparisons=96 experiment.dataset.fixture.rewardbench_per_subset=0 \
    experiment.dataset.test_size=32 experiment.eval_on_rewardbench_v1=false experiment.eval_on_rewardbench_v2=false \
    wandb.enabled=false hydra.run.dir=runs/multinode > "node$rank.log" 2>&1 &
done
wait
"$PY" - <<'PY'
import json
record = json.load(open("runs/multinode/run_record.json"))
print(f"{record['run_name']}: {record['run_state']}, processes {record['details']['num_processes']}, "
      f"pairs trained {record['metrics']['train/pairs']:.0f} of {record['statistics']['train_examples']:.0f}, "
      f"test accuracy {record['metrics']['eval_accuracy']:.4f}")
PY
echo "logs and record in $work"

"""The multi-node recipe files load with the pinned accelerate and the sbatch script is valid bash."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from helpers import REPO_ROOT

RECIPES = REPO_ROOT / "scripts"


@pytest.mark.parametrize(
    ("name", "distributed_type"), [("multi_node_ddp.yaml", "MULTI_GPU"), ("fsdp_8b.yaml", "FSDP")]
)
def test_accelerate_configs_load(name, distributed_type):
    config_args = pytest.importorskip("accelerate.commands.config.config_args")
    config = config_args.ClusterConfig.from_yaml_file(str(RECIPES / "accelerate" / name))
    assert config.distributed_type.value == distributed_type
    assert config.num_machines == 2 and config.num_processes == 16 and config.mixed_precision == "bf16"
    if distributed_type == "FSDP":
        assert config.fsdp_config["fsdp_version"] == 2
        assert config.fsdp_config["fsdp_auto_wrap_policy"] == "TRANSFORMER_BASED_WRAP"
        assert config.fsdp_config["fsdp_transformer_layer_cls_to_wrap"] == "LlamaDecoderLayer"


def test_multi_node_sbatch_script_is_valid_bash():
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("bash not available")
    script = RECIPES / "slurm" / "multi_node_train.sbatch"
    completed = subprocess.run([bash, "-n", str(script)], capture_output=True, text=True)
    assert completed.returncode == 0, completed.stderr
    text = script.read_text()
    assert "--machine_rank \\$SLURM_NODEID" in text and "-m responserank.llm.train" in text

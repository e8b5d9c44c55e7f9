"""A 2-trial mini experiment through the real runner, then ``find`` + ``collect`` + ``generate`` on it."""

from __future__ import annotations

import json
import subprocess
import sys

from helpers import REPO_ROOT

from responserank.synthetic.analysis.cli import main
from responserank.synthetic.analysis.names import LEARNERS


def test_runner_mini_experiment_find_collect_generate(tmp_path, monkeypatch, capsys):
    run_dir = tmp_path / "outputs/experiment_runner/2025-01-01/00-00-00-configv2+dataset=stochastic"
    runner = subprocess.run(
        [
            sys.executable,
            "-m",
            "responserank.synthetic.experiment_runner",
            "dataset=stochastic",
            "num_trials=2",
            "dataset_sizes=[0.5,1.0]",
            f"hydra.run.dir='{run_dir}'",  # quoted: the folder name holds '+' and '='
            "execution_backend.num_processes=1",
            "show_progress=false",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert runner.returncode == 0, runner.stderr[-2000:]
    monkeypatch.chdir(tmp_path)

    assert main(["find", "outputs/experiment_runner", "results/synthetic"]) == 0
    paths = json.loads((tmp_path / "results/synthetic/experiment_paths.json").read_text())
    assert paths == {"stochastic": run_dir.relative_to(tmp_path).as_posix()}

    paths_file = "results/synthetic/experiment_paths.json"
    assert main(["collect", "results/synthetic", "--paths-file", paths_file]) == 0
    cache = json.loads((tmp_path / "results/synthetic/stochastic.json").read_text())
    assert cache["metadata"]["dataset"] == "Stochastic" and cache["metadata"]["num_trials"] == 2
    for learner in LEARNERS:
        assert list(cache[learner]["sizes"]) == ["0.5", "1.0"]
        for size in ("0.5", "1.0"):
            for metric in ("choice_accuracy", "pearson_distance_correlation"):
                values = [e["value"] for e in cache[learner]["sizes"][size]["summary_metrics"][metric]]
                assert len(values) == 2 and all(-1 <= v <= 1 for v in values)
    assert len(cache["dataset_metrics"]["test_confusion_matrix"]) == 2
    for entry in cache["dataset_metrics"]["test_confusion_matrix"]:
        assert sum(map(sum, entry["value"])) == 200  # all test pairs

    assert main(["generate", "results/synthetic", "paper/figures"]) == 0
    capsys.readouterr()
    figures = tmp_path / "paper/figures"
    assert (figures / "metrics_vs_datasize_combined_with_variability.png").is_file()
    assert (figures / "stochastic_confusion_matrix.pdf").is_file()
    assert "\\numTrials}{2}" in (figures / "vars_with_variability.tex").read_text()
    summary = (figures / "summary.md").read_text()
    assert "## With RT variability (Stochastic; 2 trials)" in summary
    assert "no_variability" not in " ".join(p.name for p in figures.iterdir())

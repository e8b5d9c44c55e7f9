"""``find`` and ``collect`` on hand-made runner outputs: selection, cache structure, errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import shared_path

from responserank.synthetic.analysis.cli import main
from responserank.synthetic.analysis.names import LEARNERS


def run_cli(capsys, *args) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_line_error(code: int, err: str, *fragments: str) -> None:
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


# ----------------------------------------------------------------------------------------------- find


def test_find_keeps_latest_per_config_and_skips_aborted(tmp_path, make_experiment, capsys, monkeypatch):
    runs = tmp_path / "outputs" / "experiment_runner"
    make_experiment(runs / "2025-01-01", "stochastic", timestamp="2025-01-01 10:00:00")
    new = make_experiment(runs / "2025-01-02", "stochastic", timestamp="2025-01-02 09:00:00")
    det = make_experiment(runs / "2025-01-01", "deterministic_all", timestamp="2025-01-01 11:00:00")
    aborted = make_experiment(runs / "2025-01-03", "stochastic", timestamp="2025-01-03 09:00:00")
    (aborted / "ABORTED").write_text("")
    monkeypatch.chdir(tmp_path)

    code, out, err = run_cli(capsys, "find", "outputs/experiment_runner", "results/synthetic")

    assert code == 0, err
    assert "stochastic: " in out and "experiment_paths.json" in out
    assert "unfinished or aborted" in err
    paths = json.loads((tmp_path / "results/synthetic/experiment_paths.json").read_text())
    assert list(paths) == ["deterministic_all", "stochastic"]
    assert paths["stochastic"] == new.relative_to(tmp_path).as_posix()
    assert paths["deterministic_all"] == det.relative_to(tmp_path).as_posix()
    assert not Path(paths["stochastic"]).is_absolute()


def test_find_writes_absolute_paths_outside_current_folder(tmp_path, make_experiment, capsys, monkeypatch):
    experiment = make_experiment(tmp_path / "runs", "stochastic")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)

    code, _, err = run_cli(capsys, "find", tmp_path / "runs", tmp_path / "results")

    assert code == 0, err
    paths = json.loads((tmp_path / "results/experiment_paths.json").read_text())
    assert paths == {"stochastic": str(experiment.resolve())}


def test_find_falls_back_to_dataset_in_folder_name(tmp_path, make_experiment, capsys):
    experiment = make_experiment(
        tmp_path / "runs", "my_dataset", folder_name="12-00-00-configv2+dataset=my_dataset"
    )
    code, _, err = run_cli(capsys, "find", tmp_path / "runs", tmp_path)
    assert code == 0, err
    paths = json.loads((tmp_path / "experiment_paths.json").read_text())
    assert Path(paths["my_dataset"]).resolve() == experiment.resolve()


def test_find_unknown_dataset_without_folder_hint_is_an_error(tmp_path, make_experiment, capsys):
    make_experiment(tmp_path / "runs", "my_dataset", folder_name="run1")
    code, _, err = run_cli(capsys, "find", tmp_path / "runs", tmp_path)
    assert_one_line_error(code, err, "metadata.json", "unknown dataset 'my_dataset'")
    assert not (tmp_path / "experiment_paths.json").exists()


@pytest.mark.parametrize("case", ["missing", "empty", "corrupt"])
def test_find_bad_input(tmp_path, make_experiment, capsys, case):
    runs = tmp_path / "runs"
    if case == "empty":
        runs.mkdir()
    elif case == "corrupt":
        experiment = make_experiment(runs, "stochastic")
        (experiment / "metadata.json").write_text('{"dataset": "Stochastic", ')
    code, _, err = run_cli(capsys, "find", runs, tmp_path / "out")
    expected = {
        "missing": "does not exist",
        "empty": "no finished experiment",
        "corrupt": "corrupt metadata.json",
    }[case]
    assert_one_line_error(code, err, str(runs), expected)
    assert not (tmp_path / "out" / "experiment_paths.json").exists()


# -------------------------------------------------------------------------------------------- collect


def find_and_collect(capsys, runs: Path, cache: Path) -> tuple[int, str]:
    code, _, err = run_cli(capsys, "find", runs, cache)
    assert code == 0, err
    code, _, err = run_cli(capsys, "collect", cache, "--paths-file", cache / "experiment_paths.json")
    return code, err


def test_collect_writes_cache_in_spec_format(tmp_path, make_experiment, capsys, monkeypatch):
    percents = (50, 60, 70, 80, 90, 100)
    experiment = make_experiment(tmp_path / "runs", "stochastic", num_trials=12, percents=percents)
    monkeypatch.chdir(tmp_path)

    code, err = find_and_collect(capsys, Path("runs"), Path("results"))

    assert code == 0, err
    cache = json.loads((tmp_path / "results/stochastic.json").read_text())
    assert list(cache) == ["metadata", "dataset_metrics", *sorted(LEARNERS)]
    assert cache["metadata"] == json.loads((experiment / "metadata.json").read_text())
    assert set(cache["dataset_metrics"]) == {"test_confusion_matrix", "test_abs_logit_diff_rt_kendall_tau"}
    for learner in LEARNERS:
        sizes = cache[learner]["sizes"]
        assert list(sizes) == ["0.5", "0.6", "0.7", "0.8", "0.9", "1.0"]
        for size, pct in zip(sizes, percents, strict=True):
            metrics = sizes[size]["summary_metrics"]
            assert set(metrics) == {"choice_accuracy", "pearson_distance_correlation"}
            # Lists are in trial order 1, 2, …, 10, 11, 12 (numeric, not lexicographic).
            expected = [
                json.loads((experiment / f"trial_{k}/{learner}_frac_{pct}_results.json").read_text())[
                    "summary_metrics"
                ]["choice_accuracy"]
                for k in range(1, 13)
            ]
            assert metrics["choice_accuracy"] == expected


def test_collect_matches_reference_cache_structure(tmp_path, make_experiment, capsys):
    reference_file = shared_path("reference-results", "synthetic", "stochastic.json")
    reference = json.loads(reference_file.read_text())
    make_experiment(tmp_path / "runs", "stochastic", num_trials=2, percents=(50, 60, 70, 80, 90, 100))
    code, err = find_and_collect(capsys, tmp_path / "runs", tmp_path / "results")
    assert code == 0, err
    ours = json.loads((tmp_path / "results/stochastic.json").read_text())

    def shape(node):
        """Keys and entry types, with lists reduced to the shape of their first element."""
        if isinstance(node, dict):
            return {key: shape(value) for key, value in sorted(node.items())}
        if isinstance(node, list):
            return [shape(node[0])] if node and isinstance(node[0], dict | list) else "list"
        return type(node).__name__ if not isinstance(node, int | float) else "number"

    assert shape(ours) == shape(reference)


def test_collect_takes_dataset_metrics_from_first_learner_at_largest_size(tmp_path, make_experiment, capsys):
    experiment = make_experiment(tmp_path / "runs", "stochastic", num_trials=2)
    source = experiment / "trial_2" / "bt_frac_100_results.json"
    results = json.loads(source.read_text())
    results["summary_metrics"]["test_abs_logit_diff_rt_kendall_tau"]["value"]["x"] = [0.123]
    source.write_text(json.dumps(results))

    code, err = find_and_collect(capsys, tmp_path / "runs", tmp_path / "results")

    assert code == 0, err
    cache = json.loads((tmp_path / "results/stochastic.json").read_text())
    taus = [e["value"]["x"][0] for e in cache["dataset_metrics"]["test_abs_logit_diff_rt_kendall_tau"]]
    assert len(taus) == 2 and taus[1] == 0.123


@pytest.mark.parametrize(
    "problem", ["missing_run", "extra_run", "corrupt_json", "missing_metric", "no_trials"]
)
def test_collect_bad_input_names_file_and_writes_nothing(tmp_path, make_experiment, capsys, problem):
    runs = tmp_path / "runs"
    make_experiment(runs, "deterministic_all", num_trials=2)
    experiment = make_experiment(runs, "stochastic", num_trials=3)
    trial = experiment / "trial_3"
    if problem == "missing_run":
        (trial / "rr_frac_50_results.json").unlink()
        expected = (str(trial), "differ from trial_1", "missing rr@50%")
    elif problem == "extra_run":
        (trial / "rr_frac_70_results.json").write_text((trial / "rr_frac_50_results.json").read_text())
        expected = (str(trial), "extra rr@70%")
    elif problem == "corrupt_json":
        (trial / "bt_frac_50_results.json").write_text('{"summary_metrics": {"choice_accuracy": ')
        expected = (str(trial / "bt_frac_50_results.json"), "corrupt results file", "line 1")
    elif problem == "missing_metric":
        path = trial / "rr_perm_frac_100_results.json"
        results = json.loads(path.read_text())
        del results["summary_metrics"]["pearson_distance_correlation"]
        path.write_text(json.dumps(results))
        expected = (str(path), "'pearson_distance_correlation' missing")
    else:
        for k in (1, 2, 3):
            for file in (experiment / f"trial_{k}").iterdir():
                file.unlink()
            (experiment / f"trial_{k}").rmdir()
        expected = (str(experiment), "no trial_<k> folders")
    cache = tmp_path / "results"

    code, err = find_and_collect(capsys, runs, cache)

    assert_one_line_error(code, err, *expected)
    assert sorted(p.name for p in cache.iterdir()) == ["experiment_paths.json"]  # no cache at all


def test_collect_missing_experiment_folder(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "paths.json").write_text(json.dumps({"stochastic": "outputs/gone"}))
    code, _, err = run_cli(capsys, "collect", "results", "--paths-file", "paths.json")
    assert_one_line_error(code, err, "paths.json", "outputs/gone", "'stochastic'", "does not exist")


@pytest.mark.parametrize("content", ["", "[1, 2]", "{}"])
def test_collect_bad_paths_file(tmp_path, capsys, content):
    paths_file = tmp_path / "paths.json"
    paths_file.write_text(content)
    code, _, err = run_cli(capsys, "collect", tmp_path, "--paths-file", paths_file)
    assert_one_line_error(code, err, str(paths_file))


def test_cli_module_entry_point(tmp_path):
    """The documented ``python -m`` form runs, prints one error line and exits 1 on a missing folder."""
    result = subprocess.run(
        [sys.executable, "-m", "responserank.synthetic.analysis.cli", "find", str(tmp_path / "nope"), "out"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.strip() == f"error: {tmp_path / 'nope'}: experiment folder does not exist"


def test_help_explains_each_subcommand(capsys):
    for command, fragment in (
        ("find", "experiment_paths.json"),
        ("collect", "--paths-file"),
        ("generate", "--usetex"),
    ):
        with pytest.raises(SystemExit) as exit_info:
            main([command, "--help"])
        assert exit_info.value.code == 0
        assert fragment in capsys.readouterr().out


def test_collect_refuses_unfinished_run(tmp_path, make_experiment, capsys):
    experiment = make_experiment(tmp_path / "runs", "stochastic", num_trials=2)
    (experiment / "ABORTED").write_text("")
    paths_file = tmp_path / "paths.json"
    paths_file.write_text(json.dumps({"stochastic": str(experiment)}))
    code, _, err = run_cli(capsys, "collect", tmp_path / "results", "--paths-file", paths_file)
    assert_one_line_error(code, err, str(experiment), "unfinished or was aborted", "resume=")
    assert not (tmp_path / "results").exists()

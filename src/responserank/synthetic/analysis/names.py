"""Names shared by find / collect / generate: learners, dataset configs, triplets, metrics.

Learner keys and dataset config names are the ones of ``conf/synthetic/`` (spec ``synthetic.md`` §1.5, §2).
"""

from __future__ import annotations

import yaml

from responserank.resources import conf_dir as shipped_conf_dir

# Learner key → display name, in the order used in every table, legend and figure.
LEARNERS: dict[str, str] = {
    "bt": "BT",
    "rt_regression": "RtRegression",
    "rt_regression_perm": "RtRegression-Perm",
    "rr": "ResponseRank",
    "rr_pooled": "ResponseRank-Pool",
    "rr_perm": "ResponseRank-Perm",
}
# Learners a cache may hold in addition (shown after the six when every cache of a figure/table has them).
OPTIONAL_LEARNERS: dict[str, str] = {"ddm": "DDM"}
ALL_LEARNERS: dict[str, str] = LEARNERS | OPTIONAL_LEARNERS

# Dataset config name → display name (the ``name`` field of the config, stored as metadata.json's "dataset").
DATASET_CONFIGS: dict[str, str] = {
    "deterministic_all": "Deterministic",
    "stochastic": "Stochastic",
    "drift_diffusion": "Drift Diffusion",
    "deterministic_all_no_variability": "Deterministic No Variability",
    "stochastic_no_variability": "Stochastic No Variability",
    "drift_diffusion_no_variability": "Drift Diffusion No Variability",
}
# Config name → short name in the reproduction report's Markdown tables.
SHORT_DATASET: dict[str, str] = {
    "deterministic_all": "Det",
    "stochastic": "Stoch",
    "drift_diffusion": "DDM",
    "deterministic_all_no_variability": "Det-NoVar",
    "stochastic_no_variability": "Stoch-NoVar",
    "drift_diffusion_no_variability": "DDM-NoVar",
}

# Output suffix → the three configs of that triplet (order: Det, Stoch, DDM).
TRIPLETS: dict[str, tuple[str, str, str]] = {
    "with_variability": ("deterministic_all", "stochastic", "drift_diffusion"),
    "no_variability": (
        "deterministic_all_no_variability",
        "stochastic_no_variability",
        "drift_diffusion_no_variability",
    ),
}

# Config name → short family name used in figure titles and confusion-matrix file names.
FAMILY_TITLE: dict[str, str] = {
    "deterministic_all": "Deterministic",
    "stochastic": "Stochastic",
    "drift_diffusion": "Drift Diffusion",
}
FAMILY_FILE_STEM: dict[str, str] = {
    "deterministic_all": "deterministic",
    "stochastic": "stochastic",
    "drift_diffusion": "ddm",
}

# Per-run summary metrics kept by ``collect``; key → (table/figure label, short label).
METRICS: dict[str, tuple[str, str]] = {
    "choice_accuracy": ("Accuracy", "Accuracy"),
    "pearson_distance_correlation": ("Pearson Distance Correlation", "PDC"),
}
# Per-trial dataset metrics kept once per trial (from the alphabetically first learner at the largest size).
KENDALL_TAU = "test_abs_logit_diff_rt_kendall_tau"
CONFUSION_MATRIX = "test_confusion_matrix"
DATASET_METRICS = (CONFUSION_MATRIX, KENDALL_TAU)

NO_VARIABILITY_SUFFIX = "_no_variability"


def family_of(config: str) -> str:
    """``stochastic_no_variability`` → ``stochastic``."""
    return config.removesuffix(NO_VARIABILITY_SUFFIX)


def display_name_to_config() -> dict[str, str]:
    """Display name → config name, from the built-in six configs plus the shipped ``conf/synthetic/dataset/*.yaml``.

    Configs of a user's own ``--config-dir`` are not seen here; their runs are recognised by the
    ``dataset=<config>`` part of the run folder's name.
    """
    mapping = {display: config for config, display in DATASET_CONFIGS.items()}
    conf_dir = shipped_conf_dir("synthetic") / "dataset"
    if conf_dir.is_dir():
        for path in sorted(conf_dir.glob("*.yaml")):
            try:
                content = yaml.safe_load(path.read_text(encoding="utf-8"))
            except (OSError, yaml.YAMLError):
                continue
            if isinstance(content, dict) and isinstance(content.get("name"), str):
                mapping[content["name"]] = path.stem
    return mapping

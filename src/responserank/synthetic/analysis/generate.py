"""``generate``: every figure and table of the synthetic experiments, per triplet, from the collected caches.

For each suffix (``with_variability``, ``no_variability``) whose configs have a cache in ``cache_dir``:

====================================================================  =============================================
file                                                                  content
====================================================================  =============================================
``combined_metrics_boxplot_<suffix>.{pdf,png}``                        PDC / accuracy boxplots pooled over sizes
``metrics_vs_datasize_combined_<suffix>.{pdf,png}``                    mean ± 1.96·SD/√n vs size, RR-vs-BT notes
``test_abs_logit_diff_rt_kendall_tau_combined_histograms_<suffix>…``  per-trial Kendall τ(RT, |Δu|)
``{deterministic,stochastic,ddm}[_no_variability]_confusion_matrix…``  true preference × choice, summed over trials
``choice_accuracy_table_<suffix>.tex``, ``pearson_distance_…``         mean ± SD [± CI95] per dataset/learner/size
``statistical_table_<suffix>.tex``                                     paired Wilcoxon tests with effect sizes
``vars_<suffix>.tex``                                                  ``\\newcommand{\\numTrials}{…}``
``summary.md``                                                         the main tables in Markdown, links to PNGs
====================================================================  =============================================

Everything is validated first and written into a staging folder that replaces the files in ``figures_dir`` only
when all outputs succeeded. Figures have fixed metadata: the same caches give byte-identical files.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import matplotlib

from responserank.errors import AnalysisError
from responserank.reporting import (
    atomic_directory,
    check_output_dir,
    check_usetex,
    configure_matplotlib,
    save_figure,
    summary_with_section,
)
from responserank.synthetic.analysis import figures, tables
from responserank.synthetic.analysis.cache import DatasetResults, load_caches
from responserank.synthetic.analysis.names import (
    FAMILY_FILE_STEM,
    KENDALL_TAU,
    METRICS,
    NO_VARIABILITY_SUFFIX,
    TRIPLETS,
    family_of,
)

TRIPLET_TITLES = {"with_variability": "With RT variability", "no_variability": "Without RT variability"}


def triplets(caches: dict[str, DatasetResults]) -> dict[str, list[DatasetResults]]:
    """suffix → the triplet's datasets that have a cache (Det, Stoch, DDM order); empty triplets left out."""
    groups = {}
    for suffix, configs in TRIPLETS.items():
        present = [caches[config] for config in configs if config in caches]
        if not present:
            continue
        reference = present[0]
        for results in present[1:]:
            if list(results.sizes) != list(reference.sizes):
                raise AnalysisError(
                    f"{results.path}: training sizes {list(results.sizes)} differ from those of "
                    f"{reference.path} ({list(reference.sizes)}); one triplet's tables need the same sizes"
                )
        groups[suffix] = present
    return groups


def _alphabetical(datasets: Sequence[DatasetResults]) -> list[DatasetResults]:
    return sorted(datasets, key=tables.dataset_title)


def confusion_stem(config: str) -> str:
    """``drift_diffusion_no_variability`` → ``ddm_no_variability``."""
    stem = FAMILY_FILE_STEM.get(family_of(config), family_of(config))
    return stem + (NO_VARIABILITY_SUFFIX if config.endswith(NO_VARIABILITY_SUFFIX) else "")


def _write_triplet(out: Path, suffix: str, datasets: list[DatasetResults]) -> list[str]:
    """Write every output of one triplet into ``out``; returns the file names."""
    written = []

    def figure(fig, stem: str) -> None:
        written.extend(path.name for path in save_figure(fig, out / stem))

    def text(name: str, content: str) -> None:
        (out / name).write_text(content, encoding="utf-8")
        written.append(name)

    # The boxplot orders datasets alphabetically (as the paper does); everything else Det, Stoch, DDM.
    figure(figures.combined_metrics_boxplot(_alphabetical(datasets)), f"combined_metrics_boxplot_{suffix}")
    figure(figures.metrics_vs_datasize(datasets), f"metrics_vs_datasize_combined_{suffix}")
    figure(figures.kendall_tau_histograms(datasets), f"{KENDALL_TAU}_combined_histograms_{suffix}")
    for results in datasets:
        figure(figures.confusion_matrix_figure(results), f"{confusion_stem(results.config)}_confusion_matrix")
    for metric in METRICS:
        text(f"{metric}_table_{suffix}.tex", tables.metric_table_latex(datasets, metric))
    text(f"vars_{suffix}.tex", tables.vars_latex(datasets))
    text(f"statistical_table_{suffix}.tex", tables.statistical_table_latex(datasets))
    return written


def summary_markdown(groups: dict[str, list[DatasetResults]]) -> str:
    """``summary.md``: the main tables of every triplet in Markdown, with links to the PNG figures."""
    parts = [
        "# Synthetic experiments: summary\n",
        "Generated by `python -m responserank.synthetic.analysis.cli generate` from the caches "
        + ", ".join(f"`{r.path.name}`" for datasets in groups.values() for r in datasets)
        + ". Accuracy is choice accuracy on the 200 test pairs (in %), PDC the Pearson correlation of true and "
        "predicted |utility differences|. Cells: mean ± SD over trials (the LaTeX tables add the 95% CI); "
        "bold: highest mean per dataset and size.\n",
    ]
    for suffix, datasets in groups.items():
        names = ", ".join(tables.dataset_title(r) for r in datasets)
        trials = "/".join(str(n) for n in sorted({r.num_trials for r in datasets}))
        pairs = "/".join(str(n) for n in sorted({r.num_trials * len(r.sizes) for r in datasets}))
        parts += [
            f"## {TRIPLET_TITLES[suffix]} ({names}; {trials} trials)\n",
            "### Accuracy (%)\n",
            tables.metric_table_markdown(datasets, "choice_accuracy"),
            "### Pearson distance correlation (PDC)\n",
            tables.metric_table_markdown(datasets, "pearson_distance_correlation"),
            "### ResponseRank vs BT: data efficiency\n",
            "Where ResponseRank's mean (linearly interpolated between sizes) reaches BT's mean at 100% of the "
            "training set.\n",
            tables.efficiency_table_markdown(datasets),
            "### Paired significance tests\n",
            "Two-sided Wilcoxon signed-rank tests on samples pooled over all sizes, paired by (size, trial) "
            f"({pairs} pairs). ↑: the first-named model has the higher mean (higher is better for both "
            "metrics). Mean diff.: first-named minus second-named (accuracy in % points); effect size = mean "
            "diff. / SD of both samples.\n",
            tables.statistical_table_markdown(datasets),
            "### Datasets\n",
            tables.dataset_table_markdown(datasets),
            "### Figures\n",
            f"![Metrics vs training-set size](metrics_vs_datasize_combined_{suffix}.png)\n",
            f"![Boxplots over all sizes and trials](combined_metrics_boxplot_{suffix}.png)\n",
            f"![Kendall tau of RT and utility difference]({KENDALL_TAU}_combined_histograms_{suffix}.png)\n",
            *(
                f"![Confusion matrix {tables.dataset_title(r)}]({confusion_stem(r.config)}_confusion_matrix.png)\n"
                for r in datasets
            ),
        ]
    return "\n".join(parts)


def generate(cache_dir: str | os.PathLike, figures_dir: str | os.PathLike, usetex: bool = False) -> list[str]:
    """Write all outputs for the triplets found in ``cache_dir`` to ``figures_dir``; returns the file names."""
    figures_dir = check_output_dir(figures_dir, "FIGURES_DIR")
    groups = triplets(load_caches(cache_dir))
    check_usetex(usetex)
    written = []
    with matplotlib.rc_context():
        configure_matplotlib(usetex=usetex)
        with atomic_directory(figures_dir) as staging:
            for suffix, datasets in groups.items():
                written += _write_triplet(staging, suffix, datasets)
            summary = summary_with_section(figures_dir, "synthetic", summary_markdown(groups))
            (staging / "summary.md").write_text(summary, encoding="utf-8")
            written.append("summary.md")
    return written

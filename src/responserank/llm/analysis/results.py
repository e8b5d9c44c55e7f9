"""Finished runs of the registry's experiments, indexed by (experiment key, fraction, metric).

Only ``run_state == "finished"`` runs count (failed / crashed runs shift some means, spec ``llm.md`` §14). Runs
are tied to the registry's experiments as in ``collect`` (by egid, or by preset name for local runs); others are
ignored. Two finished runs of the same experiment, fraction and seed are an
error (which one is meant cannot be decided here). Summaries use SD with ddof 1 and the Student-t CI95.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from responserank.errors import AnalysisError
from responserank.llm.analysis.cache import LLMCache
from responserank.llm.analysis.names import EXPECTED_SEEDS, FINISHED
from responserank.llm.analysis.registry import Experiment, resolve_experiments
from responserank.reporting import Summary, summarize

LLM_DDOF = 1
FULL_DATA = 1.0


@dataclass
class Results:
    runs: pd.DataFrame  # finished runs with a "key" column
    experiments: dict[str, Experiment]
    _cache: dict = field(default_factory=dict, repr=False)

    def has(self, key: str, fraction: float | None = None) -> bool:
        rows = self.runs["key"] == key
        if fraction is not None:
            rows &= self.runs["fraction"] == fraction
        return bool(rows.any())

    def fractions(self, key: str) -> list[float]:
        return sorted(float(f) for f in self.runs.loc[self.runs["key"] == key, "fraction"].unique())

    def cell(self, key: str, fraction: float) -> pd.DataFrame:
        """Runs of one experiment at one fraction, sorted by seed."""
        rows = self.runs[(self.runs["key"] == key) & (self.runs["fraction"] == fraction)]
        return rows.sort_values("seed", kind="stable")

    def summary(self, key: str, fraction: float, metric: str) -> Summary | None:
        """Mean, SD (ddof 1), CI95 of ``metric`` (fraction in [0, 1]) or None when there is no value."""
        index = (key, fraction, metric)
        if index not in self._cache:
            values = self.cell(key, fraction)[metric].to_numpy(dtype=np.float64)
            result = summarize(values, ddof=LLM_DDOF)
            self._cache[index] = result if result.n > 0 else None
        return self._cache[index]

    def label(self, key: str) -> str:
        return self.experiments[key].display_name if key in self.experiments else key


def finished_results(cache: LLMCache) -> Results:
    runs = cache.runs
    experiments = resolve_experiments(runs, cache.experiments)
    finished = runs[runs["run_state"] == FINISHED]
    if finished.empty:
        states = ", ".join(f"{s}: {n}" for s, n in sorted(runs["run_state"].value_counts().items()))
        raise AnalysisError(f"no finished runs in the cache ({len(runs)} runs; states {states or 'none'})")
    by_egid = {e.egid: key for key, e in experiments.items()}
    finished = finished.assign(key=finished["egid"].map(by_egid))
    finished = finished[finished["key"].notna()]
    if finished.empty:
        raise AnalysisError("no finished run belongs to an experiment of registry.yaml (no egid matches)")
    duplicated = finished[finished.duplicated(["key", "fraction", "seed"], keep=False)]
    if len(duplicated):
        first = duplicated.iloc[0]
        same = duplicated[
            (duplicated["key"] == first["key"])
            & (duplicated["fraction"] == first["fraction"])
            & (duplicated["seed"] == first["seed"])
        ]
        ids = ", ".join(str(i) for i in same.get("run_id", same.index))
        raise AnalysisError(
            f"{len(same)} finished runs of {first['key']} at fraction {first['fraction']:g}, seed "
            f"{first['seed']} (run ids {ids}); keep one (set the others' run_state to e.g. 'duplicate' "
            "in runs.csv)"
        )
    return Results(runs=finished.reset_index(drop=True), experiments=experiments)


def seed_warnings(results: Results, keys) -> list[str]:
    """One line per experiment with fewer than the paper's 30 seeds at some fraction."""
    out = []
    for key in keys:
        short = []
        for fraction in results.fractions(key):
            n = int(results.cell(key, fraction)["seed"].nunique())
            if n < EXPECTED_SEEDS:
                short.append(f"{fraction * 100:g} %: {n}")
        if short:
            out.append(f"{key}: fewer than {EXPECTED_SEEDS} seeds ({'; '.join(short)})")
    return out

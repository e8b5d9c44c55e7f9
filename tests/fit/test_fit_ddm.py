"""The ``ddm`` and ``ez`` fit methods on choices and response times simulated from a drift-diffusion model with
per-subject boundaries and non-decision times (the signal both methods are meant to use)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from responserank.errors import FitError
from responserank.fitting import Problem, Settings, fit, fit_utilities
from responserank.metrics import pearson_distance_correlation, utility_correlation
from responserank.synthetic.drift_diffusion import simulate_drift_diffusion


def ddm_table(seed: int, num_items: int = 12, num_subjects: int = 4, per_subject: int = 150):
    """Every subject compares random pairs; drift = u_a − u_b, σ = 1, boundary and t0 differ by subject."""
    rng = np.random.default_rng(seed)
    utility = rng.normal(0.0, 1.0, num_items)
    boundary = np.array([1.0, 1.6, 2.2, 1.3])[:num_subjects]
    t0 = np.array([0.3, 0.5, 0.2, 0.4])[:num_subjects]
    subject = np.repeat(np.arange(num_subjects), per_subject)
    a, b = rng.integers(0, num_items, (2, subject.size))
    b = np.where(a == b, (b + 1) % num_items, b)
    upper = np.empty(subject.size, bool)
    decision = np.empty(subject.size)
    for s in range(num_subjects):  # one simulation call per subject (the boundary is a scalar there)
        rows = subject == s
        upper[rows], decision[rows] = simulate_drift_diffusion(
            utility[a[rows]] - utility[b[rows]], threshold=boundary[s], noise_std=1.0, dt=0.001, rng=rng
        )
    table = pd.DataFrame(
        {
            "left": [f"item{i:02d}" for i in a],
            "right": [f"item{i:02d}" for i in b],
            "choice": np.where(upper, "L", "R"),
            "rt": decision + t0[subject],
            "annotator": [f"s{s}" for s in subject],
        }
    )
    return table, utility


def _problem(table: pd.DataFrame) -> Problem:
    items = pd.Index(sorted(set(table["left"]) | set(table["right"])))
    return Problem(
        items.get_indexer(table["left"]), items.get_indexer(table["right"]), (table["choice"] == "L").to_numpy(),
        len(items), rank=table["rt"].to_numpy(), stratum=pd.factorize(table["annotator"])[0],
        strength=table["rt"].to_numpy(),
    )  # fmt: skip


@pytest.mark.parametrize("method", ["ddm", "ez"])
def test_recovers_the_utilities_and_uses_the_times(method):
    spearman, pdc = {}, {}
    for m in ("bt", method):
        rho, d = [], []
        for seed in range(3):
            table, truth = ddm_table(seed)
            utility, _ = fit_utilities(_problem(table), np.ones((1, len(table)), bool), m)
            rho.append(float(utility_correlation(truth, utility[0], method="spearman")))
            first, second = np.triu_indices(truth.size, 1)
            d.append(
                float(
                    pearson_distance_correlation(
                        truth[first] - truth[second], utility[0, first] - utility[0, second]
                    )
                )
            )
        spearman[m], pdc[m] = np.mean(rho), np.mean(d)
    assert spearman[method] > 0.9
    assert pdc[method] > 0.8
    if method == "ddm":  # correctly specified, with the RTs: at least as good as BT
        assert spearman["ddm"] >= spearman["bt"] - 0.01
        assert pdc["ddm"] >= pdc["bt"] - 0.01


def test_ddm_utilities_are_on_the_choice_probability_scale():
    """With a global boundary the reported utilities are a·u: σ(Δu) is the DDM's choice probability."""
    table, truth = ddm_table(5, num_subjects=1, per_subject=1500)
    utility, _ = fit_utilities(
        _problem(table), np.ones((1, len(table)), bool), "ddm", Settings(l2=0.01, ddm_boundary="global")
    )
    slope = np.polyfit(truth - truth.mean(), utility[0] - utility[0].mean(), 1)[0]
    assert slope == pytest.approx(1.0, rel=0.12)  # boundary 1.0 for the first subject


def test_fit_api_and_options():
    table, _ = ddm_table(1, num_subjects=2, per_subject=80)
    result = fit(
        table, item_a="left", item_b="right", choice="choice", a_chosen_value="L", strength="rt",
        stratum="annotator", methods=["ddm", "ez"], folds=3, train_fractions=[1.0],
        ddm_boundary="global", progress=False,
    )  # fmt: skip
    assert set(result.metrics["method"]) == {"bt", "ddm", "ez"}
    assert result.metrics["heldout_accuracy"].between(0.5, 1.0).all()
    default = fit(
        table, item_a="left", item_b="right", choice="choice", a_chosen_value="L", strength="rt",
        stratum="annotator", folds=3, train_fractions=[1.0], progress=False,
    )  # fmt: skip
    assert "ddm" not in set(default.metrics["method"])  # opt-in
    with pytest.raises(FitError, match="ddm boundary"):
        fit(
            table, item_a="left", item_b="right", choice="choice", a_chosen_value="L", strength="rt",
            methods=["ddm"], ddm_boundary="subject", progress=False,
        )  # fmt: skip
    with pytest.raises(FitError, match="ddm"):
        fit(
            table, item_a="left", item_b="right", choice="choice", a_chosen_value="L", strength="rt",
            strength_higher_is_stronger=True, methods=["ddm"], progress=False,
        )  # fmt: skip

"""Fitting utilities: known utilities are recovered, ResponseRank uses the RT signal, batching is exact."""

from __future__ import annotations

import inspect
import re

import numpy as np
import pandas as pd
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st

import responserank
from responserank.__main__ import build_parser
from responserank.fitting import (
    Columns,
    FitError,
    Problem,
    Settings,
    centre,
    fit,
    fit_utilities,
    prepare_comparisons,
)
from responserank.fitting.evaluate import corrected_paired_test
from responserank.metrics import label_agreement, pearson_distance_correlation, utility_correlation

COLUMNS = Columns("left", "right", "choice", "L", strength="rt", stratum=("annotator",))
OPTIONS = dict(
    item_a="left", item_b="right", choice="choice", a_chosen_value="L", strength="rt", stratum="annotator"
)


def problem_of(table: pd.DataFrame) -> Problem:
    comparisons = prepare_comparisons(table, COLUMNS)
    return Problem(
        comparisons.item_a, comparisons.item_b, comparisons.first_chosen, comparisons.num_items,
        rank=comparisons.rank, stratum=comparisons.stratum, strength=comparisons.strength,
    )  # fmt: skip


def stacked_problem(make_table, seeds, shuffle_rt: bool):
    """Many small independent data sets as one problem (disjoint items and strata): one batched fit for all."""
    frames, truths = [], []
    for seed in seeds:
        table, utility = make_table(seed, shuffle_rt=shuffle_rt)  # 20 items, 60 comparisons, 6 annotators
        for column in ("left", "right", "annotator"):
            table[column] = f"{seed}/" + table[column]
        frames.append(table)
        truths.append(pd.Series(utility, index=[f"{seed}/item{i:02d}" for i in range(utility.size)]))
    table = pd.concat(frames, ignore_index=True)
    truth = pd.concat(truths)
    item_a = pd.Index(truth.index).get_indexer(table["left"])
    item_b = pd.Index(truth.index).get_indexer(table["right"])
    annotator = pd.factorize(table["annotator"])[0]
    problem = Problem(
        item_a, item_b, (table["choice"] == "L").to_numpy(), truth.size,
        rank=table["rt"].to_numpy(), stratum=annotator, strength=table["rt"].to_numpy(),
    )  # fmt: skip
    return problem, truth.to_numpy().reshape(len(seeds), -1)


def recovery(problem: Problem, truth: np.ndarray, method: str) -> tuple[np.ndarray, np.ndarray]:
    """Per data set: Spearman of utilities with the truth, and PDC over all item pairs."""
    utility, _ = fit_utilities(problem, np.ones((1, problem.item_a.size), bool), method)
    utility = utility.reshape(truth.shape)
    first, second = np.triu_indices(truth.shape[1], 1)
    spearman = utility_correlation(truth, utility, method="spearman")
    pdc = pearson_distance_correlation(
        truth[:, first] - truth[:, second], utility[:, first] - utility[:, second]
    )
    return spearman, pdc


SEEDS = range(30)


@pytest.fixture(scope="module")
def informative(make_table):
    problem, truth = stacked_problem(make_table, SEEDS, shuffle_rt=False)
    return {m: recovery(problem, truth, m) for m in ("bt", "responserank")}


@pytest.fixture(scope="module")
def shuffled(make_table):
    problem, truth = stacked_problem(make_table, SEEDS, shuffle_rt=True)
    return {m: recovery(problem, truth, m) for m in ("bt", "responserank")}


def test_known_utilities_are_recovered(make_table):
    table, truth = make_table(1, num_items=15, num_comparisons=1500, temperature=1.0)
    result = fit(table, **OPTIONS, folds=2, train_fractions=[1.0], methods=["bt", "responserank"], seed=0)
    items = result.comparisons.items
    true = pd.Series(truth, index=[f"item{i:02d}" for i in range(truth.size)]).loc[items].to_numpy()
    true = true - true.mean()
    bt = result.full_fit["bt"]
    slope = np.polyfit(true, bt, 1)[0]
    assert np.corrcoef(true, bt)[0, 1] > 0.98 and 0.85 < slope < 1.1  # choices follow σ(Δu): BT's own scale
    assert np.abs(bt - true).max() < 4 * result.utilities.query("method == 'bt'")["utility_sd"].max()
    assert scipy.stats.spearmanr(true, result.full_fit["responserank"]).statistic > 0.9
    # held-out accuracy close to that of the true utilities (the ceiling set by the choice noise)
    index = pd.Index([f"item{i:02d}" for i in range(truth.size)])
    ceiling = label_agreement(
        truth[index.get_indexer(table["left"])],
        truth[index.get_indexer(table["right"])],
        table["choice"] == "L",
    )
    assert result.metrics.set_index("method").loc["bt", "heldout_accuracy"] > ceiling - 0.05


def test_responserank_recovers_stronger_preference_ordering_when_rt_carries_signal(informative):
    (bt_rho, bt_pdc), (rr_rho, rr_pdc) = informative["bt"], informative["responserank"]
    # 30 data sets of 60 comparisons: RR ranks items and preference strengths better than BT in most of them.
    assert rr_pdc.mean() - bt_pdc.mean() > 0.15 and (rr_pdc > bt_pdc).mean() >= 0.8
    assert rr_rho.mean() - bt_rho.mean() > 0.05 and (rr_rho > bt_rho).mean() >= 0.7
    assert scipy.stats.wilcoxon(rr_pdc, bt_pdc).pvalue < 1e-4


def test_with_shuffled_rt_the_gain_disappears_and_bt_is_untouched(informative, shuffled):
    """RR's advantage comes from the RT signal. With RTs shuffled inside each annotator the ranking term is noise
    and RR falls below BT (as the paper's RR-Perm control does); BT ignores RT and is exactly unchanged."""
    np.testing.assert_allclose(shuffled["bt"][0], informative["bt"][0])
    rr_informative, rr_shuffled, bt = (
        informative["responserank"][1],
        shuffled["responserank"][1],
        shuffled["bt"][1],
    )
    assert rr_informative.mean() - rr_shuffled.mean() > 0.3
    assert rr_shuffled.mean() < bt.mean()


def test_cross_validation_reports_when_rt_does_not_help(make_table):
    """What protects a user whose RT carries no signal: the held-out comparison shows RR losing to BT."""
    frames = []
    for seed in range(4):
        table, _ = make_table(seed, num_items=10, num_comparisons=150, shuffle_rt=True)
        frames.append(table.assign(annotator=f"{seed}/" + table["annotator"]))
    table = pd.concat(frames, ignore_index=True)
    result = fit(
        table, **OPTIONS, folds=5, repeats=2, train_fractions=[1.0], methods=["responserank"], seed=3
    )
    paired = result.paired.set_index("metric").loc["heldout_log_likelihood"]
    assert paired["mean_difference"] < 0 and paired["p_value"] < 0.05


def test_batched_fit_equals_separate_fits(make_table):
    table, _ = make_table(2, num_items=10, num_comparisons=120)
    problem = problem_of(table)
    rng = np.random.default_rng(0)
    masks = rng.random((3, len(table))) < 0.7
    for method in ("bt", "responserank", "margin_bt", "rt_regression"):
        together, _ = fit_utilities(problem, masks, method)
        for row, mask in enumerate(masks):
            alone, _ = fit_utilities(problem, mask[None], method)
            np.testing.assert_allclose(together[row], alone[0], atol=2e-5)


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
def test_row_order_and_side_swap_do_not_change_utilities(make_table, seed):
    table, _ = make_table(5, num_items=8, num_comparisons=60)
    problem = problem_of(table)
    rng = np.random.default_rng(seed)
    permutation = rng.permutation(len(table))
    swap = rng.random(len(table)) < 0.5
    changed = table.iloc[permutation].reset_index(drop=True)
    swapped = swap[permutation]
    left = changed["left"].where(~swapped, changed["right"])
    right = changed["right"].where(~swapped, changed["left"])
    flipped_choice = changed["choice"].map({"L": "R", "R": "L"})
    changed = changed.assign(left=left, right=right, choice=changed["choice"].where(~swapped, flipped_choice))
    other = problem_of(changed)
    # same item labels, possibly in another order
    order = pd.Index(prepare_comparisons(changed, COLUMNS).items).get_indexer(
        prepare_comparisons(table, COLUMNS).items
    )
    for method in ("bt", "responserank"):
        expected, _ = fit_utilities(problem, np.ones((1, len(table)), bool), method)
        got, _ = fit_utilities(other, np.ones((1, len(table)), bool), method)
        np.testing.assert_allclose(got[0, order], expected[0], atol=1e-5)


def test_centre_makes_each_component_mean_zero_and_keeps_differences():
    rng = np.random.default_rng(0)
    utility = rng.normal(size=(3, 7))
    component = np.array([0, 0, 1, 1, 1, 2, 0])
    centred = centre(utility, component)
    for c in range(3):
        np.testing.assert_allclose(centred[:, component == c].mean(axis=1), 0.0, atol=1e-12)
        members = np.flatnonzero(component == c)
        np.testing.assert_allclose(
            np.diff(centred[:, members], axis=1), np.diff(utility[:, members], axis=1), atol=1e-12
        )


def test_jackknife_standard_error_shrinks_like_one_over_root_n(make_table):
    table, _ = make_table(3, num_items=10, num_comparisons=400, temperature=1.0)
    options = dict(OPTIONS, strength=None, stratum=())
    small = fit(table, **options, folds=5, train_fractions=[1.0], seed=0)
    large = fit(
        pd.concat([table, table], ignore_index=True), **options, folds=5, train_fractions=[1.0], seed=0
    )
    ratio = large.utilities["utility_sd"].mean() / small.utilities["utility_sd"].mean()
    assert 0.55 < ratio < 0.85  # 1/√2 ≈ 0.71


def test_feature_model_predicts_items_it_never_trained_on(make_table):
    rng = np.random.default_rng(4)
    features = pd.DataFrame({"id": [f"item{i:02d}" for i in range(200)], "x1": rng.normal(size=200)})
    features["x2"] = rng.normal(size=200)
    weight = np.array([1.5, -1.0])
    utility = features[["x1", "x2"]].to_numpy() @ weight
    first, second = rng.permutation(200).reshape(2, 100)  # every item in exactly one comparison
    chosen = rng.random(100) < 1 / (1 + np.exp(-(utility[first] - utility[second])))
    table = pd.DataFrame(
        {
            "a": features["id"][first].to_numpy(),
            "b": features["id"][second].to_numpy(),
            "pick": chosen.astype(int),
        }
    )
    result = fit(
        table, item_a="a", item_b="b", choice="pick", a_chosen_value=1, item_features=features, item_key="id",
        folds=4, train_fractions=[1.0], seed=0,
    )  # fmt: skip
    weights = result.coefficients.set_index("feature")["weight"]
    cosine = weights.to_numpy() @ weight / np.linalg.norm(weights) / np.linalg.norm(weight)
    assert cosine > 0.9
    assert result.metrics["heldout_accuracy"].iloc[0] > 0.7  # all held-out items are unseen in training
    assert result.metrics["unseen_share"].iloc[0] == 1.0


def test_same_seed_same_numbers_and_the_lazy_export(make_table):
    table, _ = make_table(6, num_items=8, num_comparisons=80)
    first = responserank.fit(table, **OPTIONS, folds=3, train_fractions=[0.5, 1.0], seed=11)
    second = responserank.fit(table, **OPTIONS, folds=3, train_fractions=[0.5, 1.0], seed=11)
    pd.testing.assert_frame_equal(first.fold_metrics, second.fold_metrics)
    pd.testing.assert_frame_equal(first.utilities, second.utilities)
    other = responserank.fit(table, **OPTIONS, folds=3, train_fractions=[0.5, 1.0], seed=12)
    assert not np.allclose(other.fold_metrics["heldout_accuracy"], first.fold_metrics["heldout_accuracy"])
    assert responserank.fit is fit


def test_corrected_test_is_more_conservative_than_the_plain_paired_t_test():
    differences = np.random.default_rng(0).normal(0.01, 0.02, size=10)
    result = corrected_paired_test(differences, heldout_share=0.25)
    plain = scipy.stats.ttest_1samp(differences, 0.0).pvalue
    assert result["p_value"] > plain
    assert result["ci95_low"] < result["mean_difference"] < result["ci95_high"]
    assert np.isnan(corrected_paired_test(np.zeros(1), 0.25)["p_value"])


def _gaps(rank: list[float], ties: str) -> np.ndarray:
    """Utility gaps of two comparisons (item 0 over 1, item 2 over 3) in one stratum, fitted by ResponseRank."""
    problem = Problem(
        np.array([0, 2]),
        np.array([1, 3]),
        np.array([True, True]),
        4,
        rank=np.array(rank),
        stratum=np.zeros(2, int),
    )
    utility, _ = fit_utilities(problem, np.ones((1, 2), bool), "responserank", Settings(ties=ties))
    return utility[0, [0, 2]] - utility[0, [1, 3]]


def test_breslow_ties_share_a_risk_set_and_random_ties_take_one_strict_order():
    """Breslow: two tied comparisons are symmetric, so they get the same gap. Random: the tie is broken into one
    strict order, so the gaps are those of that order (the one ranked stronger gets the larger gap)."""
    breslow = _gaps([1.0, 1.0], "breslow")
    strict = _gaps([1.0, 2.0], "breslow")
    assert breslow[0] == pytest.approx(breslow[1], abs=1e-6)
    assert strict[0] - strict[1] > 0.05  # the two treatments differ measurably
    np.testing.assert_allclose(np.sort(_gaps([1.0, 1.0], "random")), np.sort(strict), atol=1e-6)
    with pytest.raises(ValueError, match="ties"):
        _gaps([1.0, 1.0], "error")


def test_tied_strengths_with_ties_error_are_a_one_line_fit_error(make_table):
    table, _ = make_table(7, num_items=8, num_comparisons=80)
    table["rt"] = np.ceil(table["rt"])  # coarse strength: many ties
    with pytest.raises(FitError, match=r"responserank: .*ties"):
        fit(table, **OPTIONS, folds=2, train_fractions=[1.0], methods=["responserank"], ties="error")


def test_methods_need_their_data(make_table):
    table, _ = make_table(8, num_items=8, num_comparisons=80)
    options = dict(OPTIONS, strength=None)
    with pytest.raises(ValueError, match="needs a strength column"):
        fit(table, **options, methods=["responserank"])
    with pytest.raises(ValueError, match="response times"):
        fit(table, **dict(OPTIONS, strength_higher_is_stronger=True), methods=["rt_regression"])
    result = fit(table, **options, folds=2, train_fractions=[1.0])
    assert list(result.metrics["method"]) == ["bt"] and result.paired.empty


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ({"l2": -1}, "l2 must be >= 0, got -1"),
        ({"ties": "cox"}, "ties='cox' is not valid"),
        ({"margin_scale": float("nan")}, "margin scale must be >= 0"),
        ({"ddm_boundary": "subject"}, "ddm boundary 'subject' is not valid"),
        ({"seed": 1.5}, "seed must be an integer >= 0, got 1.5"),
    ],
)
def test_bad_settings_are_one_line_fit_errors(option, message):
    with pytest.raises(FitError, match=re.escape(message)):
        Settings(**option)


def test_the_command_line_and_fit_share_the_defaults_of_settings():
    """One source of defaults: every option the command line leaves out gets the default ``fit`` would use."""
    args = build_parser().parse_args(["fit", "t.csv", "--item-a", "a", "--item-b", "b", "--choice", "c",
                                      "--a-chosen-value", "1", "--out", "o"])  # fmt: skip
    defaults = {
        name: p.default for name, p in inspect.signature(fit).parameters.items() if p.default is not p.empty
    }
    shared = [name for name in vars(args) if name in defaults and name not in ("table", "command", "out")]
    assert len(shared) >= 15
    for name in shared:
        given = tuple(getattr(args, name)) if isinstance(getattr(args, name), list) else getattr(args, name)
        assert given == defaults[name] == getattr(Settings(), name, defaults[name]), name

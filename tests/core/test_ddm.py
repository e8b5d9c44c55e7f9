"""The drift-diffusion loss and its closed-form baselines: the density equals an independent reference (pyddm's
analytic solution, Anderson 1960), integrates to one, has correct gradients, stays finite at the extremes,
rejects bad input; EZ-diffusion inverts its own moment equations; the Li et al. estimator recovers θ from
simulated walks."""

from __future__ import annotations

import itertools
import math

import hypothesis.strategies as st
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from scipy import integrate

from responserank.ddm import (
    SWITCH_TIME,
    choice_probability,
    choice_time_ratio_estimate,
    ddm_loss,
    ez_diffusion,
    log_standard_wiener_density,
    mean_decision_time,
    wiener_log_density,
)
from responserank.synthetic.drift_diffusion import simulate_drift_diffusion

F64 = torch.float64


def density(chosen_drift: float, time: float, boundary: float) -> float:
    return math.exp(
        float(
            wiener_log_density(
                torch.tensor([chosen_drift], dtype=F64), torch.tensor([time], dtype=F64), boundary
            )
        )
    )


# --------------------------------------------------------------------------------------------------------------
# The density
# --------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("drift", "boundary"), [(0.0, 1.0), (1.5, 2.0), (-3.0, 0.5), (0.3, 3.0), (8.0, 1.0), (-0.7, 4.0)]
)
def test_density_equals_pyddm_analytic_solution(drift, boundary):
    analytic = pytest.importorskip("pyddm.analytic")
    times = np.geomspace(1e-3, 6.0, 200)
    # pyddm: boundaries ±B around a start at 0, noise σ; ours: 0 and a, start a/2, σ = 1.
    upper, lower = analytic.analytic_ddm(drift, 1.0, boundary / 2, times.copy(), force_python=True)
    t = torch.tensor(times)
    ours_upper = wiener_log_density(torch.full_like(t, drift), t, boundary).exp().numpy()
    ours_lower = wiener_log_density(torch.full_like(t, -drift), t, boundary).exp().numpy()
    for reference, ours in ((upper, ours_upper), (lower, ours_lower)):
        resolved = reference > 1e-8  # pyddm's series stops at a 1e-10 relative increment and clips to 0
        assert resolved.sum() > 20
        np.testing.assert_allclose(ours[resolved], reference[resolved], rtol=1e-8)


def test_loss_equals_pyddm_model_with_non_decision_time():
    pyddm = pytest.importorskip("pyddm")
    drift, boundary, t0, dt = 0.8, 1.6, 0.25, 0.001
    model = pyddm.Model(
        drift=pyddm.DriftConstant(drift=drift),
        noise=pyddm.NoiseConstant(noise=1.0),
        bound=pyddm.BoundConstant(B=boundary / 2),
        overlay=pyddm.OverlayNonDecision(nondectime=t0),
        dx=0.001,
        dt=dt,
        T_dur=4.0,
    )
    solution = model.solve()
    grid = solution.t_domain
    index = np.flatnonzero((grid > t0 + 0.05) & (grid < 3.5))[::50]
    rt = torch.tensor(grid[index])
    for chosen, pdf in ((1.0, solution.pdf("upper")), (0.0, solution.pdf("lower"))):
        nll = ddm_loss(
            torch.full_like(rt, drift),
            torch.zeros_like(rt),
            torch.full_like(rt, chosen),
            rt,
            boundary=boundary,
            non_decision_time=t0,
            reduction="none",
        )
        np.testing.assert_allclose(np.exp(-nll.numpy()), pdf[index], rtol=1e-6)


@settings(max_examples=12)
@given(
    drift=st.floats(-6.0, 6.0),
    boundary=st.floats(0.3, 4.0),
    t0=st.floats(0.0, 1.0),
)
def test_density_integrates_to_one_and_gives_the_choice_probability(drift, boundary, t0):
    def f(rt: float, sign: float) -> float:
        return density(sign * drift, rt - t0, boundary) if rt > t0 else 0.0

    # Split the time axis where the mass is, so quad resolves the sharp peak of narrow boundaries.
    scale = boundary**2
    edges = [t0, t0 + 0.02 * scale, t0 + 0.2 * scale, t0 + 2 * scale, t0 + 20 * scale, math.inf]
    upper = sum(
        integrate.quad(f, lo, hi, args=(1.0,), epsabs=1e-13, epsrel=1e-12, limit=200)[0]
        for lo, hi in itertools.pairwise(edges)
    )
    lower = sum(
        integrate.quad(f, lo, hi, args=(-1.0,), epsabs=1e-13, epsrel=1e-12, limit=200)[0]
        for lo, hi in itertools.pairwise(edges)
    )
    assert abs(upper + lower - 1.0) < 1e-6
    expected = float(choice_probability(torch.tensor(drift, dtype=F64), boundary))
    assert abs(upper - expected) < 1e-6


@settings(max_examples=12)
@given(drift=st.floats(-4.0, 4.0), boundary=st.floats(0.3, 4.0))
def test_mean_decision_time_matches_the_density(drift, boundary):
    scale = boundary**2
    edges = [0.0, 0.02 * scale, 0.2 * scale, 2 * scale, 20 * scale, math.inf]

    def moment(t: float) -> float:
        return t * (density(drift, t, boundary) + density(-drift, t, boundary)) if t > 0 else 0.0

    mean = sum(
        integrate.quad(moment, lo, hi, epsabs=1e-13, limit=200)[0] for lo, hi in itertools.pairwise(edges)
    )
    expected = float(mean_decision_time(torch.tensor(drift, dtype=F64), boundary))
    assert mean == pytest.approx(expected, rel=1e-6)


def test_the_two_series_agree_at_the_switch_point():
    u = torch.tensor([SWITCH_TIME * (1 - 1e-12), SWITCH_TIME * (1 + 1e-12)], dtype=F64)
    values = log_standard_wiener_density(u)
    assert abs(float(values[0] - values[1])) < 1e-10


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_finite_for_extreme_drifts_and_response_times_next_to_t0(dtype):
    u_first = torch.tensor([1e4, -1e4, 0.0, 50.0, 3.0], dtype=dtype, requires_grad=True)
    u_second = torch.zeros(5, dtype=dtype)
    first_chosen = torch.tensor([1, 1, 0, 0, 1])
    t0 = torch.tensor(0.3, dtype=dtype, requires_grad=True)
    boundary = torch.tensor(1.5, dtype=dtype, requires_grad=True)
    rt = torch.tensor([0.3 + 1e-5, 0.31, 0.3 + 1e-6, 100.0, 1e3], dtype=dtype)
    loss = ddm_loss(
        u_first, u_second, first_chosen, rt, boundary=boundary, non_decision_time=t0, reduction="none"
    )
    assert torch.isfinite(loss).all()
    loss.sum().backward()
    for grad in (u_first.grad, t0.grad, boundary.grad):
        assert torch.isfinite(grad).all()


def test_gradcheck_in_utilities_and_per_stratum_parameters():
    g = torch.Generator().manual_seed(0)
    n = 12
    stratum = torch.arange(n) % 3
    rt = 0.4 + torch.rand(n, generator=g, dtype=F64) * 2.0
    u_first = torch.randn(n, generator=g, dtype=F64, requires_grad=True)
    u_second = torch.randn(n, generator=g, dtype=F64, requires_grad=True)
    boundary = torch.tensor([0.8, 1.5, 2.5], dtype=F64, requires_grad=True)
    t0 = torch.tensor([0.1, 0.3, 0.35], dtype=F64, requires_grad=True)
    scale = torch.tensor([0.5, 1.0, 2.0], dtype=F64, requires_grad=True)
    first_chosen = torch.rand(n, generator=g) < 0.5

    def loss(uf, us, a, t, k):
        return ddm_loss(
            uf, us, first_chosen, rt, boundary=a, non_decision_time=t, drift_scale=k, stratum=stratum
        )

    assert torch.autograd.gradcheck(loss, (u_first, u_second, boundary, t0, scale))
    # across the series switch: small and large normalised times in one batch
    rt_wide = torch.tensor([0.301, 0.35, 0.5, 1.0, 3.0, 9.0], dtype=F64)
    u = torch.randn(6, generator=g, dtype=F64, requires_grad=True)
    a = torch.tensor(1.0, dtype=F64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda u, a: ddm_loss(
            u, torch.zeros(6, dtype=F64), torch.ones(6), rt_wide, boundary=a, non_decision_time=0.3
        ),
        (u, a),
    )


def test_per_stratum_parameters_equal_separate_scalar_calls():
    g = torch.Generator().manual_seed(1)
    stratum = torch.tensor([0, 1, 1, 0, 2, 2, 1])
    rt = 0.5 + torch.rand(7, generator=g, dtype=F64)
    uf, us = torch.randn(7, generator=g, dtype=F64), torch.randn(7, generator=g, dtype=F64)
    chosen = torch.tensor([1, 0, 1, 1, 0, 0, 1])
    a, t0, k = (
        torch.tensor([1.0, 2.0, 0.7], dtype=F64),
        torch.tensor([0.1, 0.2, 0.4], dtype=F64),
        torch.tensor([1.0, 0.5, 3.0], dtype=F64),
    )
    joint = ddm_loss(
        uf, us, chosen, rt, boundary=a, non_decision_time=t0, drift_scale=k, stratum=stratum, reduction="none"
    )
    for s in range(3):
        m = stratum == s
        alone = ddm_loss(
            uf[m],
            us[m],
            chosen[m],
            rt[m],
            boundary=float(a[s]),
            non_decision_time=float(t0[s]),
            drift_scale=float(k[s]),
            reduction="none",
        )
        torch.testing.assert_close(joint[m], alone)
    assert ddm_loss(
        uf, us, chosen, rt, boundary=a, non_decision_time=t0, drift_scale=k, stratum=stratum, reduction="sum"
    ) == pytest.approx(float(joint.sum()))


def test_maximum_likelihood_recovers_simulated_parameters():
    """Fixture carries the signal: walks simulated at dt = 1 ms; the MLE of (v, a, t0) lands near the truth."""
    rng = np.random.default_rng(0)
    true_v, true_a, true_t0 = 1.2, 1.8, 0.3
    upper, decision = simulate_drift_diffusion(
        np.full(4000, true_v), threshold=true_a, noise_std=1.0, dt=0.001, rng=rng
    )
    rt = torch.tensor(decision + true_t0)
    chosen = torch.tensor(upper)
    v = torch.tensor(0.5, dtype=F64, requires_grad=True)
    log_a = torch.tensor(0.0, dtype=F64, requires_grad=True)
    t0_logit = torch.tensor(0.0, dtype=F64, requires_grad=True)
    fastest = float(rt.min())
    optimizer = torch.optim.LBFGS([v, log_a, t0_logit], line_search_fn="strong_wolfe", max_iter=200)

    def closure():
        optimizer.zero_grad()
        loss = ddm_loss(
            v.expand(4000),
            torch.zeros(4000, dtype=F64),
            chosen,
            rt,
            boundary=log_a.exp(),
            non_decision_time=fastest * torch.sigmoid(t0_logit),
        )
        loss.backward()
        return loss

    optimizer.step(closure)
    assert float(v) == pytest.approx(true_v, abs=0.1)
    assert float(log_a.exp()) == pytest.approx(true_a, abs=0.06)
    assert float(fastest * torch.sigmoid(t0_logit)) == pytest.approx(true_t0, abs=0.02)


# --------------------------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------------------------


def _args(n=4):
    return torch.zeros(n), torch.zeros(n), torch.ones(n), torch.full((n,), 1.0)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"response_time": torch.tensor([1.0, 0.2, 1.0, 1.0])}, "response_time"),
        ({"response_time": torch.tensor([1.0, float("nan"), 1.0, 1.0])}, "response_time"),
        ({"u_first": torch.tensor([0.0, float("inf"), 0.0, 0.0])}, "u_first"),
        ({"first_chosen": torch.tensor([1.0, 0.5, 0.0, 1.0])}, "first_chosen"),
        ({"boundary": 0.0}, "boundary"),
        ({"boundary": float("nan")}, "boundary"),
        ({"non_decision_time": -0.1}, "non_decision_time"),
        ({"drift_scale": -1.0}, "drift_scale"),
        ({"boundary": torch.tensor([1.0, 2.0])}, "stratum is None"),
        ({"boundary": torch.tensor([1.0]), "stratum": torch.tensor([0, 1, 0, 1])}, "boundary"),
        (
            {"non_decision_time": torch.tensor([0.1, 1.0]), "stratum": torch.tensor([0, 1, 0, 1])},
            "response_time",
        ),
        ({"stratum": torch.tensor([0.0, 1.0, 0.0, 1.0])}, "stratum"),
        ({"reduction": "avg"}, "reduction"),
    ],
)
def test_bad_input_names_the_argument(change, match):
    u_first, u_second, first_chosen, response_time = _args()
    kwargs = {
        "u_first": u_first,
        "u_second": u_second,
        "first_chosen": first_chosen,
        "response_time": response_time,
        "boundary": 1.0,
        "non_decision_time": 0.3,
    } | change
    with pytest.raises(ValueError, match=match):
        ddm_loss(
            kwargs.pop("u_first"),
            kwargs.pop("u_second"),
            kwargs.pop("first_chosen"),
            kwargs.pop("response_time"),
            **kwargs,
        )


def test_reexported_from_losses():
    from responserank.losses import ddm_loss as reexported

    assert reexported is ddm_loss


# --------------------------------------------------------------------------------------------------------------
# EZ-diffusion and the Li et al. estimator
# --------------------------------------------------------------------------------------------------------------


def ez_forward(v, a, t0):
    """EZ's moment equations for σ = 1 (Wagenmakers et al. 2007, eqs. 5–7 with s = 1)."""
    y = -v * a
    pc = 1.0 / (1.0 + np.exp(y))
    vrt = (a / (2 * v**3)) * (2 * y * np.exp(y) - np.exp(2 * y) + 1) / (np.exp(y) + 1) ** 2
    mrt = t0 + (a / (2 * v)) * (1 - np.exp(y)) / (1 + np.exp(y))
    return pc, vrt, mrt


@settings(max_examples=50)
@given(v=st.floats(0.2, 4.0), a=st.floats(0.5, 3.0), t0=st.floats(0.0, 0.8))
def test_ez_inverts_its_moment_equations(v, a, t0):
    estimate = ez_diffusion(*ez_forward(np.array([v]), np.array([a]), np.array([t0])))
    np.testing.assert_allclose(estimate.drift, [v], rtol=1e-6)
    np.testing.assert_allclose(estimate.boundary, [a], rtol=1e-6)
    np.testing.assert_allclose(estimate.non_decision_time, [t0], atol=1e-6)


def test_ez_on_simulated_walks_per_stratum():
    rng = np.random.default_rng(3)
    truths = [(1.0, 1.5, 0.3), (2.0, 1.0, 0.5)]
    pcs, vrts, mrts = [], [], []
    for v, a, t0 in truths:
        upper, decision = simulate_drift_diffusion(
            np.full(20000, v), threshold=a, noise_std=1.0, dt=0.0005, rng=rng
        )
        rt = decision[upper] + t0
        pcs.append(upper.mean())
        vrts.append(rt.var())
        mrts.append(rt.mean())
    estimate = ez_diffusion(pcs, vrts, mrts, num_trials=20000)
    np.testing.assert_allclose(estimate.drift, [v for v, _, _ in truths], rtol=0.05)
    np.testing.assert_allclose(estimate.boundary, [a for _, a, _ in truths], rtol=0.05)
    np.testing.assert_allclose(estimate.non_decision_time, [t0 for *_, t0 in truths], atol=0.02)


def test_ez_edge_cases():
    with pytest.raises(ValueError, match="proportion_correct"):
        ez_diffusion(1.0, 0.1, 0.5)
    with pytest.raises(ValueError, match="rt_variance"):
        ez_diffusion(0.8, 0.0, 0.5)
    corrected = ez_diffusion([1.0, 0.5, 0.3], [0.1, 0.1, 0.1], [0.6, 0.6, 0.6], num_trials=50)
    assert np.all(np.isfinite(corrected.drift)) and np.all(corrected.boundary > 0)


def test_choice_time_ratio_estimator_recovers_linear_utilities():
    rng = np.random.default_rng(4)
    theta, boundary = np.array([1.0, -0.5, 0.25]), 2.0
    queries = rng.normal(size=(150, 3))
    query = np.repeat(np.arange(150), 40)  # every query asked 40 times (the bandit setting of Li et al.)
    z = queries[query]
    upper, decision = simulate_drift_diffusion(
        z @ theta, threshold=boundary, noise_std=1.0, dt=0.001, rng=rng
    )
    beta = choice_time_ratio_estimate(z, upper, decision, query=query)
    np.testing.assert_allclose(beta, 2 / boundary * theta, atol=0.06)
    # one observation per query: biased in scale, right in direction
    single = choice_time_ratio_estimate(z, upper, decision)
    assert single @ theta / np.linalg.norm(single) / np.linalg.norm(theta) > 0.98
    with pytest.raises(ValueError, match="decision_time"):
        choice_time_ratio_estimate(z[:3], upper[:3], np.array([0.1, 0.0, 0.2]))

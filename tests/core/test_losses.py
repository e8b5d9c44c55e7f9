"""Behaviour of the preference losses: the vectorized ResponseRank loss equals its loop definition, reduces to
Bradley–Terry on singletons, is invariant where it should be, has correct gradients, and rejects bad input."""

from __future__ import annotations

import math

import hypothesis.strategies as st
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from reference_losses import responserank_loss_loop

from responserank.losses import (
    HyperbolicLink,
    bradley_terry_loss,
    margin_bradley_terry_loss,
    responserank_loss,
    rt_regression_loss,
    stratum_layout,
)

F64 = torch.float64


@st.composite
def stratified_comparisons(draw, max_size: int = 24, tie_free: bool = False):
    """Random differences, ranks (with ties unless ``tie_free``) and arbitrary (sparse, negative) stratum ids."""
    n = draw(st.integers(1, max_size))
    seed = draw(st.integers(0, 2**31 - 1))
    g = torch.Generator().manual_seed(seed)
    id_pool = torch.tensor(draw(st.lists(st.integers(-(10**6), 10**6), min_size=1, max_size=6, unique=True)))
    stratum = id_pool[torch.randint(len(id_pool), (n,), generator=g)]
    if tie_free:
        rank = torch.randperm(n, generator=g).to(F64) * 0.37 - 2.0
    else:
        rank = torch.randint(0, draw(st.integers(1, 5)), (n,), generator=g).to(F64)
    scale = draw(st.sampled_from([0.1, 1.0, 5.0]))
    u_chosen = torch.randn(n, generator=g, dtype=F64) * scale
    u_rejected = torch.randn(n, generator=g, dtype=F64) * scale
    return u_chosen, u_rejected, rank, stratum


def _has_enterable_stratum(stratum: torch.Tensor) -> bool:
    return bool((torch.unique(stratum, return_counts=True)[1] >= 2).any())


@settings(max_examples=150, deadline=None)
@given(
    data=stratified_comparisons(),
    ties=st.sampled_from(["random", "breslow"]),
    reduction=st.sampled_from(["mean", "sum", "none"]),
    singletons=st.sampled_from(["bt", "skip"]),
    anchor=st.booleans(),
)
def test_vectorized_loss_equals_loop_definition(data, ties, reduction, singletons, anchor):
    u_chosen, u_rejected, rank, stratum = data
    if singletons == "skip" and not _has_enterable_stratum(stratum):
        with pytest.raises(ValueError, match="no stratum has two or more"):
            responserank_loss(u_chosen, u_rejected, rank, stratum, singletons="skip", ties=ties)
        return
    seed = 1234
    kwargs = dict(anchor=anchor, singletons=singletons, ties=ties, reduction=reduction)
    got = responserank_loss(
        u_chosen, u_rejected, rank, stratum, generator=torch.Generator().manual_seed(seed), **kwargs
    )
    # "random" breaks ties by the order of one permutation drawn from the generator.
    permutation = torch.randperm(len(rank), generator=torch.Generator().manual_seed(seed))
    tie_break = torch.empty_like(permutation)
    tie_break[permutation] = torch.arange(len(rank))
    expected = responserank_loss_loop(u_chosen, u_rejected, rank, stratum, tie_break=tie_break, **kwargs)
    torch.testing.assert_close(got, expected, rtol=1e-6, atol=1e-9)


@settings(max_examples=60, deadline=None)
@given(data=stratified_comparisons(tie_free=True), reduction=st.sampled_from(["mean", "sum", "none"]))
def test_tie_free_error_mode_equals_loop_definition(data, reduction):
    u_chosen, u_rejected, rank, stratum = data
    got = responserank_loss(u_chosen, u_rejected, rank, stratum, reduction=reduction)
    expected = responserank_loss_loop(u_chosen, u_rejected, rank, stratum, reduction=reduction)
    torch.testing.assert_close(got, expected, rtol=1e-6, atol=1e-9)


@settings(max_examples=25, deadline=None)
@given(
    big=st.integers(2, 160),
    num_singletons=st.integers(0, 120),
    seed=st.integers(0, 10_000),
    scale=st.sampled_from([0.5, 5.0, 300.0, 3e3]),
    ties=st.sampled_from(["error", "breslow"]),
    anchor=st.booleans(),
    singletons=st.sampled_from(["bt", "skip"]),
)
def test_skewed_strata_equal_loop_definition_in_value_and_gradient(
    big, num_singletons, seed, scale, ties, anchor, singletons
):
    """One large stratum next to many singletons (heavy-tailed real data), differences up to thousands of nats
    (rows that need the log-space fallback): loss and gradient equal the loop definition."""
    g = torch.Generator().manual_seed(seed)
    n = big + num_singletons
    stratum = torch.cat([torch.full((big,), 7), torch.arange(num_singletons) + 100])[
        torch.randperm(n, generator=g)
    ]
    rank = (
        torch.randperm(n, generator=g).to(F64)
        if ties == "error"
        else torch.randint(0, max(2, big // 4), (n,), generator=g).to(F64)
    )
    u_chosen = (torch.randn(n, generator=g, dtype=F64) * scale).requires_grad_()
    u_rejected = torch.randn(n, generator=g, dtype=F64).requires_grad_()
    weights = torch.randn(1 + num_singletons, generator=g, dtype=F64)  # signed upstream gradient per stratum
    kwargs = dict(anchor=anchor, singletons=singletons, ties=ties, reduction="none")
    got = responserank_loss(u_chosen, u_rejected, rank, stratum, **kwargs)
    expected = responserank_loss_loop(u_chosen, u_rejected, rank, stratum, **kwargs)
    torch.testing.assert_close(got, expected, rtol=1e-9, atol=1e-9)
    grads = torch.autograd.grad((got * weights).sum(), (u_chosen, u_rejected))
    expected_grads = torch.autograd.grad((expected * weights).sum(), (u_chosen, u_rejected))
    for a, b in zip(grads, expected_grads, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_half_a_million_in_one_stratum_next_to_singletons_is_linear_in_size(dtype):
    """The heavy-tailed shape that made the padded kernel quadratic: memory stays O(N) (here ~1e6 slots)."""
    n = 400_000
    g = torch.Generator().manual_seed(0)
    stratum = torch.cat([torch.zeros(n // 2, dtype=torch.long), torch.arange(1, n // 2 + 1)])
    rank = torch.randperm(n, generator=g).to(dtype)
    u_chosen = torch.randn(n, generator=g, dtype=dtype, requires_grad=True)
    layout = stratum_layout(rank, stratum)
    assert layout.buffer_size <= 2 * (n + layout.num_strata)
    loss = responserank_loss(u_chosen, torch.zeros(n, dtype=dtype), layout=layout)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(u_chosen.grad).all()
    singles = stratum > 0  # singletons are BT terms: gradient −σ(−d)/N
    torch.testing.assert_close(
        u_chosen.grad[singles],
        -torch.sigmoid(-u_chosen.detach()[singles]) / n,
        rtol=1e-4 if dtype == torch.float32 else 1e-10,
        atol=1e-12,
    )


def test_precomputed_layout_gives_the_same_loss_and_gradient():
    g = torch.Generator().manual_seed(3)
    u_chosen, u_rejected = torch.randn(2, 300, generator=g, dtype=F64)
    rank = torch.randint(0, 20, (300,), generator=g).to(F64)
    stratum = torch.randint(0, 30, (300,), generator=g)
    for ties in ("breslow", "random"):
        layout = stratum_layout(rank, stratum, ties=ties, generator=torch.Generator().manual_seed(9))
        a = u_chosen.clone().requires_grad_()
        b = u_chosen.clone().requires_grad_()
        direct = responserank_loss(
            a, u_rejected, rank, stratum, ties=ties, generator=torch.Generator().manual_seed(9)
        )
        reused = [responserank_loss(b, u_rejected, layout=layout) for _ in range(3)]
        assert all(r.item() == direct.item() for r in reused)  # a random tie order is fixed by the layout
        direct.backward()
        reused[0].backward()
        torch.testing.assert_close(a.grad, b.grad, rtol=0, atol=0)


def test_layout_misuse_raises_naming_the_problem():
    layout = stratum_layout(torch.arange(4.0), torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match="layout is for 4 comparisons but u_chosen has 3"):
        responserank_loss(torch.zeros(3), torch.zeros(3), layout=layout)
    with pytest.raises(ValueError, match="pass either a layout or rank, stratum, not both"):
        responserank_loss(
            torch.zeros(4), torch.zeros(4), torch.arange(4.0), torch.zeros(4, dtype=torch.long), layout=layout
        )
    with pytest.raises(ValueError, match="pass either a layout or ties"):
        responserank_loss(torch.zeros(4), torch.zeros(4), layout=layout, ties="breslow")
    with pytest.raises(ValueError, match="pass rank and stratum, or a precomputed layout"):
        responserank_loss(torch.zeros(4), torch.zeros(4))
    with pytest.raises(ValueError, match="tie_tolerance must lie in"):
        stratum_layout(torch.arange(4.0), torch.zeros(4, dtype=torch.long), tie_tolerance=-1e-9)


# --------------------------------------------------------------------------------------------------------------
# Ties are exact unless a tolerance is asked for
# --------------------------------------------------------------------------------------------------------------


def test_distinct_float_ranks_are_never_called_tied():
    rank = torch.rand(200_000, generator=torch.Generator().manual_seed(0), dtype=F64)
    assert torch.unique(rank).numel() == rank.numel()  # no exact duplicate
    stratum = torch.zeros(200_000, dtype=torch.long)
    loss = responserank_loss(torch.zeros(200_000, dtype=F64), torch.zeros(200_000, dtype=F64), rank, stratum)
    assert torch.isfinite(loss)


def test_millisecond_timestamps_a_second_apart_are_not_tied():
    rank = torch.tensor([1.7e12, 1.7e12 + 1000.0], dtype=F64)
    d = torch.tensor([2.0, -1.0], dtype=F64)
    got = responserank_loss(
        d, torch.zeros(2, dtype=F64), rank, torch.zeros(2, dtype=torch.long), reduction="sum"
    )
    expected = -((2 - math.log(math.exp(2) + math.exp(-1) + 1)) + (-1 - math.log(math.exp(-1) + 1)))
    assert got.item() == pytest.approx(expected, rel=1e-12)


def test_tiny_rank_scales_are_not_merged_under_breslow():
    g = torch.Generator().manual_seed(4)
    u_chosen, u_rejected = torch.randn(2, 12, generator=g, dtype=F64)
    rank = torch.tensor([1, 2, 3, 3, 4, 5, 1, 2, 2, 6, 7, 8], dtype=F64)
    stratum = torch.tensor([0] * 6 + [1] * 6)
    rescaled = responserank_loss(u_chosen, u_rejected, rank, stratum, ties="breslow")
    tiny = responserank_loss(u_chosen, u_rejected, rank * 1e-10, stratum, ties="breslow")
    assert tiny.item() == pytest.approx(rescaled.item(), rel=1e-12)
    # With an explicit tolerance (for ranks computed by arithmetic) values closer than it do merge.
    merged = responserank_loss(
        u_chosen, u_rejected, rank * 1e-10, stratum, ties="breslow", tie_tolerance=1e-9
    )
    assert merged.item() != pytest.approx(rescaled.item(), rel=1e-6)


def test_tie_tolerance_absorbs_rounding_of_computed_ranks():
    rank = torch.tensor([0.1 + 0.2, 0.3, 1.0], dtype=F64)  # 0.30000000000000004 vs 0.3
    stratum = torch.zeros(3, dtype=torch.long)
    responserank_loss(torch.zeros(3, dtype=F64), torch.zeros(3, dtype=F64), rank, stratum)  # exact: no tie
    with pytest.raises(ValueError, match="rank has ties inside stratum"):
        responserank_loss(
            torch.zeros(3, dtype=F64), torch.zeros(3, dtype=F64), rank, stratum, tie_tolerance=1e-12
        )


# --------------------------------------------------------------------------------------------------------------
# Dtypes: half precision is widened before subtracting, integer utilities are rejected
# --------------------------------------------------------------------------------------------------------------

HALF_EXTREMES = (
    torch.tensor([6e4, -6e4], dtype=torch.float16),
    torch.tensor([-6e4, 6e4], dtype=torch.float16),
)


def test_fp16_utilities_at_the_range_limit_give_finite_losses():
    u_chosen, u_rejected = HALF_EXTREMES  # differences of ±1.2e5 overflow fp16 (max 65504)
    labels = torch.ones(2)
    rr = responserank_loss(u_chosen, u_rejected, torch.tensor([0.0, 1.0]), torch.zeros(2, dtype=torch.long))
    bt = bradley_terry_loss(u_chosen, u_rejected, labels)
    margin = margin_bradley_terry_loss(u_chosen, u_rejected, 1.0)
    rt = rt_regression_loss(u_chosen, u_rejected, labels, torch.tensor([1.0, 2.0]))
    for loss in (rr, bt, margin, rt):
        assert loss.dtype == torch.float32 and torch.isfinite(loss), loss
    assert bt.item() == pytest.approx(1.2e5 / 2, rel=1e-3)  # one pair right by 1.2e5, one wrong by 1.2e5


_LOSSES_OF_TWO_UTILITIES = {
    "responserank": (
        ("u_chosen", "u_rejected"),
        lambda a, b: responserank_loss(a, b, torch.zeros(1), torch.zeros(1, dtype=torch.long)),
    ),
    "bt": (("u_first", "u_second"), lambda a, b: bradley_terry_loss(a, b, torch.ones(1))),
    "margin_bt": (("u_chosen", "u_rejected"), lambda a, b: margin_bradley_terry_loss(a, b, 0.0)),
    "rt_regression": (
        ("u_first", "u_second"),
        lambda a, b: rt_regression_loss(a, b, torch.ones(1), torch.ones(1)),
    ),
}


@pytest.mark.parametrize(
    "dtype", [torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64, torch.bool]
)
@pytest.mark.parametrize("loss", sorted(_LOSSES_OF_TWO_UTILITIES))
def test_integer_utilities_are_rejected_naming_the_argument(dtype, loss):
    (first, second), fn = _LOSSES_OF_TWO_UTILITIES[loss]
    integer = torch.tensor([1], dtype=dtype)
    with pytest.raises(ValueError, match=rf"{first} must hold floating-point utilities, got dtype {dtype}"):
        fn(integer, torch.zeros(1))
    with pytest.raises(ValueError, match=rf"{second} must hold floating-point utilities, got dtype {dtype}"):
        fn(torch.zeros(1), integer)


def test_uint8_bradley_terry_no_longer_wraps_around():
    # 0 vs 1 as floats: −log σ(−1) = 1.3133; as uint8 the difference used to wrap to 255 (loss ≈ 0).
    assert bradley_terry_loss(
        torch.tensor([0.0]), torch.tensor([1.0]), torch.ones(1)
    ).item() == pytest.approx(1.3133, abs=1e-4)


def test_hand_computed_two_comparison_stratum():
    # Ranks put d=2 first (stronger), then d=-1, then the anchor 0.
    u_chosen = torch.tensor([0.0, 2.0], dtype=F64)
    u_rejected = torch.tensor([1.0, 0.0], dtype=F64)
    rank = torch.tensor([5.0, 1.0], dtype=F64)
    expected = -((2 - math.log(math.exp(2) + math.exp(-1) + 1)) + (-1 - math.log(math.exp(-1) + 1)))
    got = responserank_loss(u_chosen, u_rejected, rank, torch.tensor([7, 7]), reduction="sum")
    assert got.item() == pytest.approx(expected, rel=1e-12)


@settings(max_examples=50, deadline=None)
@given(n=st.integers(1, 40), seed=st.integers(0, 10_000))
def test_singleton_strata_equal_bradley_terry(n, seed):
    g = torch.Generator().manual_seed(seed)
    u_chosen, u_rejected = torch.randn(2, n, generator=g, dtype=F64) * 3
    rank = torch.rand(n, generator=g, dtype=F64)
    loss = responserank_loss(u_chosen, u_rejected, rank, torch.arange(n) * 3 + 11)
    bt = bradley_terry_loss(u_chosen, u_rejected, torch.ones(n))
    torch.testing.assert_close(loss, bt, rtol=1e-12, atol=1e-13)
    per_stratum = responserank_loss(u_chosen, u_rejected, rank, torch.arange(n), reduction="none")
    torch.testing.assert_close(per_stratum, -F.logsigmoid(u_chosen - u_rejected), rtol=1e-12, atol=1e-13)


@settings(max_examples=50, deadline=None)
@given(data=stratified_comparisons(tie_free=True), seed=st.integers(0, 10_000))
def test_invariant_to_row_order_and_stratum_relabelling(data, seed):
    u_chosen, u_rejected, rank, stratum = data
    g = torch.Generator().manual_seed(seed)
    permutation = torch.randperm(len(rank), generator=g)
    # An order-preserving relabelling keeps the per-stratum output order; any bijection keeps the total.
    relabelled = stratum * 7 - 3
    base = responserank_loss(u_chosen, u_rejected, rank, stratum, reduction="none")
    shuffled = responserank_loss(
        u_chosen[permutation],
        u_rejected[permutation],
        rank[permutation],
        relabelled[permutation],
        reduction="none",
    )
    torch.testing.assert_close(base, shuffled, rtol=1e-12, atol=1e-12)
    scrambled_ids = torch.randperm(int(stratum.max() - stratum.min()) + 1, generator=g)[
        stratum - stratum.min()
    ]
    torch.testing.assert_close(
        responserank_loss(u_chosen, u_rejected, rank, stratum),
        responserank_loss(u_chosen, u_rejected, rank, scrambled_ids),
        rtol=1e-12,
        atol=1e-12,
    )


def test_strata_are_independent_and_only_rank_order_matters():
    g = torch.Generator().manual_seed(0)
    u_chosen, u_rejected = torch.randn(2, 12, generator=g, dtype=F64)
    rank = torch.rand(12, generator=g, dtype=F64)
    stratum = torch.tensor([0] * 5 + [1] * 7)
    total = responserank_loss(u_chosen, u_rejected, rank, stratum, reduction="sum")
    parts = [
        responserank_loss(u_chosen[m], u_rejected[m], rank[m], stratum[m], reduction="sum")
        for m in (stratum == 0, stratum == 1)
    ]
    torch.testing.assert_close(total, parts[0] + parts[1], rtol=1e-12, atol=0)
    monotone = torch.exp(3 * rank) - 10  # a strictly increasing transform keeps the order
    torch.testing.assert_close(
        total, responserank_loss(u_chosen, u_rejected, monotone, stratum, reduction="sum")
    )


def test_mean_divides_by_comparisons_that_entered():
    u_chosen = torch.tensor([1.0, 0.5, -0.2, 0.3], dtype=F64)
    u_rejected = torch.zeros(4, dtype=F64)
    rank = torch.tensor([0.0, 1.0, 2.0, 0.5], dtype=F64)
    stratum = torch.tensor([0, 0, 0, 1])
    summed = responserank_loss(u_chosen, u_rejected, rank, stratum, singletons="skip", reduction="sum")
    mean = responserank_loss(u_chosen, u_rejected, rank, stratum, singletons="skip")
    assert mean.item() == pytest.approx(summed.item() / 3)
    per_stratum = responserank_loss(u_chosen, u_rejected, rank, stratum, singletons="skip", reduction="none")
    assert per_stratum[1].item() == 0.0


def test_breslow_scores_tied_members_against_a_shared_risk_set():
    d = torch.tensor([1.0, -0.5, 0.2], dtype=F64)
    rank = torch.tensor([1.0, 1.0, 2.0], dtype=F64)
    got = responserank_loss(
        d, torch.zeros(3, dtype=F64), rank, torch.zeros(3, dtype=torch.long), ties="breslow"
    )
    shared = torch.logsumexp(torch.cat([d, torch.zeros(1, dtype=F64)]), 0)
    last = torch.logsumexp(torch.tensor([0.2, 0.0], dtype=F64), 0)
    expected = -((1.0 - shared) + (-0.5 - shared) + (0.2 - last)) / 3
    assert got.item() == pytest.approx(expected.item(), rel=1e-12)


def test_random_ties_are_reproducible_with_a_seeded_generator():
    u_chosen = torch.tensor([2.0, 0.0, 1.0, -1.0], dtype=F64)
    rank = torch.zeros(4, dtype=F64)
    stratum = torch.zeros(4, dtype=torch.long)

    def loss(seed):
        return responserank_loss(
            u_chosen,
            torch.zeros(4, dtype=F64),
            rank,
            stratum,
            ties="random",
            generator=torch.Generator().manual_seed(seed),
        ).item()

    assert loss(3) == loss(3)
    assert len({round(loss(s), 12) for s in range(30)}) > 1  # different seeds order the tie differently


def test_ties_error_names_the_stratum():
    rank = torch.tensor([1.0, 1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"ties inside stratum id\(s\) 42"):
        responserank_loss(torch.zeros(4), torch.zeros(4), rank, torch.tensor([42, 42, 5, 5]))
    # Equal ranks in different strata are not ties.
    responserank_loss(torch.zeros(4), torch.zeros(4), rank, torch.tensor([42, 43, 5, 5]))


@pytest.mark.parametrize("ties", ["error", "breslow", "random"])
def test_gradcheck(ties):
    g = torch.Generator().manual_seed(1)
    u_chosen = torch.randn(9, generator=g, dtype=F64, requires_grad=True)
    u_rejected = torch.randn(9, generator=g, dtype=F64, requires_grad=True)
    rank = (
        torch.tensor([0.0, 1, 2, 0, 1, 1, 3, 2, 5], dtype=F64)
        if ties != "error"
        else torch.rand(9, dtype=F64)
    )
    stratum = torch.tensor([0, 0, 0, 1, 1, 1, 2, 2, 9])

    def fn(a, b):
        return responserank_loss(a, b, rank, stratum, ties=ties, generator=torch.Generator().manual_seed(0))

    assert torch.autograd.gradcheck(fn, (u_chosen, u_rejected))
    assert torch.autograd.gradgradcheck(fn, (u_chosen, u_rejected))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_finite_loss_and_gradient_at_extreme_differences(dtype):
    u_chosen = torch.tensor([1e4, -1e4, 5e3, -3.0, 1e4, -1e4], dtype=dtype, requires_grad=True)
    rank = torch.tensor([0.0, 1.0, 2.0, 3.0, 0.0, 1.0], dtype=dtype)
    stratum = torch.tensor([0, 0, 0, 0, 1, 2])
    loss = responserank_loss(u_chosen, torch.zeros(6, dtype=dtype), rank, stratum)
    loss.backward()
    assert torch.isfinite(loss)
    assert torch.isfinite(u_chosen.grad).all()
    # A wrong-direction difference of 1e4 costs about 1e4 nats; the loss is linear there, not overflowing.
    single = responserank_loss(
        torch.tensor([-1e4], dtype=dtype), torch.zeros(1, dtype=dtype), rank[:1], stratum[:1]
    )
    assert single.item() == pytest.approx(1e4, rel=1e-6)


def test_float32_matches_float64_and_half_is_computed_in_float32():
    g = torch.Generator().manual_seed(5)
    u_chosen, u_rejected = torch.randn(2, 50, generator=g, dtype=F64)
    rank = torch.rand(50, generator=g, dtype=F64)
    stratum = torch.randint(0, 6, (50,), generator=g)
    ref = responserank_loss(u_chosen, u_rejected, rank, stratum)
    single = responserank_loss(u_chosen.float(), u_rejected.float(), rank.float(), stratum)
    assert single.dtype == torch.float32
    assert single.item() == pytest.approx(ref.item(), rel=1e-5)
    half = responserank_loss(u_chosen.bfloat16(), u_rejected.bfloat16(), rank.float(), stratum)
    assert half.dtype == torch.float32 and torch.isfinite(half)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_cpu():
    g = torch.Generator().manual_seed(5)
    u_chosen, u_rejected = torch.randn(2, 500, generator=g)
    rank = torch.rand(500, generator=g)
    stratum = torch.randint(0, 40, (500,), generator=g)
    u_chosen[:5] *= 1e4  # a few strata need the log-space fallback
    cpu = responserank_loss(u_chosen, u_rejected, rank, stratum)
    gpu = responserank_loss(u_chosen.cuda(), u_rejected.cuda(), rank.cuda(), stratum.cuda())
    assert gpu.item() == pytest.approx(cpu.item(), rel=1e-5)
    layout = stratum_layout(rank.cuda(), stratum.cuda(), ties="breslow")
    a = u_chosen.cuda().requires_grad_()
    responserank_loss(a, u_rejected.cuda(), layout=layout).backward()
    b = u_chosen.clone().requires_grad_()
    responserank_loss(b, u_rejected, rank, stratum, ties="breslow").backward()
    torch.testing.assert_close(a.grad.cpu(), b.grad, rtol=1e-4, atol=1e-7)


def test_larger_differences_for_stronger_preferences_lower_the_loss():
    rank = torch.tensor([0.0, 1.0, 2.0], dtype=F64)
    stratum = torch.zeros(3, dtype=torch.long)
    consistent = responserank_loss(
        torch.tensor([3.0, 2.0, 1.0], dtype=F64), torch.zeros(3, dtype=F64), rank, stratum
    )
    reversed_ = responserank_loss(
        torch.tensor([1.0, 2.0, 3.0], dtype=F64), torch.zeros(3, dtype=F64), rank, stratum
    )
    wrong_sign = responserank_loss(
        -torch.tensor([3.0, 2.0, 1.0], dtype=F64), torch.zeros(3, dtype=F64), rank, stratum
    )
    assert consistent < reversed_ < wrong_sign


# --------------------------------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------------------------------

GOOD = dict(
    u_chosen=torch.zeros(3),
    u_rejected=torch.zeros(3),
    rank=torch.tensor([0.0, 1.0, 2.0]),
    stratum=torch.zeros(3, dtype=torch.long),
)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (dict(u_chosen=torch.zeros(4)), "u_rejected has 3 entries but u_chosen has 4"),
        (dict(rank=torch.zeros(2)), "rank has 2 entries but u_chosen has 3"),
        (dict(u_rejected=torch.tensor([0.0, float("nan"), 0.0])), "u_rejected contains 1 NaN or infinite"),
        (dict(u_chosen=torch.tensor([0.0, float("inf"), 0.0])), "u_chosen contains 1 NaN or infinite"),
        (dict(rank=torch.tensor([0.0, float("nan"), 1.0])), "rank contains 1 NaN"),
        (dict(stratum=torch.tensor([0.0, 0.0, 1.5])), "stratum must be an integer tensor"),
        (dict(stratum=torch.zeros(3, 1, dtype=torch.long)), "stratum must be 1-D"),
        (dict(u_chosen=[0.0, 0.0, 0.0]), "u_chosen must be a torch.Tensor"),
    ],
)
def test_bad_tensors_raise_naming_the_argument(override, message):
    with pytest.raises(ValueError, match=message):
        responserank_loss(**{**GOOD, **override})


def test_empty_input_raises():
    empty = torch.zeros(0)
    with pytest.raises(ValueError, match="empty input"):
        responserank_loss(empty, empty, empty, torch.zeros(0, dtype=torch.long))
    with pytest.raises(ValueError, match="empty input"):
        bradley_terry_loss(empty, empty, empty)


@pytest.mark.parametrize(
    ("option", "value"), [("ties", "ignore"), ("singletons", "drop"), ("reduction", "avg")]
)
def test_unknown_option_strings_raise(option, value):
    with pytest.raises(ValueError, match=rf"{option}='{value}' is not a valid option"):
        responserank_loss(**GOOD, **{option: value})


def test_skip_without_any_multi_member_stratum_raises():
    with pytest.raises(ValueError, match="no stratum has two or more comparisons"):
        responserank_loss(torch.zeros(3), torch.zeros(3), torch.zeros(3), torch.arange(3), singletons="skip")


# --------------------------------------------------------------------------------------------------------------
# Bradley–Terry, margin BT, RT regression
# --------------------------------------------------------------------------------------------------------------


def test_bradley_terry_matches_formula_and_symmetry():
    g = torch.Generator().manual_seed(2)
    u1, u2 = torch.randn(2, 30, generator=g, dtype=F64)
    y = (torch.rand(30, generator=g) < 0.5).to(F64)
    expected = -(y * F.logsigmoid(u1 - u2) + (1 - y) * F.logsigmoid(u2 - u1)).mean()
    torch.testing.assert_close(bradley_terry_loss(u1, u2, y), expected)
    torch.testing.assert_close(bradley_terry_loss(u2, u1, 1 - y), expected)  # swap options, flip labels
    torch.testing.assert_close(bradley_terry_loss(u1 + 5, u2 + 5, y), expected)  # shift invariance
    assert bradley_terry_loss(u1, u2, y.bool()).item() == pytest.approx(expected.item())


def test_bradley_terry_label_smoothing_and_worsening_predictions():
    d = torch.tensor([2.0], dtype=F64)
    eps = 0.1
    smoothed = bradley_terry_loss(d, torch.zeros(1, dtype=F64), torch.ones(1), label_smoothing=eps)
    expected = -((1 - eps) * F.logsigmoid(d) + eps * F.logsigmoid(-d))
    assert smoothed.item() == pytest.approx(expected.item())
    losses = [
        bradley_terry_loss(torch.tensor([x]), torch.zeros(1), torch.ones(1)).item()
        for x in (2.0, 1.0, 0.0, -1.0)
    ]
    assert losses == sorted(losses)
    with pytest.raises(ValueError, match="label_smoothing must lie in"):
        bradley_terry_loss(d, d, torch.ones(1), label_smoothing=0.7)
    with pytest.raises(ValueError, match="first_chosen must lie in"):
        bradley_terry_loss(d, d, torch.tensor([2.0]))


def test_margin_bradley_terry():
    u_c, u_r = torch.tensor([1.0, 0.0], dtype=F64), torch.tensor([0.0, 0.5], dtype=F64)
    margin = torch.tensor([0.5, 1.0], dtype=F64)
    torch.testing.assert_close(
        margin_bradley_terry_loss(u_c, u_r, margin), -F.logsigmoid(u_c - u_r - margin).mean()
    )
    torch.testing.assert_close(
        margin_bradley_terry_loss(u_c, u_r, 0.0), bradley_terry_loss(u_c, u_r, torch.ones(2))
    )
    with pytest.raises(ValueError, match="margin must be a scalar or have shape"):
        margin_bradley_terry_loss(u_c, u_r, torch.zeros(3))


def test_rt_regression_loss_and_link():
    link = HyperbolicLink(min_rt=0.0, max_rt=10.0)
    gaps = torch.tensor([0.0, 0.5, 3.0], dtype=F64)
    torch.testing.assert_close(link.utility_difference(link.response_time(gaps)), gaps)
    assert link.response_time(torch.tensor(0.0)).item() == 10.0
    u1, u2 = torch.tensor([1.0, 0.0], dtype=F64), torch.tensor([0.0, 0.0], dtype=F64)
    y = torch.tensor([1, 0])
    t = torch.tensor([5.0, 2.0], dtype=F64)
    per_item = rt_regression_loss(u1, u2, y, t, reduction="none")
    torch.testing.assert_close(per_item, torch.tensor([(1 - 1.0) ** 2, (0 + 4.0) ** 2], dtype=F64))
    assert (per_item >= 0).all()
    with pytest.raises(ValueError, match=r"response_time must be > link\.min_rt"):
        rt_regression_loss(u1, u2, y, torch.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="hard 0/1 labels"):
        rt_regression_loss(u1, u2, torch.tensor([0.5, 1.0]), t)

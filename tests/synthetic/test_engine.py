"""The batched engine trains every model exactly like a lone ``torch.nn`` MLP with ``torch.optim.AdamW``.

The comparison runs in float64. In float32 (the experiments' precision) two mathematically identical
computations that merely sum in a different order (``nn.Linear`` vs ``baddbmm``, two matmuls vs one) drift apart by
~1e-3 in the weights after a few dozen steps, because Adam rescales every gradient entry to unit size, so the
round-off sign of near-zero gradients becomes a full learning-rate step. In float64 the same code agrees to ~1e-11.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import synthetic_config

from responserank.losses import bradley_terry_loss, responserank_loss, rt_regression_loss
from responserank.synthetic.config import LearnerConfig, num_train_rows
from responserank.synthetic.data import generate_dataset
from responserank.synthetic.engine import LossBlock, train_stacked
from responserank.synthetic.learners import ModelSpec, build_model_data, loss_block, permuted_prefix_times
from responserank.synthetic.trials import learner_init_params

LEARNERS = {
    key: synthetic_config().learners[key] for key in ("bt", "rt_regression", "rr", "rr_pooled", "rr_perm")
}
EPOCHS = 60
DTYPE = torch.float64


def _reference_training(init, x1, x2, y, t, partition, learner: LearnerConfig, epochs: int):
    """One model, the textbook way: nn.Sequential + AdamW + keep the model after the lowest-loss step."""
    model = torch.nn.Sequential(torch.nn.Linear(20, 64), torch.nn.ReLU(), torch.nn.Linear(64, 1)).to(DTYPE)
    with torch.no_grad():
        model[0].weight.copy_(torch.as_tensor(init[0].T))
        model[0].bias.copy_(torch.as_tensor(init[1]))
        model[2].weight.copy_(torch.as_tensor(init[2].T))
        model[2].bias.copy_(torch.as_tensor(init[3]))
    optimizer = torch.optim.AdamW(model.parameters(), lr=learner.learning_rate, weight_decay=learner.l2_reg)
    best, kept = float("inf"), None
    for _ in range(epochs):
        u1, u2 = model(x1).squeeze(-1), model(x2).squeeze(-1)
        if learner.loss == "bt":
            loss = bradley_terry_loss(u1, u2, y)
        elif learner.loss == "rt_regression":
            loss = rt_regression_loss(u1, u2, y, t)
        else:
            chosen = y > 0.5
            stratum = partition if learner.use_strata else torch.zeros_like(partition)
            loss = responserank_loss(
                torch.where(chosen, u1, u2), torch.where(chosen, u2, u1), t, stratum, singletons="skip"
            )
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if loss.item() < best:
            best = loss.item()
            kept = [p.detach().clone() for p in model.parameters()]
    return [kept[0].T, kept[1], kept[2].T, kept[3]], best


@pytest.fixture(scope="module")
def trained():
    dataset = generate_dataset(synthetic_config("dataset=stochastic").dataset, 7, 1)
    specs = [ModelSpec(0, key, size) for key in LEARNERS for size in (0.5, 0.8, 1.0)]
    blocks, start = [], 0
    for key in LEARNERS:
        block_specs = [s for s in specs if s.learner == key]
        data = build_model_data(block_specs, LEARNERS, [dataset], [1], random_seed=7, dtype=DTYPE)
        blocks.append(loss_block(start, data, LEARNERS[key], num_partitions=5))
        start += len(block_specs)
    init = learner_init_params(20, (64,), 7, 1)
    stacked_init = [torch.as_tensor(np.stack([p] * len(specs)), dtype=DTYPE) for p in init]
    x = torch.as_tensor(np.concatenate([dataset.x1[:50], dataset.x2[:50]]), dtype=DTYPE)
    result = train_stacked(
        stacked_init,
        x.expand(len(specs), -1, -1),
        50,
        blocks,
        num_epochs=EPOCHS,
        learning_rate=0.001,
        weight_decay=0.01,
    )
    return dataset, specs, init, result


@pytest.mark.parametrize("index", range(15))
def test_batched_training_equals_single_model_training(trained, index):
    dataset, specs, init, result = trained
    spec = specs[index]
    learner = LEARNERS[spec.learner]
    rows = num_train_rows(spec.size, 50)
    t = permuted_prefix_times(dataset, spec.size, 7, 1) if learner.permute_response_times else dataset.t[:50]

    def tensor(a, dtype=DTYPE):
        return torch.as_tensor(np.asarray(a)[:rows], dtype=dtype)

    expected, best = _reference_training(
        init,
        tensor(dataset.x1),
        tensor(dataset.x2),
        tensor(dataset.y),
        tensor(t),
        tensor(dataset.partition_id, torch.int64),
        learner,
        EPOCHS,
    )
    for got, want in zip(result.params, expected, strict=True):
        torch.testing.assert_close(got[index], want, atol=1e-5, rtol=0)
    assert result.best_loss[index].item() == pytest.approx(best, rel=1e-9)


def test_model_selection_keeps_the_model_after_the_lowest_pre_update_loss():
    """With a learning rate so large that the loss oscillates, the kept model is the one after the best step.

    The pre-update loss of step ``e + 1`` is the loss of the model produced by update ``e``, so the kept model's
    loss must equal ``losses[best_step + 1]``.
    """
    torch.manual_seed(0)
    x = torch.rand(3, 8, 2)
    target = torch.tensor([1.0, -1.0, 0.5, 2.0])
    init = [torch.randn(3, 2, 4), torch.randn(3, 4), torch.randn(3, 4, 1), torch.randn(3, 1)]

    def squared_error(u_first, u_second):
        return ((u_first - u_second - target) ** 2).mean(dim=1)

    result = train_stacked(
        init, x, 4, [LossBlock(0, 3, squared_error)], num_epochs=25, learning_rate=2.0, weight_decay=0.0
    )
    losses = result.losses.numpy()
    best_step = result.best_step.numpy()
    np.testing.assert_array_equal(best_step, losses.argmin(axis=0))
    np.testing.assert_array_equal(result.best_loss.numpy(), losses.min(axis=0))
    inside = np.flatnonzero(best_step < 24)
    assert inside.size >= 2, "the test needs models whose loss does not improve at the last step"
    assert not np.all(np.diff(losses, axis=0) < 0), "the test needs a non-monotone loss"
    from responserank.synthetic.engine import StackedMLP

    with torch.no_grad():
        u = StackedMLP(result.params)(x)
        kept_loss = squared_error(u[:, :4], u[:, 4:]).numpy()
    np.testing.assert_allclose(kept_loss[inside], losses[best_step[inside] + 1, inside], rtol=1e-6)


def test_loss_blocks_must_cover_every_model_once():
    init = [torch.zeros(2, 3, 4), torch.zeros(2, 4), torch.zeros(2, 4, 1), torch.zeros(2, 1)]
    with pytest.raises(ValueError, match="exactly once"):
        train_stacked(
            init,
            torch.zeros(2, 4, 3),
            2,
            [LossBlock(0, 1, lambda a, b: (a - b).mean(1))],
            num_epochs=1,
            learning_rate=0.1,
            weight_decay=0.0,
        )

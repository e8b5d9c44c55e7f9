"""The reward model and RewardTrainer on a tiny random Llama (CPU): pooling, loss, GA scaling, epoch reshuffle."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from responserank.llm.batching import PackedBatchSampler
from responserank.llm.model import RewardModel, last_token_index, load_reward_model
from responserank.llm.train import loss_options, training_arguments
from responserank.llm.trainer import PairCollator, PairDataset, RewardTrainer, normalise_loss, pair_nll_sum

TINY = {
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_hidden_layers": 1,
    "num_attention_heads": 2,
    "num_key_value_heads": 1,
    "max_position_embeddings": 128,
}
EXPERIMENT = {
    "random_init": TINY,
    "bf16": False,
    "gradient_checkpointing": False,
    "disable_dropout": True,
    "lora": {"r": 0},
    "model_name": "tiny",
}


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the tiny model is faster on one thread, and the machine is shared
    yield
    torch.set_num_threads(threads)


def tiny_model(tokenizer, seed: int = 0, **changes) -> RewardModel:
    return load_reward_model({**EXPERIMENT, **changes}, tokenizer, seed)


def pairs_frame(num: int, seed: int = 0, partition=None, vocab: int = 100) -> pd.DataFrame:
    rng = np.random.default_rng(seed)

    def sequence():
        return rng.integers(10, vocab, size=int(rng.integers(4, 12))).astype(np.int32)

    return pd.DataFrame(
        {
            "chosen_input_ids": [sequence() for _ in range(num)],
            "rejected_input_ids": [sequence() for _ in range(num)],
            "bt_target": np.ones(num),
            "rank": rng.permutation(num).astype(float),
            "partition_id": np.arange(num) if partition is None else np.asarray(partition),
        }
    )


class FixedBatches:
    """A batch sampler replaying given index lists (records set_epoch calls)."""

    def __init__(self, batches):
        self.batches = [list(map(int, b)) for b in batches]
        self.epochs = []

    def set_epoch(self, epoch):
        self.epochs.append(epoch)

    def __len__(self):
        return len(self.batches)

    def __iter__(self):
        return iter(self.batches)


def make_trainer(tmp_path, model, frame, sampler, *, rr=True, epochs=1, accumulation=1, lr=0.05, **loss):
    experiment = {
        "batch_size": 16,
        "gradient_accumulation_steps": accumulation,
        "epochs": epochs,
        "learning_rate": lr,
        "lr_scheduler_type": "constant",
        "warmup_ratio": 0.0,
        "adam_beta1": 0.9,
        "adam_beta2": 0.999,
        "adam_epsilon": 1e-8,
        "weight_decay": 0.0,
        "max_grad_norm": 0.0,
        "bf16": False,
        "eval_on_start": False,
        "logging_steps": 1000,
    }
    arguments = training_arguments(experiment, tmp_path, evaluate=False, seed=0)
    arguments.optim = (
        "sgd"  # plain SGD: the update is proportional to the gradient (Adam's first step is not)
    )
    arguments.disable_tqdm = True
    options = {
        "use_rr_loss": rr,
        "allow_ties": False,
        "divide_by_len": True,
        "accumulation_aware_scaling": True,
        **loss,
    }
    return RewardTrainer(
        model=model,
        args=arguments,
        train_dataset=PairDataset(frame),
        data_collator=PairCollator(pad_id=1),
        train_batch_sampler=sampler,
        loss_options=options,
    )


def test_reward_is_read_at_the_last_real_token_even_when_pad_equals_eos(tokenizer):
    model = tiny_model(tokenizer).eval()
    eos = tokenizer.eos_token_id
    short = torch.tensor([[2, 40, 41, eos]])
    long = torch.tensor([[2, 40, 41, 42, 43, eos]])
    # Pad with EOS itself: a pad-token search would stop before the final EOS; the mask does not.
    batch = torch.tensor([[2, 40, 41, eos, eos, eos], [2, 40, 41, 42, 43, eos]])
    mask = torch.tensor([[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1]])
    with torch.no_grad():
        together = model(input_ids=batch, attention_mask=mask)
        alone = torch.cat([model(input_ids=s, attention_mask=torch.ones_like(s)) for s in (short, long)])
        before_eos = model(input_ids=short[:, :3], attention_mask=torch.ones(1, 3, dtype=torch.long))
    torch.testing.assert_close(together, alone, rtol=1e-5, atol=1e-6)
    assert not torch.isclose(together[0], before_eos[0])
    assert last_token_index(torch.tensor([[0, 0, 1, 1], [1, 1, 1, 0]])).tolist() == [3, 2]


@pytest.mark.parametrize("rr", [False, True])
def test_one_step_lowers_the_loss_on_a_repeated_batch(tokenizer, tmp_path, rr):
    frame = pairs_frame(16, partition=np.repeat(np.arange(4), 4))
    model = tiny_model(tokenizer)
    trainer = make_trainer(tmp_path, model, frame, FixedBatches([range(16)]), rr=rr, lr=0.5)
    batch = PairCollator(1)([PairDataset(frame)[i] for i in range(16)])
    with torch.no_grad():
        before = trainer.compute_loss(model, batch).item()
    trainer.train()
    with torch.no_grad():
        after = trainer.compute_loss(model, batch).item()
    assert after < before


def test_rr_with_singleton_partitions_equals_bt_loss_and_gradients(tokenizer):
    frame = pairs_frame(12, seed=3)  # partition_id = 0…11: every partition a singleton
    batch = PairCollator(1)([PairDataset(frame)[i] for i in range(12)])
    results = []
    for rr in (True, False):
        model = tiny_model(tokenizer, seed=5)
        rewards = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
        loss = pair_nll_sum(
            rewards[:12],
            rewards[12:],
            batch["bt_target"],
            batch["rank"],
            batch["partition_id"],
            use_rr_loss=rr,
            allow_ties=False,
        )
        loss.backward()
        results.append((loss.detach(), [p.grad.clone() for p in model.parameters()]))
    (rr_loss, rr_grads), (bt_loss, bt_grads) = results
    torch.testing.assert_close(rr_loss, bt_loss, rtol=1e-6, atol=1e-6)
    for a, b in zip(rr_grads, bt_grads, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-7)


def test_soft_bt_targets_change_the_bt_loss():
    chosen, rejected = torch.tensor([1.0, 0.5]), torch.tensor([0.0, 0.0])
    rank, partition = torch.zeros(2), torch.arange(2)
    hard = pair_nll_sum(chosen, rejected, torch.ones(2), rank, partition, use_rr_loss=False, allow_ties=False)
    soft = pair_nll_sum(
        chosen, rejected, torch.tensor([0.75, 0.5]), rank, partition, use_rr_loss=False, allow_ties=False
    )
    assert soft > hard


def trained_parameters(tokenizer, tmp_path, frame, batches, accumulation, **loss):
    model = tiny_model(tokenizer, seed=7)
    make_trainer(tmp_path, model, frame, FixedBatches(batches), accumulation=accumulation, **loss).train()
    return torch.cat([p.detach().flatten() for p in model.parameters()])


@pytest.mark.parametrize("rr", [True, False])
def test_accumulation_4_by_4_equals_one_batch_of_16(tokenizer, tmp_path, rr):
    # partitions of 2 and 4 that lie inside the micro-batches, so the RR groups are the same either way
    frame = pairs_frame(16, seed=2, partition=[0, 0, 1, 1, 2, 2, 2, 2, 3, 3, 4, 4, 5, 5, 5, 5])
    one = trained_parameters(tokenizer, tmp_path, frame, [range(16)], 1, rr=rr)
    four = trained_parameters(
        tokenizer, tmp_path, frame, [range(0, 4), range(4, 8), range(8, 12), range(12, 16)], 4, rr=rr
    )
    start = torch.cat([p.detach().flatten() for p in tiny_model(tokenizer, seed=7).parameters()])
    assert not torch.allclose(one, start)  # it trained
    torch.testing.assert_close(four, one, rtol=1e-4, atol=1e-6)


def test_accumulation_aware_scaling_weighs_every_pair_alike_with_unequal_micro_batches(tokenizer, tmp_path):
    frame = pairs_frame(16, seed=4, partition=[0] * 6 + [1] * 4 + [2] * 3 + [3] * 3)
    uneven = [range(0, 6), range(6, 10), range(10, 13), range(13, 16)]
    one = trained_parameters(tokenizer, tmp_path, frame, [range(16)], 1)
    aware = trained_parameters(tokenizer, tmp_path, frame, uneven, 4)
    mean_of_means = trained_parameters(
        tokenizer, tmp_path, frame, uneven, 4, accumulation_aware_scaling=False
    )
    torch.testing.assert_close(aware, one, rtol=1e-4, atol=1e-6)
    assert not torch.allclose(mean_of_means, one, rtol=1e-4, atol=1e-6)


def test_normalise_loss_cases():
    s = torch.tensor(12.0)
    assert normalise_loss(s, 4, 16, 4, divide_by_len=True, accumulation_aware_scaling=True) == 12 / 16
    assert normalise_loss(s, 4, 16, 4, divide_by_len=True, accumulation_aware_scaling=False) == 12 / 4 / 4
    assert normalise_loss(s, 4, 16, 4, divide_by_len=False, accumulation_aware_scaling=True) == 12 / 4
    assert (
        normalise_loss(s, 4, 32, 4, divide_by_len=True, accumulation_aware_scaling=True, world_size=2)
        == 12 / 16
    )


def test_epochs_reshuffle_the_packed_batches_through_the_trainer(tokenizer, tmp_path):
    class Recording(PackedBatchSampler):
        seen: list

        def __iter__(self):
            batches = list(super().__iter__())
            self.seen.append(batches)
            return iter(batches)

    frame = pairs_frame(48, partition=np.repeat(np.arange(12), 4))
    orders = {}
    for reshuffle in (True, False):
        sampler = Recording(
            frame.partition_id.to_numpy(), batch_size=8, seed=3, reshuffle_each_epoch=reshuffle
        )
        sampler.seen = []
        make_trainer(tmp_path, tiny_model(tokenizer), frame, sampler, epochs=3, lr=1e-3).train()
        orders[reshuffle] = sampler.seen
        assert len(sampler.seen) == 3
        assert all(sorted(map(tuple, e)) == sorted(map(tuple, sampler.seen[0])) for e in sampler.seen)
    assert orders[True][0] != orders[True][1] != orders[True][2]
    assert orders[False][0] == orders[False][1] == orders[False][2]


def test_every_optimiser_knob_reaches_the_training_arguments(tmp_path):
    from responserank.llm.config import available_presets, compose_config, to_container

    checked = 0
    for preset in available_presets():
        if not any(k in preset for k in ("lr", "acc", "clip", "ep", "warmup", "wd", "weightdecay")):
            continue
        e = to_container(compose_config([f"experiment={preset}", "experiment.bf16=false"]))["experiment"]
        args = training_arguments(e, tmp_path)
        assert args.learning_rate == e["learning_rate"]
        assert args.gradient_accumulation_steps == e["gradient_accumulation_steps"]
        assert args.max_grad_norm == e["max_grad_norm"]
        assert args.num_train_epochs == e["epochs"]
        assert args.warmup_steps == e["warmup_ratio"]
        assert args.weight_decay == e["weight_decay"]
        checked += 1
    assert checked >= 20
    bt = to_container(compose_config(["experiment=bt"]))["experiment"]
    rr_bt = to_container(compose_config(["experiment=rr_agree_bt"]))["experiment"]
    rr = to_container(compose_config(["experiment=rr_agree"]))["experiment"]
    assert not loss_options(bt)["use_rr_loss"] and not loss_options(rr_bt)["use_rr_loss"]
    assert loss_options(rr)["use_rr_loss"]


def test_lora_trains_adapters_and_the_head_only(tokenizer):
    model = tiny_model(tokenizer, lora={"r": 4, "alpha": 8, "dropout": 0.0, "target_modules": "all-linear"})
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert "head.weight" in trainable and any("lora_" in n for n in trainable)
    assert not any("embed_tokens" in n for n in trainable)


def test_gradient_checkpointing_is_switched_on(tokenizer):
    model = tiny_model(tokenizer, gradient_checkpointing=True)
    backbone = model.backbone
    assert getattr(backbone, "is_activation_checkpointing", None) or backbone.is_gradient_checkpointing

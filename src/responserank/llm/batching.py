"""Train batches: pack whole partitions into fixed-size batches (RR) or shuffle plainly (BT). Spec §6.

The RR loss compares ranks only inside a batch, so a partition split across batches loses the pairs between its
fragments. :func:`pack_largest_first_best_fit` keeps every partition whole unless it is larger than a batch or
nothing else fits; :func:`packing_statistics` measures how well that worked.

Batches are lists of row positions (int64 arrays) into the train table. Samplers are plain iterables of index
lists, usable as a ``torch.utils.data.DataLoader(batch_sampler=...)``; call ``set_epoch(e)`` before each epoch.
"""

from __future__ import annotations

import heapq

import numpy as np

from responserank.errors import PipelineError

PACKERS = ("largest_first_best_fit", "flatten_and_slice")


def _check_batch_size(batch_size: int) -> int:
    if int(batch_size) != batch_size or batch_size < 1:
        raise PipelineError(f"batch_size must be an integer >= 1, got {batch_size!r}")
    return int(batch_size)


def _shuffled_members(
    partition: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Positions grouped by partition (ascending id), members shuffled; returns (members, ids, starts)."""
    partition = np.asarray(partition)
    shuffled = rng.permutation(len(partition))
    members = shuffled[np.argsort(partition[shuffled], kind="stable")]
    ids, starts = np.unique(partition[members], return_index=True)
    return members, ids, starts


def pack_largest_first_best_fit(
    partition: np.ndarray, batch_size: int, rng: np.random.Generator
) -> list[np.ndarray]:
    """Largest-first best-fit packing of partitions into ``ceil(N / batch_size)`` batches.

    Capacities are ``batch_size`` except the last batch, which gets ``N mod batch_size`` when non-zero, so every
    batch ends up full. Members of each partition are shuffled with ``rng``. Partitions are taken largest first
    (ties: smaller id first); one that fits somewhere goes whole into the batch with the least capacity left
    that still holds it (ties: lowest batch index); otherwise as many members as fit go into the batch with the
    most capacity left and the remainder is queued again. So a partition is split only when no batch can take
    it whole — always the case for partitions larger than ``batch_size``.

    The greedy loop is sequential by nature; it runs once per run over partitions (not comparisons) with
    O(batch_size) work per step.
    """
    batch_size = _check_batch_size(batch_size)
    n = len(partition)
    if n == 0:
        return []
    members, ids, starts = _shuffled_members(partition, rng)
    ends = np.r_[starts[1:], n]
    num_batches = -(-n // batch_size)
    capacity = [batch_size] * num_batches
    if n % batch_size:
        capacity[-1] = n % batch_size
    # open_batches[r] = heap of batch indices with exactly r free places (r = 1 … batch_size).
    open_batches: list[list[int]] = [[] for _ in range(batch_size + 1)]
    for index, free in enumerate(capacity):
        heapq.heappush(open_batches[free], index)
    contents: list[list[np.ndarray]] = [[] for _ in range(num_batches)]
    queue = [
        (-(int(e) - int(s)), int(pid), int(s), int(e)) for pid, s, e in zip(ids, starts, ends, strict=True)
    ]
    heapq.heapify(queue)
    while queue:
        negative_size, pid, start, end = heapq.heappop(queue)
        size = -negative_size
        best_fit = next((r for r in range(size, batch_size + 1) if open_batches[r]), None)
        if best_fit is not None:
            batch, take, free = heapq.heappop(open_batches[best_fit]), size, best_fit
        else:
            free = next(r for r in range(batch_size, 0, -1) if open_batches[r])
            batch, take = heapq.heappop(open_batches[free]), free
        contents[batch].append(members[start : start + take])
        if free - take:
            heapq.heappush(open_batches[free - take], batch)
        if take < size:
            heapq.heappush(queue, (-(size - take), pid, start + take, end))
    return [np.concatenate(parts) for parts in contents]


def pack_flatten_and_slice(
    partition: np.ndarray, batch_size: int, rng: np.random.Generator
) -> list[np.ndarray]:
    """Shuffle the partition order and each partition's members, concatenate, cut every ``batch_size``."""
    batch_size = _check_batch_size(batch_size)
    members, ids, starts = _shuffled_members(partition, rng)
    ends = np.r_[starts[1:], len(members)]
    position_of_partition = np.empty(len(ids), dtype=np.int64)
    position_of_partition[rng.permutation(len(ids))] = np.arange(len(ids))
    member_partition = np.repeat(np.arange(len(ids)), ends - starts)
    flat = members[np.argsort(position_of_partition[member_partition], kind="stable")]
    return [flat[i : i + batch_size] for i in range(0, len(flat), batch_size)]


def pack(packer: str, partition: np.ndarray, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Dispatch to one of :data:`PACKERS`."""
    if packer == "largest_first_best_fit":
        return pack_largest_first_best_fit(partition, batch_size, rng)
    if packer == "flatten_and_slice":
        return pack_flatten_and_slice(partition, batch_size, rng)
    raise PipelineError(f"sampler.packer={packer!r} is not a valid option; expected one of {list(PACKERS)}")


def packing_statistics(partition: np.ndarray, batches: list[np.ndarray]) -> dict[str, float]:
    """How well batches keep partitions together (the original's ``packing/*``).

    A *fragment* is the part of a partition inside one batch. Over partitions with ≥ 2 members:
    ``intact_ratio`` (share in a single batch), ``fragments_per_partition`` (mean), ``cohesion`` (share of
    within-partition pairs whose two members share a batch). Over all fragments, singletons included:
    ``avg_fragment_size`` (= examples / fragments) and ``max_fragment_size``.
    """
    partition = np.asarray(partition)
    if not batches:
        return {"num_batches": 0}
    batch_of = np.empty(len(partition), dtype=np.int64)
    batch_of[np.concatenate(batches)] = np.repeat(np.arange(len(batches)), [len(b) for b in batches])
    pairs = np.unique(np.stack([partition, batch_of]), axis=1, return_counts=True)
    fragment_partition, fragment_size = pairs[0][0], pairs[1].astype(np.float64)
    _, inverse, fragments_per = np.unique(fragment_partition, return_inverse=True, return_counts=True)
    sizes = np.bincount(inverse, weights=fragment_size)
    multi = sizes >= 2
    within_pairs = (sizes * (sizes - 1) / 2)[multi].sum()
    kept_pairs = (fragment_size * (fragment_size - 1) / 2)[multi[inverse]].sum()
    return {
        "num_batches": len(batches),
        "intact_ratio": float((fragments_per[multi] == 1).mean()) if multi.any() else float("nan"),
        "fragments_per_partition": float(fragments_per[multi].mean()) if multi.any() else float("nan"),
        "cohesion": float(kept_pairs / within_pairs) if within_pairs else float("nan"),
        "avg_fragment_size": float(len(partition) / len(fragment_size)),
        "max_fragment_size": int(fragment_size.max()),
    }


class PackedBatchSampler:
    """RR batches: partitions packed **once** (seeded); the batch order is shuffled per epoch.

    ``drop_last`` drops the one short batch (capacity ``N mod batch_size``) that packing leaves.

    The original replayed one fixed order every epoch; here ``reshuffle_each_epoch=True`` (default) draws a
    fresh order per epoch from ``(seed, epoch)``; ``False`` reproduces the original behaviour.
    """

    def __init__(
        self,
        partition: np.ndarray,
        batch_size: int = 16,
        seed: int = 0,
        packer: str = "largest_first_best_fit",
        reshuffle_each_epoch: bool = True,
        drop_last: bool = False,
    ):
        self.seed = int(seed)
        self.reshuffle_each_epoch = reshuffle_each_epoch
        self.epoch = 0
        batch_size = _check_batch_size(batch_size)
        self.batches = pack(packer, np.asarray(partition), batch_size, np.random.default_rng([self.seed, 0]))
        self.statistics = packing_statistics(partition, self.batches)
        if drop_last and self.batches and len(self.batches[-1]) < batch_size:
            self.batches = self.batches[:-1]

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.batches)

    def __iter__(self):
        epoch = self.epoch if self.reshuffle_each_epoch else 0
        order = np.random.default_rng([self.seed, 1, epoch]).permutation(len(self.batches))
        for index in order:
            yield self.batches[index].tolist()


class RandomBatchSampler:
    """BT batches: a fresh random permutation of all examples every epoch, cut into ``batch_size`` slices."""

    def __init__(self, num_examples: int, batch_size: int = 16, seed: int = 0, drop_last: bool = False):
        self.num_examples = int(num_examples)
        self.batch_size = _check_batch_size(batch_size)
        self.seed = int(seed)
        self.drop_last = drop_last
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        if self.drop_last:
            return self.num_examples // self.batch_size
        return -(-self.num_examples // self.batch_size)

    def __iter__(self):
        permutation = np.random.default_rng([self.seed, self.epoch]).permutation(self.num_examples)
        for index in range(len(self)):
            yield permutation[index * self.batch_size : (index + 1) * self.batch_size].tolist()

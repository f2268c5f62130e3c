"""The training input pipeline: a DataLoader that yields exactly the batches the loop has always built.

Order: epoch ``e`` visits ``torch.randperm(n, generator=manual_seed(seed * 100003 + e))`` in slices of
``batch_size``: a function of (seed, epoch) alone. Items are a function of (seed, epoch, index) alone (datasets define
``set_epoch``), so a batch is the same whether it is built in the main process or in any number of worker processes,
and a resumed run reads exactly the batches of an uninterrupted one.

Workers copy the dataset when they start, so a ``set_epoch`` in the main process would not reach persistent workers:
the sampler therefore yields ``(epoch, index)`` keys and :class:`EpochItems` sets the epoch inside whichever process
builds the item. Under torchrun each rank reads its share of every global batch (:func:`rank_share`).
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Iterator
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset, Sampler, default_collate

from uasbench.training.distributed import DistInfo, rank_share

ORDER_SEED_STRIDE = 100003  # epoch e's order generator is seeded with seed * ORDER_SEED_STRIDE + e
MAX_DEFAULT_WORKERS = 16  # on a 16-core GPU node one rank gets 15; more only with `workers` in the config


def available_cores() -> int:
    """CPU cores this process may run on (its affinity mask, e.g. a SLURM or container limit)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def default_workers(cores: int | None = None, ranks_per_node: int | None = None) -> int:
    """Loader worker processes when the config does not say: ``cores per rank - 1``, at most 16 (0 on one core).

    Why workers even on the 2-core embedded tier: built in the main process, the items' small tensor ops
    (colour jitter, warps) run on torch's intra-op thread pool, which is slow for tensors that small (and far
    slower on a busy machine), while a worker builds them single-threaded and overlaps the model step. Measured
    on the 2-core machine, MetaUAS embedded training, one epoch of 190 pairs (docs/deviations.md, "Training input
    pipeline"): workers 0: 114 s and 135 s; workers 1: 86 s and 81 s; workers 2: 85 s and 77 s; same weights.
    Why up to 16: MetaUAS's B4 step on an H200 takes ~540 pairs/s at 256 px, a worker makes ~80 (12 ms a pair on
    one core here), and 8 workers (the old cap) reached 231 pairs/s with the old, 3x slower hue jitter.
    """
    cores = available_cores() if cores is None else cores
    ranks = ranks_per_node or int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
    per_rank = max(cores // max(ranks, 1), 1)
    return min(MAX_DEFAULT_WORKERS, per_rank - 1)


def global_batches(n: int, batch_size: int, seed: int, epoch: int) -> list[list[int]]:
    """The index lists of one epoch, in order: the permutation of (seed, epoch) sliced into batches."""
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed * ORDER_SEED_STRIDE + epoch))
    return [order[b * batch_size:(b + 1) * batch_size].tolist() for b in range(math.ceil(n / batch_size))]


class EpochBatchSampler(Sampler[list[tuple[int, int]]]):
    """Yields this rank's ``(epoch, index)`` keys of every global batch of the current epoch (set by ``set_epoch``).

    :meth:`shares` gives the same batches as plain index lists with their loss weights, in the same order, so the
    loop can pair each loaded batch with its weight.
    """

    def __init__(self, n: int, batch_size: int, seed: int, dist: DistInfo | None = None) -> None:
        self.n, self.batch_size, self.seed = n, batch_size, seed
        self.dist = dist or DistInfo()
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def shares(self) -> list[tuple[list[int], float]]:
        """(indices, loss weight) of this rank for every batch of the epoch."""
        return [rank_share(batch, self.dist.rank, self.dist.world_size)
                for batch in global_batches(self.n, self.batch_size, self.seed, self.epoch)]

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        for indices, _weight in self.shares():
            yield [(self.epoch, i) for i in indices]

    def __len__(self) -> int:
        return math.ceil(self.n / self.batch_size)


class EpochItems(Dataset):
    """``dataset`` addressed by ``(epoch, index)``: calls ``dataset.set_epoch`` when the epoch changes, in the
    process that builds the item (the main process or a worker's copy)."""

    def __init__(self, dataset: Any) -> None:
        self.dataset = dataset
        self.epoch: int | None = None

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, key: tuple[int, int]) -> Any:
        epoch, index = key
        if epoch != self.epoch and hasattr(self.dataset, "set_epoch"):
            self.dataset.set_epoch(epoch)
        self.epoch = epoch
        return self.dataset[index]


def make_loader(dataset: Any, batch_size: int, seed: int, device: torch.device, workers: int,
                dist: DistInfo | None = None) -> DataLoader:
    """The loop's DataLoader: :class:`EpochBatchSampler` batches, :func:`collate`, pinned memory on CUDA.

    Workers persist across epochs (EpochItems keeps their epoch right) and prefetch two batches each; on Linux they
    are forked (no pickling of a dataset held in memory, which they share copy-on-write). The loader
    gets its own generator, so creating an iterator (which draws the workers' base seed) does not advance the
    global torch RNG the model's dropout uses: a run with the loader draws the same numbers as one without it.
    """
    if workers < 0:
        raise ValueError(f"workers must be >= 0, got {workers}")
    fork = workers > 0 and sys.platform == "linux"
    if fork and "cv2" in sys.modules:
        _opencv_fork_safe()
    sampler = EpochBatchSampler(len(dataset), batch_size, seed, dist)
    return DataLoader(EpochItems(dataset), batch_sampler=sampler, num_workers=workers, collate_fn=collate,
                      pin_memory=device.type == "cuda", persistent_workers=workers > 0,
                      prefetch_factor=2 if workers > 0 else None, multiprocessing_context="fork" if fork else None,
                      generator=torch.Generator().manual_seed(seed * ORDER_SEED_STRIDE))


def _opencv_fork_safe() -> None:
    """Empty OpenCV's thread pool before workers fork: a child that inherits a started pool can wait forever for
    its threads in the first parallel cv2 call (uasbench.datasets.change_pairs.generate saw it). The items' cv2
    calls then run in the workers, one thread each; the main process keeps no cv2 work (same results: these
    OpenCV ops compute each pixel alike whatever the thread count)."""
    import cv2

    cv2.setNumThreads(1)


def collate(items: list) -> Any:
    """Stack a list of items (tensors, tuples/lists/dicts of them, numbers) into one batch of the same shape."""
    first = items[0]
    if isinstance(first, torch.Tensor):
        # torch's tensor collate: the same torch.stack, but in a worker it stacks straight into shared memory; a
        # plain stack there is copied into shared memory again when the batch is sent (256 px, batch 32: 86 ms)
        return default_collate(items)
    if isinstance(first, (tuple, list)):
        return type(first)(collate(list(group)) for group in zip(*items))
    if isinstance(first, dict):
        return {k: collate([it[k] for it in items]) for k in first}
    if isinstance(first, (int, float)):
        return torch.tensor(items)
    return items


def to_device(batch: Any, device: torch.device) -> Any:
    """Move every tensor of a batch to ``device`` (non-blocking: pinned batches overlap the copy on CUDA)."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, (tuple, list)):
        return type(batch)(to_device(b, device) for b in batch)
    if isinstance(batch, dict):
        return {k: to_device(v, device) for k, v in batch.items()}
    return batch

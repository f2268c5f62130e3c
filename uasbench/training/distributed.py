"""Process-group helpers for multi-GPU training: ``torchrun --nproc_per_node N -m uasbench train M --config C``.

torchrun starts N copies of the command with ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK`` (and the rendezvous address)
in their environment. :func:`distributed_session` joins the group (NCCL on CUDA, gloo on CPU) and pins each rank to
``cuda:LOCAL_RANK``; the loop then splits every global batch between the ranks (:func:`rank_share`), so the batch
size of a config means the same with 1 or N processes, and rank 0 alone writes files and prints progress.
A plain ``uasbench train`` (no torchrun) is world size 1 and none of this runs.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistInfo:
    """Where this process stands in the process group (rank 0 of 1 when not distributed)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def env_info() -> DistInfo:
    """What the launcher (torchrun) put in the environment; rank 0 of 1 without one."""
    return DistInfo(rank=int(os.environ.get("RANK", "0")), world_size=int(os.environ.get("WORLD_SIZE", "1")),
                    local_rank=int(os.environ.get("LOCAL_RANK", "0")))


def current() -> DistInfo:
    """This process's place in the initialized process group (rank 0 of 1 when there is none)."""
    if dist.is_available() and dist.is_initialized():
        return DistInfo(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))
    return DistInfo()


def is_main_process() -> bool:
    """True on rank 0 and in a non-distributed run: the process that writes files and prints."""
    return current().is_main


def rank_device(device: torch.device, info: DistInfo) -> torch.device:
    """``cuda:LOCAL_RANK`` for a CUDA run under torchrun (one GPU per process); the device unchanged otherwise."""
    if info.enabled and device.type == "cuda":
        return torch.device("cuda", info.local_rank)
    return device


@contextlib.contextmanager
def distributed_session(device: torch.device) -> Iterator[tuple[torch.device, DistInfo]]:
    """Join the process group torchrun describes (if any) for the block and leave it after; yields this rank's
    device and place. Without a launcher (WORLD_SIZE unset or 1) it yields ``device`` and rank 0 of 1."""
    info = env_info()
    if not info.enabled:
        yield device, info
        return
    if dist.is_initialized():  # the caller (e.g. a test) joined a group already: use it, leave it to the caller
        yield rank_device(device, current()), current()
        return
    device = rank_device(device, info)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo",
                            device_id=device if device.type == "cuda" else None)
    try:
        yield device, current()
    finally:
        dist.destroy_process_group()


def rank_share(batch: list[int], rank: int, world_size: int) -> tuple[list[int], float]:
    """Rank ``rank``'s contiguous chunk of one global batch and the weight of its mean loss.

    Chunks differ by at most one item (the first ``len % world`` ranks take one more). DDP averages gradients
    over ranks, so a rank's loss is scaled by ``len(chunk) * world / len(batch)``: the averaged gradient is then
    the gradient of the global batch's mean loss even for an uneven last batch. A rank left without items (a last
    batch smaller than the world) recomputes the batch's first item with weight 0: every rank must take part in
    the gradient all-reduce. Weight 1.0 (even chunks, or one process) leaves the loss untouched.
    """
    if world_size == 1:
        return list(batch), 1.0
    base, extra = divmod(len(batch), world_size)
    start = rank * base + min(rank, extra)
    mine = batch[start:start + base + (rank < extra)]
    if not mine:
        return [batch[0]], 0.0
    return mine, len(mine) * world_size / len(batch)


def all_sum(values: list[float], device: torch.device) -> list[float]:
    """Element-wise sum over ranks (float64), e.g. (loss x items, items) for the global mean loss."""
    if not current().enabled:
        return list(values)
    backend_device = device if dist.get_backend() == "nccl" else torch.device("cpu")
    tensor = torch.tensor(values, dtype=torch.float64, device=backend_device)
    dist.all_reduce(tensor)
    return tensor.tolist()


def all_gather(obj: Any) -> list[Any]:
    """Every rank's ``obj`` in rank order (``[obj]`` when not distributed): e.g. the RNG states for a checkpoint."""
    info = current()
    if not info.enabled:
        return [obj]
    gathered: list[Any] = [None] * info.world_size
    dist.all_gather_object(gathered, obj)
    return gathered


def barrier() -> None:
    """Wait for every rank (no-op when not distributed)."""
    if current().enabled:
        dist.barrier()

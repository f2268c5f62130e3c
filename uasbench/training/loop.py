"""One training loop for every trainable method: per-epoch checkpoints, bit-for-bit resume, progress bar.

Resume contract: a checkpoint is written (atomically) after every epoch with model, optimizer, scheduler and all RNG
states. Data order and augmentation depend only on (seed, epoch, index), so a run killed mid-epoch and resumed from
its last checkpoint ends with exactly the weights of an uninterrupted run on CPU, whatever the number of loader
workers (uasbench.training.batches). The checkpoint also records the settings; a resume under other settings is
refused (uasbench.training.checkpoint).

Precision (``fp32`` | ``tf32`` | ``bf16``, uasbench.precision) wraps forward and loss; ``fp32`` is the loop as it
always was. Under torchrun each rank trains on its share of every global batch through DistributedDataParallel and
rank 0 alone writes checkpoints and prints (uasbench.training.distributed).
"""

from __future__ import annotations

import functools
import math
import random
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from uasbench import layout
from uasbench.errors import TrainingDiverged
from uasbench.precision import autocast, check_precision, precision_flags, precision_note
from uasbench.training.batches import collate, default_workers, make_loader, to_device
from uasbench.training.checkpoint import (
    load_checkpoint,
    plain,
    restore,
    resume_settings,
    rng_state,
    save_checkpoint,
    set_rng_state,
    settings_changes,
)
from uasbench.training.distributed import DistInfo, all_gather, all_sum, barrier, current

# names older code imported from here
__all__ = ["LossFn", "TrainSpec", "TrainStep", "collate", "load_checkpoint", "make_optimizer", "plain",
           "rng_state", "save_checkpoint", "seed_everything", "set_rng_state", "settings_changes", "to_device", "train"]

LossFn = Callable[[nn.Module, Any], torch.Tensor]
LOSS_READ_EVERY = 25  # on CUDA: batches between reads of the losses (each read waits for the GPU)
RANK_SEED_STRIDE = 1_000_003  # rank r's RNGs (dropout) start from seed + r * stride; rank 0 = a one-process run


@dataclass
class TrainSpec:
    """Everything the loop needs besides model, loss and data; built from a config's training entry by field name."""

    epochs: int
    batch_size: int  # the global batch: under torchrun the ranks split it, so it means the same with N processes
    lr: float
    weight_decay: float
    seed: int = 0
    grad_clip: float | None = None
    step_size: int | None = None  # StepLR step in epochs (None = constant lr)
    gamma: float = 0.1
    betas: tuple[float, float] = (0.9, 0.999)
    channels_last: bool = False  # NHWC convolutions: markedly faster for CNN decoders on CPU (oneDNN)
    precision: str = "fp32"  # fp32 | tf32 | bf16 (uasbench.precision); part of the resume check
    workers: int | None = None  # DataLoader worker processes; None = default_workers(), 0 = the main process
    gpus: int | None = None  # processes the entry is meant for (torchrun --nproc_per_node); a hint, not enforced
    compile: bool = False  # torch.compile the forward + loss (fewer, fused kernels); rounding-level changes only
    extra: dict[str, Any] = field(default_factory=dict)


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and torch (the model's dropout draws from them; the data does not)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def make_optimizer(model: nn.Module, spec: TrainSpec):
    """AdamW over the learnable parameters and a StepLR (constant without ``step_size``)."""
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("model has no learnable parameters")
    optimizer = torch.optim.AdamW(params, lr=spec.lr, weight_decay=spec.weight_decay, betas=spec.betas)
    step = spec.step_size or max(spec.epochs, 1) * 10**6
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=step, gamma=spec.gamma)
    return optimizer, scheduler


class _LossOf(nn.Module):
    """``loss_fn(model, batch)`` as a module: DistributedDataParallel synchronises gradients only for a forward
    that goes through it, and a loss may call any method of the model (not just ``forward``)."""

    def __init__(self, model: nn.Module, loss_fn: LossFn) -> None:
        super().__init__()
        self.model, self.loss_fn = model, loss_fn

    def forward(self, batch: Any) -> torch.Tensor:
        return self.loss_fn(self.model, batch)


class TrainStep:
    """One optimisation step (batch to device, forward + loss under the precision, backward, clip, update); the
    loop and ``uasbench bench train`` share it so the benchmark times exactly what training runs."""

    def __init__(self, model: nn.Module, loss_fn: LossFn, optimizer, spec: TrainSpec, device: torch.device,
                 dist: DistInfo | None = None, desc: str = "train") -> None:
        self.model, self.optimizer, self.spec, self.device, self.desc = model, optimizer, spec, device, desc
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.compute: Callable[[Any], torch.Tensor]
        if dist is not None and dist.enabled:
            # static_graph: the learnable parameters a loss reaches are the same every step (some losses leave a few
            # out, e.g. MetaUAS's hard alignment or a learned encoder's unused head); DDP finds them in the first
            # step instead of searching the autograd graph in every step as find_unused_parameters does
            self.compute = nn.parallel.DistributedDataParallel(
                _LossOf(model, loss_fn), device_ids=[device.index] if device.type == "cuda" else None,
                static_graph=True)
        elif spec.compile:  # torch.compile takes a module
            self.compute = _LossOf(model, loss_fn)
        else:
            self.compute = functools.partial(loss_fn, model)
        if spec.compile:  # compiles on the first batch (and again for a new input shape, e.g. a short last batch)
            self.compute = torch.compile(self.compute)

    def __call__(self, batch: Any, weight: float = 1.0) -> torch.Tensor:
        """Train on ``batch``; ``weight`` scales this rank's loss (uasbench.training.distributed.rank_share).
        Returns the batch's (unweighted) loss as a detached tensor on the device: reading it waits for the device,
        so the loop reads losses in groups (:class:`LossLog`) and a GPU is not made to idle after every step."""
        batch = to_device(batch, self.device)
        with autocast(self.spec.precision, self.device):
            loss = self.compute(batch)
        self.optimizer.zero_grad(set_to_none=True)
        (loss if weight == 1.0 else loss * weight).backward()
        if self.spec.grad_clip:
            nn.utils.clip_grad_norm_(self.params, self.spec.grad_clip)
        self.optimizer.step()
        return loss.detach()


class LossLog:
    """Per-batch losses, read from the device every ``read_every`` batches (1 on a CPU, where reading is free):
    the running sum of loss x items, and a non-finite loss reported with its exact batch, as if read at once,
    followed by ``advice`` (what to change)."""

    def __init__(self, desc: str, read_every: int, advice: str = "") -> None:
        self.desc, self.read_every, self.advice = desc, read_every, advice
        self.total, self.seen = 0.0, 0
        self.pending: list[tuple[torch.Tensor, int, str]] = []

    def add(self, loss: torch.Tensor, items: int, where: str) -> bool:
        """Record one batch's loss (``items`` = 0: it does not count, e.g. a rank's stand-in item); True when the
        running figures were brought up to date."""
        self.pending.append((loss, items, where))
        if len(self.pending) < self.read_every:
            return False
        self.read()
        return True

    def read(self) -> None:
        """Bring the totals up to date (one device sync); a non-finite loss raises TrainingDiverged, naming its
        batch."""
        if not self.pending:
            return
        values = torch.stack([loss.float() for loss, _, _ in self.pending]).tolist()
        for value, (_, items, where) in zip(values, self.pending):
            if not math.isfinite(value):
                raise TrainingDiverged(f"[{self.desc}] non-finite loss {value} at {where}: training diverged "
                                       f"(no checkpoint of this epoch was written){self.advice}")
            if items:
                self.total += value * items
                self.seen += items
        self.pending.clear()


def train(model: nn.Module, loss_fn: LossFn, dataset, spec: TrainSpec, out_dir: str | Path,
          device: torch.device, resume: bool = True, desc: str = "train", meta: dict[str, Any] | None = None,
          on_epoch_end: Callable[[int, dict], None] | None = None) -> list[dict]:
    """Train ``model`` on ``dataset`` with ``loss_fn(model, batch)``; checkpoints go to ``out_dir/checkpoint.pt``.

    ``dataset`` may define ``set_epoch(epoch)`` to make its augmentation a function of the epoch.
    ``on_epoch_end(epoch, record)`` runs on every rank (write files only where ``is_main_process()``).
    Returns the per-epoch history (loss, lr, seconds, samples/s); the loss is the mean over all ranks' items.
    """
    check_precision(spec.precision)
    dist = current()
    ckpt_path = Path(out_dir) / layout.CHECKPOINT_FILE
    model.to(device)
    if spec.channels_last:
        model.to(memory_format=torch.channels_last)
    seed_everything(spec.seed + RANK_SEED_STRIDE * dist.rank)
    optimizer, scheduler = make_optimizer(model, spec)
    settings = resume_settings(asdict(spec), meta)
    history: list[dict] = []
    start_epoch = 0
    if resume and ckpt_path.exists():
        history, start_epoch = restore(ckpt_path, model, optimizer, scheduler, settings, dist.rank, dist.world_size)
        _say(dist, f"[{desc}] resumed from {ckpt_path} after epoch {start_epoch}/{spec.epochs}")
    for note in _notes(spec, device, dist):
        _say(dist, f"[{desc}] {note}")
    workers = default_workers() if spec.workers is None else spec.workers
    loader = make_loader(dataset, spec.batch_size, spec.seed, device, workers, dist)
    step = TrainStep(model, loss_fn, optimizer, spec, device, dist, desc)
    with precision_flags(spec.precision, device):
        for epoch in range(start_epoch, spec.epochs):  # the loader sets the dataset's epoch where items are built
            total, seen, seconds = _run_epoch(step, loader, epoch, spec, dist)
            scheduler.step()
            record = {"epoch": epoch + 1, "of_epochs": spec.epochs, "loss": total / max(seen, 1),
                      "lr": optimizer.param_groups[0]["lr"], "seconds": seconds,
                      "samples_per_s": seen / max(seconds, 1e-9)}
            history.append(record)
            _say(dist, f"[{desc}] epoch {epoch + 1}/{spec.epochs} loss {record['loss']:.4f} "
                       f"{record['samples_per_s']:.1f} samples/s {seconds:.1f}s")
            if on_epoch_end is not None:
                on_epoch_end(epoch, record)
            rngs = all_gather(rng_state())  # every rank's, so a resumed rank continues its own dropout stream
            if dist.is_main:
                save_checkpoint(ckpt_path, model, optimizer, scheduler, epoch, history, settings, rngs)
    barrier()  # the last checkpoint exists for every rank once train() returns
    return history


def _run_epoch(step: TrainStep, loader, epoch: int, spec: TrainSpec, dist: DistInfo) -> tuple[float, int, float]:
    """One pass over the loader: (sum of loss x items, items, seconds), summed over ranks."""
    from tqdm.auto import tqdm

    loader.batch_sampler.set_epoch(epoch)
    step.model.train()
    log = LossLog(step.desc, LOSS_READ_EVERY if step.device.type == "cuda" else 1, divergence_advice(spec))
    t0 = time.perf_counter()
    # in a log file (no TTY) a bar line every 30 s instead of every batch keeps Snakemake logs readable
    bar = tqdm(zip(loader.batch_sampler.shares(), loader), total=len(loader), leave=False,
               desc=f"{step.desc} epoch {epoch + 1}/{spec.epochs}", disable=not dist.is_main,
               mininterval=1.0 if sys.stderr.isatty() else 30.0)
    for b, ((indices, weight), batch) in enumerate(bar):
        # a weight-0 share is a stand-in item of a rank without one (rank_share): it does not count
        if log.add(step(batch, weight), len(indices) if weight else 0, where=f"epoch {epoch + 1}, batch {b}"):
            bar.set_postfix(loss=f"{log.total / max(log.seen, 1):.4f}",
                            pairs_s=f"{log.seen / (time.perf_counter() - t0):.1f}", refresh=False)
    log.read()
    bar.close()
    total, seen = all_sum([log.total, log.seen], step.device)
    return total, int(seen), time.perf_counter() - t0


def divergence_advice(spec: TrainSpec) -> str:
    """What to try when the loss becomes NaN/inf, given the settings that ran (appended to the error)."""
    tips = [f"a lower lr (now {spec.lr:g})"]
    if spec.precision != "fp32":
        tips.append(f"precision fp32 (now {spec.precision})")
    if not spec.grad_clip:
        tips.append("a grad_clip (e.g. 1.0)")
    tips.append("checking the training data for NaN/inf values")
    return "; try " + ", ".join(tips)


def _notes(spec: TrainSpec, device: torch.device, dist: DistInfo) -> list[str]:
    """Lines worth a user's eye before the first epoch: a precision without effect, a GPU count not launched."""
    notes = [note] if (note := precision_note(spec.precision, device)) else []
    if spec.gpus and spec.gpus > 1 and spec.gpus != dist.world_size:
        notes.append(f"the entry asks for gpus: {spec.gpus} but this run has {dist.world_size} process(es); launch "
                     f"'torchrun --nproc_per_node {spec.gpus} -m uasbench train ...' to use them")
    return notes


def _say(dist: DistInfo, line: str) -> None:
    if dist.is_main:
        print(line)

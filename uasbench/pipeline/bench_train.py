"""``uasbench bench train``: which part bounds a training run, the input pipeline or the model step?

Three timings for a config's training entry, each over the same batches the loop reads (``make_loader``) after
untimed warm-up batches:

* ``data``: the DataLoader alone (items, augmentation, collate, copy to the device), no model;
* ``compute``: the training step (forward + loss + backward + optimizer, ``TrainStep``) on one batch held on the
  device, i.e. the model alone;
* ``train``: both, as ``uasbench train`` runs them (with workers the loader works while the model computes).

The loader streams skip one more warm-up batch per worker (its start-up is not the steady rate).

One process (no torchrun); the model is built like ``uasbench train`` builds it (its initial weights), and trained
for the timed steps only, so nothing is written but the report.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import torch

from uasbench.methods import create
from uasbench.pipeline.methods import method_kwargs
from uasbench.pipeline.train import training_spec
from uasbench.pipeline.weights import check_needs, pretrained_only, training_needs
from uasbench.precision import check_precision, precision_flags
from uasbench.training.batches import default_workers, make_loader, to_device
from uasbench.training.loop import TrainStep, make_optimizer, seed_everything

STAGES = {"data": "data pipeline (no model)", "compute": "model step (one batch)", "train": "data + model step"}


def _batches(loader) -> Iterator[tuple[Any, int]]:
    """(batch, items) forever, epoch after epoch (a small dataset still yields as many batches as asked)."""
    epoch = 0
    while True:
        loader.batch_sampler.set_epoch(epoch)
        for (indices, _), batch in zip(loader.batch_sampler.shares(), loader):
            yield batch, len(indices)
        epoch += 1


def _timed(run_one: Callable[[], int], warmup: int, batches: int, device: torch.device) -> dict[str, float]:
    """Samples/s of ``batches`` calls of ``run_one`` (which returns its item count) after ``warmup`` calls."""
    for _ in range(warmup):
        run_one()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    t0, samples = time.perf_counter(), 0
    for _ in range(batches):
        samples += run_one()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    seconds = time.perf_counter() - t0
    return {"samples": samples, "seconds": seconds, "samples_per_s": samples / max(seconds, 1e-9),
            "seconds_per_batch": seconds / max(batches, 1)}


def bench_training(config: dict, model_name: str, device: torch.device, workers: int | None = None,
                   precision: str | None = None, batch_size: int | None = None, batches: int = 10,
                   warmup: int = 1, compile: bool | None = None) -> dict[str, Any]:
    """Time the data pipeline, the model step and both together (see the module doc); returns the report."""
    entry, method_cls, spec = training_spec(config, model_name, workers=workers, precision=precision,
                                            batch_size=batch_size, compile=compile)
    check_precision(spec.precision)
    needs = training_needs(config, model_name, refusable_only=True)
    check_needs(needs)  # before the training set is built
    workers = default_workers() if spec.workers is None else spec.workers
    dataset = method_cls.training_dataset(config, entry)
    seed_everything(spec.seed)
    with pretrained_only(config, entry, needs):
        model = create(entry["method"], **method_kwargs(entry)).model.to(device)
    if spec.channels_last:
        model.to(memory_format=torch.channels_last)
    model.train()
    step = TrainStep(model, method_cls.training_loss, make_optimizer(model, spec)[0], spec, device,
                     desc=f"bench train {model_name}")

    def new_stream() -> Iterator[tuple[Any, int]]:
        return _batches(make_loader(dataset, spec.batch_size, spec.seed, device, workers))

    data = new_stream()
    report: dict[str, Any] = {"model": model_name, "method": entry["method"], "device": str(device),
                              "precision": spec.precision, "compile": spec.compile, "workers": workers,
                              "batch_size": spec.batch_size,
                              "batches": batches, "warmup": warmup, "n_train_items": len(dataset)}

    def data_only() -> int:
        batch, n = next(data)
        to_device(batch, device)
        return n

    held_batch, held_n = next(data)
    held_batch = to_device(held_batch, device)

    def compute_only() -> int:
        step(held_batch)
        return held_n

    train_stream = new_stream()

    def data_and_step() -> int:
        batch, n = next(train_stream)
        step(batch)
        return n

    # a stream's first batch from each worker also pays for starting that worker: not part of the steady rate
    stream_warmup = warmup + workers
    with precision_flags(spec.precision, device):
        report["data"] = _timed(data_only, stream_warmup, batches, device)
        report["compute"] = _timed(compute_only, warmup, batches, device)
        report["train"] = _timed(data_and_step, stream_warmup, batches, device)
    slower = min(("data", "compute"), key=lambda stage: report[stage]["samples_per_s"])
    report["bound_by"] = slower
    return report


def format_report(report: dict[str, Any]) -> str:
    """The report as a small table and one line naming the bound."""
    lines = [f"bench train {report['model']} on {report['device']}: batch {report['batch_size']}, "
             f"{report['batches']} timed batches (+{report['warmup']} warm-up), workers {report['workers']}, "
             f"precision {report['precision']}{', compiled' if report.get('compile') else ''}",
             f"{'stage':<28}{'samples/s':>12}{'s/batch':>10}"]
    for stage, label in STAGES.items():
        row = report[stage]
        lines.append(f"{label:<28}{row['samples_per_s']:>12.1f}{row['seconds_per_batch']:>10.3f}")
    bound, other = report["bound_by"], "compute" if report["bound_by"] == "data" else "data"
    ratio = report[other]["samples_per_s"] / max(report[bound]["samples_per_s"], 1e-9)
    lines.append(f"bound by: {STAGES[bound]} ({STAGES[other]} alone is {ratio:.1f}x faster)")
    return "\n".join(lines)

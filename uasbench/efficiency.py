"""Parameter counts and forward latency (MetaUAS Tab 2): warm-up, repeats, median, on the device at hand."""

from __future__ import annotations

import statistics
import time
from typing import Any, Callable

import torch


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure_latency(fn: Callable[[], Any], device: torch.device, warmup: int = 2, repeats: int = 5) -> dict[str, Any]:
    """Wall-clock milliseconds of ``fn()`` (CUDA synchronised), after ``warmup`` untimed calls."""
    if repeats < 1:
        raise ValueError("repeats must be >= 1")
    for _ in range(warmup):
        fn()
    _sync(device)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        _sync(device)
        times.append((time.perf_counter() - t0) * 1000.0)
    return {"median": statistics.median(times), "min": min(times), "max": max(times), "repeats": repeats,
            "warmup": warmup}


class RandomInputs:
    """Seeded random inputs for timing ``method.predict`` through the prediction path: one normal prompt fitted into
    the method's memory once (untimed, as predictions do), then query batches with the prompts
    ``Method.prompts_for`` gives them, as in ``uasbench predict``."""

    def __init__(self, method, image_size: int, device: torch.device, category: str) -> None:
        self.method, self.image_size, self.device = method, image_size, device
        self.generator = torch.Generator().manual_seed(0)
        self.prompt = torch.rand(1, 3, image_size, image_size, generator=self.generator).to(device)
        self.shots = getattr(method, "shots", 1)
        method.fit(self.prompt if self.shots else None, category)

    def batch(self, size: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(queries, their prompts or None) for a batch of ``size``."""
        query = torch.rand(size, 3, self.image_size, self.image_size, generator=self.generator).to(self.device)
        return query, self.method.prompts_for(self.prompt, size) if self.shots else None


@torch.no_grad()
def bench_method(method, image_size: int, batch_sizes: list[int], device: torch.device, warmup: int = 2,
                 repeats: int = 5, category: str = "object",
                 prepare: Callable[[Any], Any] = lambda tensor: tensor) -> dict[str, Any]:
    """Latency of ``method.predict`` on :class:`RandomInputs` for each batch size; ``prepare`` puts an input batch
    in the layout the network runs in (untimed, as prediction does it per batch)."""
    inputs = RandomInputs(method, image_size, device, category)
    latency = {}
    for batch in batch_sizes:
        query, prompt = (prepare(t) for t in inputs.batch(batch))
        # bind this batch's tensors: the closure is only called inside this iteration, but must not depend on that
        latency[str(batch)] = measure_latency(
            lambda query=query, prompt=prompt: method.predict(query, prompt, category=category), device,
            warmup=warmup, repeats=repeats)
    return {"latency_ms": latency, "params": method.parameter_counts(), "image_size": image_size,
            "device": str(device), "torch_threads": torch.get_num_threads(),
            "weight_source": getattr(method, "weight_source", "random")}

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


@torch.no_grad()
def bench_method(method, image_size: int, batch_sizes: list[int], device: torch.device, warmup: int = 2,
                 repeats: int = 5, category: str = "object") -> dict[str, Any]:
    """Latency of ``method.predict`` on random inputs through the prediction path: a one-shot memory is fitted once
    (untimed) and queries get the prompt batch ``Method.prompts_for`` gives, as in ``uasbench predict``."""
    gen = torch.Generator().manual_seed(0)
    prompt1 = torch.rand(1, 3, image_size, image_size, generator=gen).to(device)
    shots = getattr(method, "shots", 1)
    method.fit(prompt1 if shots else None, category)  # as predictions do: a memory is built once, untimed
    latency = {}
    for batch in batch_sizes:
        query = torch.rand(batch, 3, image_size, image_size, generator=gen).to(device)
        prompt = method.prompts_for(prompt1, batch) if shots else None
        # bind this batch's tensors: the closure is only called inside this iteration, but must not depend on that
        latency[str(batch)] = measure_latency(
            lambda query=query, prompt=prompt: method.predict(query, prompt, category=category), device,
            warmup=warmup, repeats=repeats)
    return {"latency_ms": latency, "params": method.parameter_counts(), "image_size": image_size,
            "device": str(device), "torch_threads": torch.get_num_threads(),
            "weight_source": getattr(method, "weight_source", "random")}

"""Forward latency of MetaUAS (official config: EfficientNet-B4, soft alignment, cat, UNet) at 256 px on CPU.

Run with ``pytest tests/benchmarks --benchmark-enable``; with the default ``--benchmark-disable`` each case
executes once, as a smoke test. Batch 32 takes ~25 s on 2 shared CPU cores, so it only runs when
``UASBENCH_BENCH_LARGE=1`` is set.
"""

from __future__ import annotations

import os

import pytest
import torch

from uasbench.methods import create

LARGE = os.environ.get("UASBENCH_BENCH_LARGE") == "1"


@pytest.fixture(scope="module")
def method():
    return create("metauas", pretrained_backbone=False)  # random weights: latency does not depend on them


@pytest.mark.benchmark(group="metauas-forward-256-cpu")
@pytest.mark.parametrize("batch", [
    8,
    pytest.param(32, marks=pytest.mark.skipif(not LARGE, reason="~25 s on CPU; set UASBENCH_BENCH_LARGE=1")),
])
def test_forward_latency_256(benchmark, method, batch):
    generator = torch.Generator().manual_seed(0)
    query = torch.rand(batch, 3, 256, 256, generator=generator)
    prompt = torch.rand(batch, 3, 256, 256, generator=generator)
    maps, scores = benchmark.pedantic(method.predict, args=(query, prompt), rounds=3, iterations=1,
                                      warmup_rounds=1)
    assert maps.shape == (batch, 256, 256) and scores.shape == (batch,)

import time

import pytest
import torch

from uasbench.efficiency import bench_method, measure_latency


def test_measure_latency_times_the_call_after_warmup():
    calls = []

    def work():
        calls.append(1)
        time.sleep(0.01)

    stats = measure_latency(work, torch.device("cpu"), warmup=2, repeats=3)
    assert len(calls) == 5
    assert 9.0 <= stats["min"] <= stats["median"] <= stats["max"]
    with pytest.raises(ValueError):
        measure_latency(work, torch.device("cpu"), repeats=0)


def test_bench_method_reports_every_batch_size_and_parameter_counts():
    from uasbench.methods import create

    method = create("prompt-diff", space="pixel")
    result = bench_method(method, 32, [1, 2], torch.device("cpu"), warmup=0, repeats=1)
    assert set(result["latency_ms"]) == {"1", "2"}
    assert result["params"] == {"total": 0, "learnable": 0} and result["image_size"] == 32

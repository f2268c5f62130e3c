"""Speed of the metrics against scikit-learn + the literal MVTec AUPRO, on small MVTec-shaped data.

The full-size measurement is ``uasbench bench metrics`` (see docs/deviations.md, Metrics).
"""

from __future__ import annotations

import pytest

from uasbench.cli import main
from uasbench.metrics.bench import TOLERANCE, make_dataset, max_abs_diff, run_fast, run_reference, timed_cpu


@pytest.mark.benchmark
def test_fast_metrics_equal_and_beat_reference(benchmark):
    data = make_dataset(scale=0.03, seed=0, size=128)
    run_fast(data[:1]), run_reference([(c, m[[0, -1]], k[[0, -1]]) for c, m, k in data[:1]])  # warm-up
    fast = benchmark(run_fast, data)
    _, fast_wall, fast_cpu = timed_cpu(lambda: run_fast(data))
    ref, ref_wall, ref_cpu = timed_cpu(lambda: run_reference(data))
    diffs = max_abs_diff(fast, ref)
    print(f"\nfast {fast_wall:.3f} s ({fast_cpu:.3f} s CPU), reference {ref_wall:.3f} s ({ref_cpu:.3f} s CPU), "
          f"speed-up {ref_wall / fast_wall:.1f}x wall, {ref_cpu / fast_cpu:.1f}x CPU, "
          f"max |diff| {max(diffs.values()):.1e}")
    assert all(d <= TOLERANCE for d in diffs.values()), diffs
    assert ref_cpu > 3 * fast_cpu  # CPU time: robust on shared cores


def test_bench_metrics_command(capsys):
    assert main(["bench", "metrics", "--scale", "0.01", "--size", "48"]) == 0
    out = capsys.readouterr().out
    assert "speed-up:" in out and "identical" in out and "peak extra memory" in out

"""``uasbench bench latency``: parameter counts and forward latency of a configured run (MetaUAS Tab 2).

The method is built exactly as ``uasbench predict`` builds it (trained weights included), then timed by
:func:`uasbench.efficiency.bench_method`; the result is the run's efficiency file, which tracking and the
efficiency table read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import torch

from uasbench.efficiency import bench_method
from uasbench.errors import ConfigError
from uasbench.io import write_json
from uasbench.methods.clip.prior import WithClipPrior
from uasbench.pipeline.jobs import run_datasets
from uasbench.pipeline.methods import build_run_method
from uasbench.precision import Execution


def timed_run(config: dict, run_name: str, device: torch.device, image_size: int | None = None
              ) -> tuple[dict[str, Any], Any, dict[str, Any], int]:
    """(run config, method built as ``uasbench predict`` builds it, its info, input size) of a run to time; the
    size defaults to the run's first dataset's. A run with a ``clip_prior`` is timed and counted with its prior."""
    if run_name not in config["runs"]:
        raise ConfigError(f"unknown run {run_name!r}; configured runs: {', '.join(sorted(config['runs']))}")
    run_cfg = config["runs"][run_name]
    method, info = build_run_method(config, run_cfg, device, name=run_name)
    if run_cfg.get("clip_prior"):
        method = WithClipPrior(method, run_cfg["clip_prior"], device)
        info["weight_source"] = method.weight_source
    first = run_datasets(config, run_name)[0]
    return run_cfg, method, info, image_size or config["datasets"][first]["image_size"]


def bench_run(config: dict, run_name: str, device: torch.device, out: str | Path, image_size: int | None = None,
              batch_sizes: Sequence[int] | None = None, precision: str | None = None,
              channels_last: bool | None = None, compile: bool | None = None) -> dict[str, Any]:
    """Time the run at ``image_size`` (default: its first dataset's) for each batch size (default: the config's
    ``efficiency.batch_sizes``, else 1 and 32) in ``precision`` / ``channels_last`` / ``compile`` (default: the
    run's, else fp32 / off; uasbench.precision.Execution), write the result atomically to ``out`` and return it."""
    run_cfg, method, _info, size = timed_run(config, run_name, device, image_size)
    settings = config["efficiency"]
    execution = Execution.of_run(run_cfg, precision, channels_last, compile)
    with execution.applied(method, device):
        result = bench_method(method, size, list(batch_sizes or settings["batch_sizes"]), device,
                              warmup=settings["warmup"], repeats=settings["repeats"], prepare=execution.inputs)
    result.update({"precision": execution.label, "channels_last": execution.channels_last,
                   "compile": execution.compile})
    result.update({"run": run_name, "method": run_cfg["method"], "tier": config["tier"]})
    write_json(out, result)
    return result


def format_bench(result: dict[str, Any]) -> str:
    """The lines ``uasbench bench latency`` prints: the median per batch size, then the parameter counts."""
    run = result["run"]
    lines = [f"{run}: batch {batch} @ {result['image_size']}px on {result['device']} "
             f"({result.get('precision', 'fp32')}): median {stats['median']:.1f} ms "
             f"({stats['median'] / int(batch):.2f} ms/image)" for batch, stats in result["latency_ms"].items()]
    params = result["params"]
    lines.append(f"{run}: {params['total'] / 1e6:.2f}M parameters ({params['learnable'] / 1e6:.2f}M learnable), "
                 f"weights: {result['weight_source']}")
    return "\n".join(lines)

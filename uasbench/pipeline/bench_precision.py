"""``uasbench bench precision``: one run's forward pass under several numerics, timed side by side in one process.

A variant is a precision (``fp32`` | ``tf32`` | ``bf16``, see :mod:`uasbench.precision`) with optional ``+cl``
(channels_last weights and inputs) and ``+compile`` (``torch.compile`` of the method's network), e.g. ``bf16+cl``
or ``bf16+cl+compile``. Every variant predicts the same inputs (one prompt, a batch of queries, as ``bench latency``
feeds them); the report gives each variant's median ms per image, its speed-up over the first variant (``fp32``:
the official code's numerics) and the largest difference of its maps from the first variant's. Variants are timed
in rounds (each round times every variant once, in order), so a machine that speeds up or slows down during the
run affects them alike.

``+cl`` and ``+compile`` change the method's ``model`` (an ``nn.Module``); methods without one take precisions
only. The network is restored after each variant, so the variants do not leak into each other.
"""

from __future__ import annotations

import statistics
import time
from typing import Any, Sequence

import torch

from uasbench.efficiency import RandomInputs, measure_latency
from uasbench.pipeline.efficiency import timed_run
from uasbench.precision import DEFAULT_VARIANTS, Execution


@torch.no_grad()
def bench_precisions(config: dict, run_name: str, device: torch.device, variants: Sequence[str] = DEFAULT_VARIANTS,
                     batch_size: int = 32, image_size: int | None = None, rounds: int = 3, repeats: int = 5,
                     warmup: int = 2, category: str = "object") -> dict[str, Any]:
    """Time ``variants`` of a configured run's forward side by side (see the module doc); returns the report."""
    parsed = {v: Execution.parse(v) for v in variants}
    run_cfg, method, info, size = timed_run(config, run_name, device, image_size)
    query, prompt = RandomInputs(method, size, device, category).batch(batch_size)  # as ``bench latency`` feeds it
    times: dict[str, list[float]] = {v: [] for v in variants}
    maps: dict[str, torch.Tensor] = {}
    first_call_s: dict[str, float] = {}
    for _ in range(rounds):
        for variant, execution in parsed.items():
            with execution.applied(method, device):
                q, p = execution.inputs(query), execution.inputs(prompt)

                def forward(q=q, p=p):
                    return method.predict(q, p, category=category)

                if variant not in maps:  # the first call: compilation, cuDNN autotuning; timed apart
                    t0 = time.perf_counter()
                    maps[variant] = forward()[0].float().cpu()
                    first_call_s[variant] = time.perf_counter() - t0
                times[variant].append(measure_latency(forward, device, warmup=warmup, repeats=repeats)["median"])
    reference = variants[0]
    rows = []
    for variant in variants:
        ms = statistics.median(times[variant])
        execution = parsed[variant]
        rows.append({"variant": variant, "precision": execution.precision,
                     "channels_last": execution.channels_last, "compile": execution.compile,
                     "ms_per_batch": ms, "ms_per_image": ms / batch_size,
                     "speedup": statistics.median(times[reference]) / ms,
                     "max_abs_diff": float((maps[variant] - maps[reference]).abs().max()),
                     "first_call_s": first_call_s[variant], "round_medians_ms": times[variant]})
    return {"run": run_name, "method": run_cfg["method"], "device": str(device), "batch_size": batch_size,
            "image_size": size, "rounds": rounds, "repeats": repeats, "warmup": warmup, "reference": reference,
            "weight_source": info["weight_source"], "checkpoint": info.get("checkpoint"), "torch": torch.__version__,
            "variants": rows}


def format_precisions(report: dict[str, Any]) -> str:
    """The report as a table: ms/image, speed-up over the reference, max |map difference|, first-call seconds."""
    lines = [f"bench precision {report['run']} on {report['device']}: batch {report['batch_size']} @ "
             f"{report['image_size']} px, {report['rounds']} rounds x {report['repeats']} repeats, weights: "
             f"{report.get('checkpoint') or report['weight_source']}",
             f"{'variant':<20}{'ms/image':>10}{'vs ' + report['reference']:>10}{'max |diff|':>12}{'1st call s':>12}"]
    for row in report["variants"]:
        lines.append(f"{row['variant']:<20}{row['ms_per_image']:>10.3f}{row['speedup']:>9.2f}x"
                     f"{row['max_abs_diff']:>12.2e}{row['first_call_s']:>12.1f}")
    return "\n".join(lines)

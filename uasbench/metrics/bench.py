"""Metrics speed benchmark: fast ``evaluate`` vs scikit-learn + the literal MVTec AUPRO on the same data.

The reference set per category is roc_auc_score + average_precision_score + precision_recall_curve on
pixels and on images, plus reference.mvtec_aupro (see reference.py). Both sides run per category on
the same synthetic MVTec-sized data (synthetic.py); values must agree to 1e-6.
"""

from __future__ import annotations

import resource
import sys
import time
import tracemalloc
from typing import Any, Callable

import numpy as np

from uasbench.metrics.evaluate import evaluate
from uasbench.metrics.protocols import METRIC_NAMES
from uasbench.metrics.reference import reference_official
from uasbench.metrics.synthetic import synthetic_dataset

TOLERANCE = 1e-6
Dataset = list[tuple[str, np.ndarray, np.ndarray]]


def make_dataset(scale: float = 1.0, seed: int = 0, size: int = 256) -> Dataset:
    """Deterministic synthetic ``(category, maps, masks)`` triples; ``scale`` 1 has MVTec AD's test-set size."""
    return list(synthetic_dataset(scale=scale, seed=seed, size=size))


def run_fast(data: Dataset) -> dict[str, dict[str, float]]:
    """The seven metrics per category with uasbench's own ``evaluate``."""
    return {cat: dict(evaluate(maps, masks)) for cat, maps, masks in data}


def run_reference(data: Dataset, progress: bool = False) -> dict[str, dict[str, float]]:
    """The seven metrics per category with scikit-learn and the literal MVTec AUPRO, the values ``run_fast`` must
    match."""
    from tqdm import tqdm

    return {cat: reference_official(maps, masks)
            for cat, maps, masks in tqdm(data, desc="reference", unit="cat", disable=not progress)}


def timed(func: Callable[[], Any]) -> tuple[Any, float]:
    """Result and wall-clock seconds."""
    out, wall, _ = timed_cpu(func)
    return out, wall


def timed_cpu(func: Callable[[], Any]) -> tuple[Any, float, float]:
    """Result, wall-clock seconds and CPU seconds of this process (robust when the cores are shared)."""
    wall, cpu = time.perf_counter(), time.process_time()
    out = func()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def traced_peak(func: Callable[[], Any]) -> int:
    """Peak bytes allocated (numpy buffers included) while ``func`` runs, above what existed before."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        func()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


def max_abs_diff(fast: dict[str, dict[str, float]], ref: dict[str, dict[str, float]]) -> dict[str, float]:
    """Per metric, the largest |fast - reference| over the categories."""
    return {name: max(abs(fast[cat][name] - ref[cat][name]) for cat in fast) for name in METRIC_NAMES}


def run_benchmark(scale: float = 1.0, seed: int = 0, size: int = 256, reference: bool = True,
                  pooled: bool = True, progress: bool = True) -> dict[str, Any]:
    """Time the fast metrics (and the reference set), compare values, measure memory; returns a report dict."""
    data = make_dataset(scale, seed, size)
    n_pixels = sum(maps.size for _, maps, _ in data)
    n_images = sum(len(maps) for _, maps, _ in data)
    n_anomalous = sum(int(masks.reshape(len(masks), -1).any(axis=1).sum()) for _, _, masks in data)
    report: dict[str, Any] = {
        "scale": scale, "seed": seed, "size": size, "categories": len(data), "images": n_images,
        "pixels": n_pixels, "anomalous_image_fraction": n_anomalous / n_images,
        "input_bytes": sum(maps.nbytes + masks.nbytes for _, maps, masks in data),
    }
    warm_up = data[:1]  # imports and first-call costs (sklearn, scipy, cv2) stay out of both timings
    run_fast(warm_up), run_reference([(c, m[[0, -1]], k[[0, -1]]) for c, m, k in warm_up])
    fast, report["fast_seconds"], report["fast_cpu_seconds"] = timed_cpu(lambda: run_fast(data))
    report["fast_peak_extra_bytes"] = traced_peak(lambda: run_fast(data))
    if pooled:  # all images as one category: the largest single call
        maps_all = np.concatenate([maps for _, maps, _ in data])
        masks_all = np.concatenate([masks for _, _, masks in data])
        _, report["pooled_fast_seconds"] = timed(lambda: evaluate(maps_all, masks_all))
        report["pooled_peak_extra_bytes"] = traced_peak(lambda: evaluate(maps_all, masks_all))
        del maps_all, masks_all
    report["maxrss_bytes_before_reference"] = _maxrss_bytes()
    report["fast_mean"] = {name: float(np.mean([row[name] for row in fast.values()])) for name in METRIC_NAMES}
    if reference:
        ref, report["reference_seconds"], report["reference_cpu_seconds"] = timed_cpu(
            lambda: run_reference(data, progress))
        report["speedup"] = report["reference_seconds"] / report["fast_seconds"]
        report["speedup_cpu"] = report["reference_cpu_seconds"] / report["fast_cpu_seconds"]
        report["max_abs_diff"] = max_abs_diff(fast, ref)
        report["identical"] = all(v <= TOLERANCE for v in report["max_abs_diff"].values())
    return report


def format_report(report: dict[str, Any]) -> str:
    """The benchmark report as readable lines: data size, times, memory, speed-up and agreement."""
    gib = 1024 ** 3
    lines = [
        f"data: {report['categories']} categories, {report['images']} maps of {report['size']}x{report['size']} "
        f"({report['pixels'] / 1e6:.1f}M pixels, {100 * report['anomalous_image_fraction']:.0f}% anomalous images, "
        f"float16), scale {report['scale']}, seed {report['seed']}",
        f"fast evaluate (7 metrics, per category): {report['fast_seconds']:.2f} s wall, "
        f"{report['fast_cpu_seconds']:.2f} s CPU; "
        f"peak extra memory {report['fast_peak_extra_bytes'] / gib:.3f} GiB "
        f"over {report['input_bytes'] / gib:.3f} GiB input",
    ]
    if "pooled_fast_seconds" in report:
        lines.append(f"fast evaluate, all maps pooled in one call: {report['pooled_fast_seconds']:.2f} s; "
                     f"peak extra memory {report['pooled_peak_extra_bytes'] / gib:.3f} GiB")
    lines.append(f"process max RSS before the reference run: {report['maxrss_bytes_before_reference'] / gib:.2f} GiB")
    if "reference_seconds" in report:
        lines.append(f"reference (sklearn roc_auc_score + average_precision_score + precision_recall_curve, "
                     f"pixels and images, + MVTec AUPRO): {report['reference_seconds']:.2f} s wall, "
                     f"{report['reference_cpu_seconds']:.2f} s CPU")
        lines.append(f"speed-up: {report['speedup']:.1f}x wall-clock, {report['speedup_cpu']:.1f}x CPU time")
        diffs = ", ".join(f"{k} {v:.1e}" for k, v in report["max_abs_diff"].items())
        verdict = "identical" if report["identical"] else f"DIFFERENT (> {TOLERANCE:g})"
        lines.append(f"max |fast - reference| per metric: {diffs} -> {verdict}")
    return "\n".join(lines)


def _maxrss_bytes() -> int:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(rss if sys.platform == "darwin" else rss * 1024)

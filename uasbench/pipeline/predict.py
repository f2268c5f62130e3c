"""``uasbench predict``: run one configured method on one dataset for one prompt seed and write the maps.

The prompts (modes none, random, random-per-image, best-match, best-match-agnostic, or the official prompt files)
are chosen by :class:`uasbench.pipeline.prompts.PromptSelector`; a run's ``clip_prior`` is fused in by
:mod:`uasbench.methods.clip.prior`.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from uasbench.datasets.preprocessing import resolve_resample
from uasbench.datasets.splits import check_categories, load_split
from uasbench.errors import ConfigError
from uasbench.io import ensure_writable_dir
from uasbench.methods.clip.prior import fuse_clip_prior, prior_weight_source
from uasbench.outdir import check_replaceable_dir, remove_stale_staging, replaced_dir
from uasbench.pipeline.images import load_images, load_masks
from uasbench.pipeline.methods import build_run_method
from uasbench.pipeline.prompts import PromptSelector
from uasbench.precision import Execution, precision_context


def run_predict(config: dict, run_name: str, dataset: str, seed: int, out_dir: str | Path, device: torch.device,
                batch_size: int = 16, mode: str | None = None, force: bool = False,
                precision: str | None = None, channels_last: bool | None = None,
                compile: bool | None = None) -> dict[str, Any]:
    """Predict every test image of ``dataset`` with the configured run and write ``out_dir`` (npz + meta.json);
    ``config`` is validated (:func:`uasbench.config.validate_config`: the schema's defaults are set).

    ``force``: replace ``out_dir`` even when it is not empty and not an earlier prediction (see uasbench.outdir).
    ``precision``: fp32/tf32/bf16 for the forward passes; ``channels_last``, ``compile``: run the method's network
    so (uasbench.precision.Execution); each defaults to the run's key of that name, else fp32 / off.
    """
    from uasbench.predictions import not_predictions_because, save_category_predictions, write_run_meta

    if run_name not in config["runs"]:
        raise ConfigError(f"unknown run {run_name!r}; configured runs: {', '.join(sorted(config['runs']))}")
    if dataset not in config["datasets"]:
        raise ConfigError(f"unknown dataset {dataset!r}; configured datasets: {', '.join(sorted(config['datasets']))}")
    ensure_writable_dir(Path(os.path.abspath(out_dir)).parent)
    out_dir = check_replaceable_dir(out_dir, not_predictions_because, force, what="--out")  # before any computing
    remove_stale_staging(out_dir, not_predictions_because)
    run = config["runs"][run_name]
    prompt_mode = mode or run["prompt"]
    execution = Execution.of_run(run, precision, channels_last, compile)
    size = config["datasets"][dataset]["image_size"]
    check_categories(config, dataset)  # a misspelt category fails before a model is built
    torch.manual_seed(seed)
    method, info = build_run_method(config, run, device, name=run_name)
    resample = resolve_resample(method, config, run)
    if run.get("clip_prior"):
        info["weight_source"] = prior_weight_source(info["weight_source"], run["clip_prior"], device)
    samples, categories = load_split(config, dataset)
    selector = PromptSelector(config, run_name, dataset, seed, prompt_mode, method, samples, size, device, resample)
    if selector.file is not None:
        info["prompt_file"] = str(selector.file.path)
    results: dict[str, dict[str, Any]] = {}
    t0 = time.perf_counter()
    n_images = 0
    with execution.network(method):  # once: a compiled network compiles on its first batch
        for category in tqdm(categories, desc=f"predict {run_name} {dataset} seed {seed}"):
            normals = [s for s in samples if s.split == "train" and s.category == category]
            tests = [s for s in samples if s.split == "test" and s.category == category]
            if not tests:
                raise ConfigError(f"dataset {dataset!r}: category {category!r} has no test images")
            queries = load_images(tests, size, resample)
            prompts = selector.for_category(category, normals, tests, queries)
            with precision_context(execution.precision, device):
                maps, scores = _predict_batches(method, queries, prompts, category, batch_size, device, execution)
                if run.get("clip_prior"):
                    maps, scores = fuse_clip_prior(run["clip_prior"], maps, queries, prompts, device)
            results[category] = {"maps": maps, "scores": scores, "masks": load_masks(tests, size),
                                 "paths": [str(s.image_path) for s in tests], "labels": [s.label for s in tests]}
            n_images += len(tests)
    method.finalize_dataset(results)  # e.g. OneNIP's test-set normaliser of the fused map
    info.update({f"method.{k}": v for k, v in method.result_tags.items()})
    seconds = time.perf_counter() - t0
    map_scales = {category: to_float16(r["maps"]) for category, r in results.items()}
    meta = {"run": run_name, "method": run["method"], "dataset": dataset, "seed": seed, "prompt": prompt_mode,
            "image_size": size, "resample": resample, "tier": config["tier"], "device": str(device),
            "precision": execution.label, "channels_last": execution.channels_last, "compile": execution.compile,
            "n_images": n_images,
            "seconds": seconds, "map_scale": {c: scale for c, (_, scale) in map_scales.items()},
            "categories": sorted(results), **info}
    # Write the whole folder beside the target, then swap it in: no stale category of an older run survives,
    # and a crash leaves the previous predictions untouched.
    with replaced_dir(out_dir, not_predictions_because, force) as tmp_dir:
        for category, r in results.items():
            save_category_predictions(tmp_dir, category, map_scales[category][0], r["scores"].astype(np.float32),
                                      r["masks"], r["paths"], labels=np.asarray(r["labels"], dtype=np.int8))
        write_run_meta(tmp_dir, meta)
    return meta


def to_float16(maps: np.ndarray) -> tuple[np.ndarray, float]:
    """float16 storage; maps beyond its range (e.g. PatchCore's squared L2) are divided by a power of two first.

    A positive scale changes no metric (all are rank-based or min-max normalised per category); it is recorded.
    """
    if not np.isfinite(maps).all():
        raise FloatingPointError("anomaly maps contain NaN/inf before saving")
    peak = float(np.abs(maps).max()) if maps.size else 0.0
    scale = 2.0 ** int(np.ceil(np.log2(peak / 32768.0))) if peak > 32768.0 else 1.0
    return (maps / scale).astype(np.float16), scale


@torch.no_grad()
def _predict_batches(method, queries: torch.Tensor, prompts: torch.Tensor | None, category: str, batch_size: int,
                     device: torch.device, execution: Execution | None = None) -> tuple[np.ndarray, np.ndarray]:
    execution = execution or Execution()
    maps, scores = [], []
    for i in range(0, len(queries), batch_size):
        q = execution.inputs(queries[i:i + batch_size].to(device))
        p = None if prompts is None else execution.inputs(prompts[i:i + batch_size].to(device))
        m, s = method.predict(q, p, category=category)
        maps.append(m.float().cpu().numpy())
        scores.append(s.float().cpu().numpy())
    return np.concatenate(maps), np.concatenate(scores)

"""``uasbench predict``: run one configured method on one dataset for one prompt seed and write the maps.

Prompt modes (config ``runs.<name>.prompt``):
- ``none``: zero-shot (CLIP, WinCLIP, random) or full-shot methods that carry their own training set.
- ``random``: one fixed normal training image per category per seed (MetaUAS protocol); k-shot memory methods
  (PatchCore, WinCLIP+) fit on those k images.
- ``random-per-image``: a fresh random normal image of the query's category for every test image (OneNIP's protocol).
- ``best-match`` / ``best-match-agnostic``: per query, the most cosine-similar normal training image on globally
  pooled last-stage encoder features, within the query's category or over the pool of all categories.
"""

from __future__ import annotations

import os
import time
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from uasbench.config import dataset_root
from uasbench.errors import ConfigError
from uasbench.io import ensure_writable_dir
from uasbench.outdir import check_replaceable_dir, remove_stale_staging, replaced_dir
from uasbench.pipeline.images import load_images, load_masks
from uasbench.pipeline.methods import build_run_method, clip_prior_model, global_features
from uasbench.pipeline.prompts import BestMatchIndex, prompt_file_for, random_prompt_indices

LOADER_OF_KIND = {"synthetic-ad": "mvtec", "mvtec": "mvtec", "visa": "visa", "btad": "btad", "goodsad": "goodsad",
                  "folder": "folder"}


def load_split(config: dict, dataset: str):
    from uasbench.datasets import load_dataset

    spec = config["datasets"][dataset]
    samples = load_dataset(LOADER_OF_KIND[spec["kind"]], dataset_root(config, dataset))
    if spec.get("categories"):
        samples = [s for s in samples if s.category in spec["categories"]]
    categories = sorted({s.category for s in samples})
    return samples, categories


def run_predict(config: dict, run_name: str, dataset: str, seed: int, out_dir: str | Path, device: torch.device,
                batch_size: int = 16, mode: str | None = None, force: bool = False) -> dict[str, Any]:
    """``force``: replace ``out_dir`` even when it is not empty and not an earlier prediction (see uasbench.outdir)."""
    from uasbench.predictions import not_predictions_because, save_category_predictions, write_run_meta

    if run_name not in config["runs"]:
        raise ConfigError(f"unknown run {run_name!r}; configured runs: {', '.join(sorted(config['runs']))}")
    if dataset not in config["datasets"]:
        raise ConfigError(f"unknown dataset {dataset!r}; configured datasets: {', '.join(sorted(config['datasets']))}")
    ensure_writable_dir(Path(os.path.abspath(out_dir)).parent)
    out_dir = check_replaceable_dir(out_dir, not_predictions_because, force, what="--out")  # before any computing
    remove_stale_staging(out_dir, not_predictions_because)
    run = config["runs"][run_name]
    prompt_mode = mode or run.get("prompt", "random")
    size = config["datasets"][dataset].get("image_size", 256)
    torch.manual_seed(seed)
    method, info = build_run_method(config, run, device)
    if run.get("clip_prior"):
        info["weight_source"] += f" + CLIP prior: {clip_prior_model(run['clip_prior'], device)[1]}"
    samples, categories = load_split(config, dataset)
    prompt_file = prompt_file_for(config, run_name, dataset, seed, prompt_mode)  # the paper's own prompts, if set
    if prompt_file is not None:
        info["prompt_file"] = str(prompt_file.path)
    agnostic = _agnostic_pool(method, samples, size, device) if prompt_mode == "best-match-agnostic" else None
    results: dict[str, dict[str, Any]] = {}
    t0 = time.perf_counter()
    n_images = 0
    for category in tqdm(categories, desc=f"predict {run_name} {dataset} seed {seed}"):
        normals = [s for s in samples if s.split == "train" and s.category == category]
        tests = [s for s in samples if s.split == "test" and s.category == category]
        if not tests:
            raise ConfigError(f"dataset {dataset!r}: category {category!r} has no test images")
        queries = load_images(tests, size)
        picks = None if prompt_file is None else prompt_file.indices(prompt_mode, category, normals, tests,
                                                                     dataset_root(config, dataset))
        prompts = _choose_prompts(method, prompt_mode, normals, queries, seed, category, size, device, agnostic, picks)
        maps, scores = _predict_batches(method, queries, prompts, category, batch_size, device)
        if run.get("clip_prior"):
            maps, scores = _fuse_clip_prior(run["clip_prior"], maps, queries, prompts, device)
        results[category] = {"maps": maps, "scores": scores, "masks": load_masks(tests, size),
                             "paths": [str(s.image_path) for s in tests], "labels": [s.label for s in tests]}
        n_images += len(tests)
    if hasattr(method, "finalize_dataset"):  # e.g. OneNIP's test-set normaliser of the fused map
        method.finalize_dataset(results)
    info.update({f"method.{k}": v for k, v in getattr(method, "result_tags", {}).items()})
    seconds = time.perf_counter() - t0
    map_scales = {category: to_float16(r["maps"]) for category, r in results.items()}
    meta = {"run": run_name, "method": run["method"], "dataset": dataset, "seed": seed, "prompt": prompt_mode,
            "image_size": size, "tier": config["tier"], "device": str(device), "n_images": n_images,
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


def _choose_prompts(method, mode: str, normals: list, queries: torch.Tensor, seed: int, category: str, size: int,
                    device: torch.device, agnostic, picks: list[int] | None = None) -> torch.Tensor | None:
    """``picks``: indices into ``normals`` from a prompt file (one per category, or one per query for best-match)."""
    shots = getattr(method, "shots", 1)
    if mode == "none":
        method.fit(None, category)
        return None
    if not normals:
        raise ConfigError(f"category {category!r} has no normal training images to draw a prompt from")
    if mode == "random":
        if picks is not None and len(picks) != (shots or 1):
            raise ConfigError(f"method {method.name!r} takes {shots} prompts; the prompt file gives {len(picks)}")
        indices = random_prompt_indices(len(normals), seed, category, k=shots or 1) if picks is None else picks
        chosen = load_images([normals[i] for i in indices], size)
        method.fit(chosen, category)  # memory methods build their memory here, once per category
        return method.prompts_for(chosen, len(queries))
    if not getattr(method, "accepts_prompt_batch", True):
        raise ConfigError(f"method {method.name!r} fits a memory on fixed prompts; prompt mode {mode!r} is not supported")
    if mode == "random-per-image":
        rng = np.random.default_rng([seed, zlib.crc32(category.encode())])
        return load_images([normals[i] for i in rng.integers(0, len(normals), size=len(queries))], size)
    if mode == "best-match" and picks is not None:
        return load_images([normals[i] for i in picks], size)
    if mode in ("best-match", "best-match-agnostic"):
        pool_images = load_images(normals, size) if mode == "best-match" else agnostic[0]
        index = BestMatchIndex(global_features(method, pool_images, device)) if mode == "best-match" else agnostic[1]
        _, idx = index.search(global_features(method, queries, device), k=1)
        return pool_images[torch.from_numpy(idx[:, 0].astype(np.int64))]
    raise ConfigError(f"unknown prompt mode {mode!r}")


def _agnostic_pool(method, samples: list, size: int, device: torch.device):
    normals = [s for s in samples if s.split == "train"]
    images = load_images(normals, size)
    return images, BestMatchIndex(global_features(method, images, device), labels=[s.category for s in normals])


@torch.no_grad()
def _predict_batches(method, queries: torch.Tensor, prompts: torch.Tensor | None, category: str, batch_size: int,
                     device: torch.device) -> tuple[np.ndarray, np.ndarray]:
    maps, scores = [], []
    for i in range(0, len(queries), batch_size):
        q = queries[i:i + batch_size].to(device)
        p = None if prompts is None else prompts[i:i + batch_size].to(device)
        m, s = method.predict(q, p, category=category)
        maps.append(m.float().cpu().numpy())
        scores.append(s.float().cpu().numpy())
    return np.concatenate(maps), np.concatenate(scores)


@torch.no_grad()
def _fuse_clip_prior(spec: dict, maps: np.ndarray, queries: torch.Tensor, prompts: torch.Tensor | None,
                     device: torch.device) -> tuple[np.ndarray, np.ndarray]:
    """MetaUAS*+: (1 − w)·map + w·visual prior, the prior being WinCLIP+'s few-shot map of each query against its
    own prompt (patch, 2×2 and 3×3 window associations, averaged), computed by the WinCLIP+ code."""
    if prompts is None:
        raise ConfigError("clip_prior needs a prompt mode other than 'none'")
    winclip_plus, _source = clip_prior_model(spec, device)
    priors = np.concatenate([winclip_plus.visual_prior(queries[i:i + 16].to(device), prompts[i:i + 16].to(device)).numpy()
                             for i in range(0, len(queries), 16)])
    w = float(spec["weight"])
    fused = (1.0 - w) * maps + w * priors
    return fused, fused.reshape(len(fused), -1).max(1)

"""Synthetic change-segmentation pairs for MetaUAS training (paper §3.3 and appendix A; CYWS data recipe).

A pair is (prompt, query, mask): ``mask`` marks the query pixels that changed semantically.

* object level: remove a random set of instances by inpainting their union mask ("disappearance";
  the swapped pair is "appearance"), or paste one or more instances cut from another image ("exchange");
* local region: a Perlin-noise mask filled with another image's pixels (DRAEM style), kind "local".

``generate_change_pairs`` writes a sharded dataset: ``manifest.json`` plus ``shard-00000.npz``... with uint8
``prompt`` (n, H, W, 3), ``query`` (n, H, W, 3) and ``mask`` (n, H, W) in {0, 1}. Pair ``i`` is drawn from
``numpy.random.default_rng([seed, i])`` (and, under the paper sampling, its own source image from a seeded
order: ``sampling.py``), so the output does not depend on the order of generation nor on the number of worker
processes that synthesize pairs in parallel (``workers``).
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import cv2
import numpy as np

from uasbench.datasets.change_pairs.sampling import DEFAULT_SAMPLING, check_sampling, draw_change, image_order
from uasbench.datasets.change_pairs.sources import Scene, SceneSource
from uasbench.errors import ConfigError, DataError
from uasbench.io import make_temp_dir, save_npz, write_json

GENERATOR_VERSION = 1
CHANGE_KINDS = ("object", "local")
CHANGE_TYPES = ("disappearance", "appearance", "exchange", "local")
MAX_REMOVED_AREA = 0.5  # stop adding instances to the removal set once their union covers this fraction

Inpainter = Callable[[np.ndarray, np.ndarray], np.ndarray]
INPAINTERS: dict[str, Inpainter] = {}


@dataclass
class ChangePair:
    """One training meta-task: a prompt, a query, where they differ, and how the change was made."""

    prompt: np.ndarray  # uint8 (H, W, 3)
    query: np.ndarray  # uint8 (H, W, 3)
    mask: np.ndarray  # uint8 (H, W) in {0, 1}
    kind: str  # "object" | "local"
    change: str  # one of CHANGE_TYPES


# --------------------------------------------------------------------------------------------- inpainters
def register_inpainter(name: str) -> Callable[[Inpainter], Inpainter]:
    """Register ``fn(image_uint8_rgb, mask_uint8) -> image`` under ``name`` (e.g. a LaMa wrapper)."""

    def decorate(fn: Inpainter) -> Inpainter:
        INPAINTERS[name] = fn
        return fn

    return decorate


def get_inpainter(name: str) -> Inpainter:
    """The inpainter registered as ``name``; an unknown name is a ConfigError listing the registered ones."""
    if name not in INPAINTERS:
        raise ConfigError(f"unknown inpainter {name!r}; registered: {', '.join(sorted(INPAINTERS))}")
    return INPAINTERS[name]


@register_inpainter("telea")
def inpaint_telea(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """OpenCV fast-marching inpainting (Telea 2004); the paper uses LaMa, which is not bundled."""
    return cv2.inpaint(image, mask.astype(np.uint8), 3, cv2.INPAINT_TELEA)


@register_inpainter("ns")
def inpaint_navier_stokes(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """OpenCV Navier-Stokes inpainting, the alternative to Telea (both are stand-ins for the paper's LaMa)."""
    return cv2.inpaint(image, mask.astype(np.uint8), 3, cv2.INPAINT_NS)


# --------------------------------------------------------------------------------------------- single pairs
def removal_pair(scene: Scene, inpainter: Inpainter, rng: np.random.Generator) -> ChangePair:
    """Inpaint the union of a random set of instances; swap prompt/query with p=0.5 (disappearance/appearance)."""
    if not scene.instances:
        raise ValueError("removal needs a scene with at least one instance")
    order = rng.permutation(len(scene.instances))
    wanted = int(rng.integers(1, len(order) + 1))
    mask = np.zeros(scene.image.shape[:2], bool)
    limit = MAX_REMOVED_AREA * mask.size
    for count, idx in enumerate(order[:wanted]):
        candidate = mask | scene.instances[idx]
        if count > 0 and candidate.sum() > limit:
            break
        mask = candidate
    removed = inpainter(scene.image, mask.astype(np.uint8))
    if rng.random() < 0.5:
        return ChangePair(scene.image, removed, mask.astype(np.uint8), "object", "disappearance")
    return ChangePair(removed, scene.image, mask.astype(np.uint8), "object", "appearance")


def paste_pair(target: np.ndarray, donor: Scene, rng: np.random.Generator, max_instances: int = 3,
               scale_range: tuple[float, float] = (0.7, 1.3)) -> ChangePair:
    """Paste 1..``max_instances`` donor instances (hard edges) at random places; mask = exactly the pasted pixels."""
    if not donor.instances:
        raise ValueError("pasting needs a donor scene with at least one instance")
    size_h, size_w = target.shape[:2]
    query = target.copy()
    mask = np.zeros((size_h, size_w), bool)
    count = int(rng.integers(1, min(max_instances, len(donor.instances)) + 1))
    for idx in rng.choice(len(donor.instances), size=count, replace=False):
        instance = donor.instances[idx]
        ys, xs = np.nonzero(instance)
        y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
        patch, patch_mask = donor.image[y0:y1, x0:x1], instance[y0:y1, x0:x1].astype(np.uint8)
        scale = rng.uniform(*scale_range)
        h = int(np.clip(round((y1 - y0) * scale), 1, size_h))
        w = int(np.clip(round((x1 - x0) * scale), 1, size_w))
        patch = cv2.resize(patch, (w, h), interpolation=cv2.INTER_LINEAR)
        patch_mask = cv2.resize(patch_mask, (w, h), interpolation=cv2.INTER_NEAREST).astype(bool)
        top, left = int(rng.integers(0, size_h - h + 1)), int(rng.integers(0, size_w - w + 1))
        query[top:top + h, left:left + w][patch_mask] = patch[patch_mask]
        mask[top:top + h, left:left + w] |= patch_mask
    return ChangePair(target, query, mask.astype(np.uint8), "object", "exchange")


def local_pair(base: np.ndarray, donor: np.ndarray, rng: np.random.Generator, min_pixels: int = 16,
               attempts: int = 20) -> ChangePair:
    """DRAEM-style: a Perlin mask of ``base`` filled with ``donor`` pixels (no blending); order swapped with p=0.5.

    Masks under ``min_pixels`` are redrawn up to ``attempts`` times (then the largest draw is kept), so a
    pair rarely carries a change too small to learn from.
    """
    from uasbench.datasets.anomalies.perlin import perlin_mask

    mask = perlin_mask(base.shape[:2], rng)
    for _ in range(attempts - 1):
        if mask.sum() >= min_pixels:
            break
        mask = max(mask, perlin_mask(base.shape[:2], rng), key=np.sum)
    changed = np.where(mask[:, :, None], donor, base)
    if rng.random() < 0.5:
        base, changed = changed, base
    return ChangePair(base, changed, mask.astype(np.uint8), "local", "local")


def synthesize_pair(source: SceneSource, kinds: Sequence[str], inpainter: Inpainter,
                    rng: np.random.Generator) -> ChangePair:
    """Legacy sampling: one pair whose images are all drawn with replacement from the whole source."""
    change = draw_change(kinds, rng)
    if change == "local":
        return local_pair(source.any_image(rng), source.any_image(rng), rng)
    if change == "paste":
        return paste_pair(source.any_image(rng), source.scene_with_instances(rng), rng)
    return removal_pair(source.scene_with_instances(rng), inpainter, rng)


def synthesize_paper_pair(source: SceneSource, kinds: Sequence[str], inpainter: Inpainter, rng: np.random.Generator,
                          image: int | None) -> ChangePair:
    """Paper sampling: one pair changing its own source image ``image`` (None: a fresh procedural scene).

    An image with no instance large enough to remove gets a paste instead (still an object-level change of it).
    """
    change = draw_change(kinds, rng)
    scene = source.scene_at(image, rng)
    if change == "local":
        return local_pair(scene.image, source.any_image(rng), rng)
    if change == "removal" and scene.instances:
        return removal_pair(scene, inpainter, rng)
    return paste_pair(scene.image, source.scene_with_instances(rng), rng)


# --------------------------------------------------------------------------------------------- dataset writer
def parse_kinds(kinds: str | Sequence[str]) -> tuple[str, ...]:
    """``"object,local"`` or a sequence -> validated tuple in canonical order."""
    items = [k.strip() for k in kinds.split(",")] if isinstance(kinds, str) else list(kinds)
    unknown = sorted(set(items) - set(CHANGE_KINDS))
    if unknown or not items:
        raise ConfigError(f"kinds must be a non-empty subset of {CHANGE_KINDS}, got {items}")
    return tuple(k for k in CHANGE_KINDS if k in items)


def validation_ids(n_pairs: int, val_fraction: float, seed: int) -> set[int]:
    """The fixed validation subset: round(n * fraction) pair ids drawn from the seed (95/5 in the paper)."""
    n_val = int(round(n_pairs * val_fraction))
    rng = np.random.default_rng([seed, 0x5EED])
    return set(rng.choice(n_pairs, size=n_val, replace=False).tolist()) if n_val else set()


def generate_change_pairs(out: str | Path, source: SceneSource, n_pairs: int, seed: int, image_size: int,
                          kinds: str | Sequence[str] = CHANGE_KINDS, val_fraction: float = 0.05,
                          inpainter: str = "telea", shard_size: int = 256, force: bool = False,
                          source_info: dict[str, Any] | None = None, progress: bool = True,
                          workers: int | None = 1, sampling: str = DEFAULT_SAMPLING) -> dict[str, Any]:
    """Write the sharded pair dataset to ``out`` (built in a temp dir, renamed at the end) and return its manifest.

    ``workers`` processes synthesize and compress whole shards in parallel (None = one per available core), so
    the main process only collects the manifest rows (compressing in it capped the speed-up at a few cores); the
    bytes written are the same for any number of workers. ``sampling`` is ``paper`` or ``legacy`` (``sampling.py``).
    """
    from tqdm import tqdm

    kinds = parse_kinds(kinds)
    get_inpainter(inpainter)  # an unknown name fails before any work
    if n_pairs < 1 or shard_size < 1:
        raise ConfigError(f"n_pairs and shard_size must be positive, got {n_pairs} and {shard_size}")
    if not 0.0 <= val_fraction < 1.0:
        raise ConfigError(f"val_fraction must be in [0, 1), got {val_fraction}")
    order = image_order(seed, n_pairs, source.pool_size) if check_sampling(sampling) == "paper" else None
    out = Path(out)
    if out.exists() and not force:
        raise DataError(f"output {out} already exists; pass --force to overwrite it")
    out.parent.mkdir(parents=True, exist_ok=True)
    val_ids = validation_ids(n_pairs, val_fraction, seed)
    tmp = make_temp_dir(out.parent, prefix=f".{out.name}.tmp-")
    try:
        rows: list[dict[str, Any]] = []
        shards = [ShardTask(tmp / shard_name(k), range(k * shard_size, min((k + 1) * shard_size, n_pairs)),
                            image_size) for k in range((n_pairs + shard_size - 1) // shard_size)]
        with tqdm(total=n_pairs, desc="change pairs", unit="pair", disable=not progress) as bar:
            settings = _WorkerSettings(kinds, inpainter, seed, sampling, order)
            written = _written_shards(source, settings, shards, default_workers() if workers is None else workers)
            for shard, (task, labels) in enumerate(zip(shards, written)):
                for index, (pair_id, (kind, change)) in enumerate(zip(task.ids, labels)):
                    rows.append({"id": pair_id, "split": "val" if pair_id in val_ids else "train", "kind": kind,
                                 "change": change, "shard": shard, "index": index}
                                | ({} if order is None else {"image": int(order[pair_id])}))
                bar.update(len(labels))
        manifest = {"generator": "uasbench.datasets.change_pairs.generate", "generator_version": GENERATOR_VERSION,
                    "seed": seed, "image_size": image_size, "kinds": list(kinds), "inpainter": inpainter,
                    "sampling": sampling,
                    "val_fraction": val_fraction, "shard_size": shard_size,
                    "n_shards": (n_pairs + shard_size - 1) // shard_size, "source": source_info or {},
                    "counts": _counts(rows), "pairs": rows}
        write_json(tmp / "manifest.json", manifest)
        _replace_dir(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return manifest


def default_workers() -> int:
    """One worker per core this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


# The source and settings of the worker processes, set once per process by ``_init_worker``.
_WORKER: dict[str, Any] = {}


@dataclass(frozen=True)
class _WorkerSettings:
    """What every worker needs besides the source: change kinds, inpainter name, seed, sampling, image order."""

    kinds: tuple[str, ...]
    inpainter: str
    seed: int
    sampling: str
    order: np.ndarray | None  # paper sampling: pair i's source image (None: legacy, or a procedural source)


def _init_worker(source: SceneSource, settings: _WorkerSettings, pool_worker: bool = False) -> None:
    if pool_worker:  # one OpenCV thread per worker process: the processes already use every core
        cv2.setNumThreads(1)
    _WORKER.update(source=source, settings=settings, inpaint=get_inpainter(settings.inpainter))


@dataclass(frozen=True)
class ShardTask:
    """One shard file to write: its path, the pair ids it holds (in order) and the image size they must have."""

    path: Path
    ids: range
    image_size: int


def _synthesize_id(pair_id: int) -> ChangePair:
    settings: _WorkerSettings = _WORKER["settings"]
    rng = np.random.default_rng([settings.seed, pair_id])
    if settings.sampling == "legacy":
        return synthesize_pair(_WORKER["source"], settings.kinds, _WORKER["inpaint"], rng)
    image = None if settings.order is None else int(settings.order[pair_id])
    return synthesize_paper_pair(_WORKER["source"], settings.kinds, _WORKER["inpaint"], rng, image)


def _write_shard_task(task: ShardTask) -> list[tuple[str, str]]:
    """Synthesize the shard's pairs, write the shard (compressed), return each pair's (kind, change)."""
    pairs = [_synthesize_id(pair_id) for pair_id in task.ids]
    size = task.image_size
    for pair in pairs:
        if pair.prompt.shape != (size, size, 3):
            raise DataError(f"source gave a {pair.prompt.shape} image, expected {size}x{size}x3")
    _write_shard(task.path, pairs)
    return [(pair.kind, pair.change) for pair in pairs]


def _written_shards(source: SceneSource, settings: _WorkerSettings, shards: list[ShardTask],
                    workers: int) -> Iterator[list[tuple[str, str]]]:
    """Write ``shards`` in ``workers`` processes (in this one for workers <= 1); their labels, in shard order."""
    if workers < 0:
        raise ConfigError(f"workers must be >= 0, got {workers}")
    if workers <= 1 or len(shards) < 2:
        _init_worker(source, settings)
        yield from map(_write_shard_task, shards)
        return
    # spawn, not fork: a forked child inherits OpenCV's thread pool mid-state and can deadlock in its first cv2 call
    # (seen: cv2.setNumThreads blocking forever). The source is pickled to each worker once.
    context = multiprocessing.get_context("spawn")
    with context.Pool(min(workers, len(shards)), initializer=_init_worker,
                      initargs=(source, settings, True)) as pool:
        yield from pool.imap(_write_shard_task, shards, chunksize=1)


def shard_name(index: int) -> str:
    """File name of shard ``index``; the writer and the dataset reader share it."""
    return f"shard-{index:05d}.npz"


def _write_shard(path: Path, pairs: list[ChangePair]) -> None:
    save_npz(path, prompt=np.stack([p.prompt for p in pairs]), query=np.stack([p.query for p in pairs]),
             mask=np.stack([p.mask for p in pairs]).astype(np.uint8))


def _counts(rows: list[dict[str, Any]]) -> dict[str, Any]:
    counts: dict[str, Any] = {"total": len(rows)}
    for key in ("split", "kind", "change"):
        counts[key] = {}
        for row in rows:
            counts[key][row[key]] = counts[key].get(row[key], 0) + 1
    return counts


def _replace_dir(new: Path, out: Path) -> None:
    """Move the finished temp dir onto ``out``; an old ``out`` (only with force) is renamed away first."""
    if out.exists():
        trash = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
        trash.rmdir()
        out.rename(trash)
        new.rename(out)
        shutil.rmtree(trash, ignore_errors=True)
    else:
        new.rename(out)

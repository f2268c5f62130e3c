"""The embedded anomaly benchmark: an MVTec-layout dataset generated offline, deterministically per seed.

Three texture categories come from real photos bundled with scikit-image, four object categories are rendered
procedurally with pose and lighting variation (so a prompt is never pixel-aligned with the query). Defects are
scratches, cracks, holes, stains, missing/misplaced parts and wrong colours, none of which the training-time
synthesis (CutPaste, DRAEM Perlin blends, pasted objects) produces. Masks are exact: see ``finalize_defect``.

Layout written under ``out_dir``: ``<cat>/train/good/000.png``, ``<cat>/test/good/000.png``,
``<cat>/test/<defect>/000.png``, ``<cat>/ground_truth/<defect>/000_mask.png`` (0/255) and ``dataset.json``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import zlib
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np

from uasbench.datasets.synthetic_ad.board import BOARD
from uasbench.datasets.synthetic_ad.defects import SURFACE_DEFECTS, finalize_defect
from uasbench.datasets.synthetic_ad.objects import OBJECT_MODELS, ObjectModel
from uasbench.datasets.synthetic_ad.render import to_uint8
from uasbench.datasets.synthetic_ad.textures import texture_model
from uasbench.errors import ConfigError, DataError
from uasbench.io import write_json

GENERATOR_VERSION = "1"
_SPLIT_CODES = {"train": 0, "test_good": 1, "test_defect": 2}
_MAX_DEFECT_ATTEMPTS = 20


@dataclass(frozen=True)
class CategorySpec:
    """One benchmark category: how its images are made and which defects its test set has."""

    name: str
    kind: str  # "texture" or "object"
    source: str
    defects: tuple[str, ...]
    styles: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # keyword arguments per surface defect

    @property
    def model(self) -> ObjectModel:
        if self.kind == "texture":
            return texture_model(self.name)
        return BOARD if self.name == "board" else OBJECT_MODELS[self.name]


_OIL = {"tint": (0.32, 0.31, 0.35)}
CATEGORY_SPECS: dict[str, CategorySpec] = {spec.name: spec for spec in (
    CategorySpec("brick", "texture", "skimage.data.brick", ("crack", "hole", "stain"), {"stain": _OIL}),
    CategorySpec("grass", "texture", "skimage.data.grass", ("wrong_colour", "hole", "stain"),
                 {"wrong_colour": {"radius_range": (0.06, 0.12), "hue": (0.8, 0.68, 0.3)},  # dried, straw-coloured
                  "stain": {"tint": (0.6, 0.42, 0.25)}}),
    CategorySpec("gravel", "texture", "skimage.data.gravel", ("stain", "scratch", "hole"), {"stain": _OIL}),
    CategorySpec("nut", "object", "procedural", ("scratch", "crack", "missing_part", "wrong_colour"),
                 {"crack": {"darkness": 0.7}, "wrong_colour": {"radius_range": (0.04, 0.07)}}),
    CategorySpec("pill", "object", "procedural", ("crack", "stain", "missing_part", "wrong_colour"),
                 {"wrong_colour": {"radius_range": (0.04, 0.08)}}),
    CategorySpec("screw", "object", "procedural", ("scratch", "stain", "missing_part"),
                 {"stain": {"tint": (0.8, 0.45, 0.2)}}),
    CategorySpec("board", "object", "procedural",
                 ("missing_part", "misplaced_part", "wrong_colour", "scratch"), {"scratch": {"brightness": 0.5}}),
)}
SYNTHETIC_CATEGORIES: tuple[str, ...] = tuple(CATEGORY_SPECS)


def sample_rng(seed: int, category: str, split: str, index: int) -> np.random.Generator:
    """Independent stream per (seed, category, split, index): any image can be generated alone, in any order."""
    return np.random.default_rng(np.random.SeedSequence([seed, zlib.crc32(category.encode()), _SPLIT_CODES[split],
                                                         index]))


def min_defect_area(image_size: int) -> int:
    """Smallest accepted defect, in pixels (0.04 % of the image, at least 12 px)."""
    return max(12, round(4e-4 * image_size ** 2))


def render_normal(category: str, rng: np.random.Generator, image_size: int) -> np.ndarray:
    """A defect-free uint8 image of ``category``, drawn from ``rng`` alone (reproducible per sample)."""
    model = CATEGORY_SPECS[category].model
    image, _ = model.render(model.sample(rng, image_size), image_size)
    return to_uint8(image)


def render_defective(category: str, defect: str, rng: np.random.Generator, image_size: int
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(normal, defective, mask)`` as uint8 RGB, uint8 RGB and bool; the pair differs exactly inside the mask."""
    spec = CATEGORY_SPECS[category]
    model = spec.model
    params = model.sample(rng, image_size)
    normal_float, surface = model.render(params, image_size)
    normal = to_uint8(normal_float)
    for _ in range(_MAX_DEFECT_ATTEMPTS):
        if defect in model.structural:
            defective_float, _ = model.render(model.structural[defect](rng, params, image_size), image_size)
        else:
            defective_float = SURFACE_DEFECTS[defect](rng, normal_float, surface, **spec.styles.get(defect, {}))
        result = finalize_defect(normal, to_uint8(defective_float), min_defect_area(image_size))
        if result is not None:
            return normal, result[0], result[1]
    raise RuntimeError(f"synthetic '{category}/{defect}': no visible defect after {_MAX_DEFECT_ATTEMPTS} tries")


@dataclass(frozen=True)
class _Task:
    category: str
    split: str
    index: int
    image_path: str
    defect: str | None = None
    mask_path: str | None = None


def _plan(categories: Iterable[str], n_train: int, n_test_good: int, n_test_defect: int) -> list[_Task]:
    """Every file to write; test defect ``i`` gets type ``i % n_types`` so the types are spread evenly."""
    tasks = []
    for cat in categories:
        tasks += [_Task(cat, "train", i, f"{cat}/train/good/{i:03d}.png") for i in range(n_train)]
        tasks += [_Task(cat, "test_good", i, f"{cat}/test/good/{i:03d}.png") for i in range(n_test_good)]
        defects = CATEGORY_SPECS[cat].defects
        for i in range(n_test_defect):
            defect, k = defects[i % len(defects)], i // len(defects)
            tasks.append(_Task(cat, "test_defect", i, f"{cat}/test/{defect}/{k:03d}.png", defect,
                               f"{cat}/ground_truth/{defect}/{k:03d}_mask.png"))
    return tasks


def _write_png(path: Path, array: np.ndarray) -> None:
    import cv2

    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = cv2.cvtColor(array, cv2.COLOR_RGB2BGR) if array.ndim == 3 else array
    if not cv2.imwrite(str(path), pixels, [cv2.IMWRITE_PNG_COMPRESSION, 6]):
        raise DataError(f"{path}: could not write PNG")


def _run_task(task: _Task, root: str, seed: int, image_size: int) -> None:
    rng = sample_rng(seed, task.category, task.split, task.index)
    if task.defect is None:
        _write_png(Path(root) / task.image_path, render_normal(task.category, rng, image_size))
        return
    _, defective, mask = render_defective(task.category, task.defect, rng, image_size)
    _write_png(Path(root) / task.image_path, defective)
    _write_png(Path(root) / task.mask_path, mask.astype(np.uint8) * 255)


def _run_chunk(tasks: list[_Task], root: str, seed: int, image_size: int) -> int:
    import cv2

    cv2.setNumThreads(1)  # worker processes already use the cores
    for task in tasks:
        _run_task(task, root, seed, image_size)
    return len(tasks)


def _manifest(categories: list[str], tasks: list[_Task], seed: int, image_size: int,
              counts: dict[str, int]) -> dict[str, Any]:
    per_category: dict[str, Any] = {}
    for cat in categories:
        spec = CATEGORY_SPECS[cat]
        folders: dict[str, int] = {}
        for task in tasks:
            if task.category == cat:
                folder = str(Path(task.image_path).parent.relative_to(cat))
                folders[folder] = folders.get(folder, 0) + 1
        per_category[cat] = {"kind": spec.kind, "source": spec.source, "defect_types": list(spec.defects),
                             "counts": folders}
    return {"name": "uasbench-synthetic-ad", "generator_version": GENERATOR_VERSION, "layout": "mvtec",
            "seed": seed, "image_size": image_size, "requested_counts": counts, "mask_values": [0, 255],
            "categories": per_category}


def _check_arguments(image_size: int, counts: dict[str, int], categories: list[str]) -> None:
    if not 64 <= image_size <= 2048:
        raise ConfigError(f"image_size: {image_size} is outside [64, 2048]")
    for key, value in counts.items():
        if value < (1 if key == "n_train" else 0):
            raise ConfigError(f"{key}: {value} is too small")
    unknown = sorted(set(categories) - set(SYNTHETIC_CATEGORIES))
    if unknown or not categories:
        raise ConfigError(f"categories: unknown {unknown or 'empty list'}; choose from {list(SYNTHETIC_CATEGORIES)}")


def _check_output(out_dir: Path, force: bool) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise DataError(f"{out_dir}: exists and is not a directory")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not force:
        raise DataError(f"{out_dir}: directory is not empty (pass force=True / --force to replace it)")


def make_synthetic_ad(out_dir: str | os.PathLike, seed: int = 0, image_size: int = 256, n_train: int = 30,
                      n_test_good: int = 10, n_test_defect: int = 15, categories: Iterable[str] | None = None,
                      force: bool = False, workers: int = 1, progress: bool = True) -> Path:
    """Generate the benchmark into ``out_dir`` and return its path.

    Everything is written into a temporary sibling directory that is renamed onto ``out_dir`` at the end, so an
    interrupted run leaves no partial dataset. Byte-identical output for the same arguments and library versions,
    for any ``workers``; an image depends only on (seed, category, split, index), not on the other counts.
    """
    from tqdm import tqdm

    out_dir = Path(out_dir).resolve()
    if isinstance(categories, str):
        categories = [categories]
    names = list(SYNTHETIC_CATEGORIES if categories is None else dict.fromkeys(categories))
    counts = {"n_train": n_train, "n_test_good": n_test_good, "n_test_defect": n_test_defect}
    _check_arguments(image_size, counts, names)
    _check_output(out_dir, force)
    tasks = _plan(names, n_train, n_test_good, n_test_defect)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f"{out_dir.name}.tmp-", dir=out_dir.parent))
    try:
        chunks = [tasks[i:i + 8] for i in range(0, len(tasks), 8)]
        with tqdm(total=len(tasks), desc="synthetic-ad", unit="img", disable=not progress) as bar:
            if workers <= 1:
                for chunk in chunks:
                    for task in chunk:
                        _run_task(task, str(tmp), seed, image_size)
                    bar.update(len(chunk))
            else:
                import multiprocessing

                with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
                    run = partial(_run_chunk, root=str(tmp), seed=seed, image_size=image_size)
                    for done in pool.map(run, chunks):
                        bar.update(done)
        write_json(tmp / "dataset.json", _manifest(names, tasks, seed, image_size, counts))
        _replace_dir(tmp, out_dir, force)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir


def _replace_dir(tmp: Path, out_dir: Path, force: bool) -> None:
    """Rename the finished ``tmp`` onto ``out_dir``; an old dataset is moved aside first and deleted after."""
    _check_output(out_dir, force)
    old = None
    if out_dir.is_dir():
        old = Path(tempfile.mkdtemp(prefix=f"{out_dir.name}.old-", dir=out_dir.parent))
        os.replace(out_dir, old / out_dir.name)
    os.chmod(tmp, 0o755)  # mkdtemp makes it private; a dataset is meant to be shared
    os.replace(tmp, out_dir)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)

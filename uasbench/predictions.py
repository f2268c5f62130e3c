"""The predictions format every method writes and ``uasbench evaluate`` reads.

A predictions directory holds one (method, dataset, seed) run:

- ``<category>.npz`` (compressed): ``maps`` float16 (N, H, W), any range; ``scores`` float32 (N,) image
  scores; ``masks`` bool (N, H, W) ground truth at the map resolution; ``labels`` int8 (N,), 1 = anomalous;
  ``paths`` str (N,) test image paths.
- ``meta.json``: a free dict (method, dataset, seed, weight_source, config_tier, image_size, ...). When it
  lists the run's categories (``categories``, or the keys of ``map_scale`` as ``uasbench predict`` writes), the
  folder must hold exactly those ``<category>.npz`` files: a missing or stray one would silently change the mean.

float16 halves the size of the maps; it quantises scores to ~3 significant digits, which creates ties,
and the metrics treat ties exactly (see docs/deviations.md, Metrics). Writes are atomic.
"""

from __future__ import annotations

import json
import os
import re
import warnings
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from uasbench.errors import DataError, MetricInputError, echo
from uasbench.io import read_json_object, save_npz, write_json
from uasbench.names import SAFE_NAME, is_safe_name

META_FILE = "meta.json"
ARRAY_KEYS = ("maps", "scores", "masks", "labels", "paths")
_MIN_DISTINCT_FLOAT16 = 1024
_OWN_TEMP_FILE = re.compile(rf"\.(meta\.json|{SAFE_NAME}\.npz)\..+")  # atomic_path's temp names


@dataclass(frozen=True)
class CategoryPredictions:
    """One category of a run, as stored (see the module docstring for dtypes and shapes)."""

    category: str
    maps: np.ndarray
    scores: np.ndarray
    masks: np.ndarray
    labels: np.ndarray
    paths: np.ndarray

    def __len__(self) -> int:
        return int(self.maps.shape[0])


def category_name_problem(category: str) -> str | None:
    """Why ``category`` cannot name its file ``<category>.npz`` (None when it can)."""
    if not is_safe_name(category) or category.endswith(".npz"):
        return f"category name {echo(category)} is not a safe file name (letters, digits, _ . + -)"
    return None


def category_file(pred_dir: str | os.PathLike, category: str) -> Path:
    """``<pred_dir>/<category>.npz``; a category name that is not a plain file name is refused."""
    problem = category_name_problem(category)
    if problem:
        raise MetricInputError(problem)
    return Path(pred_dir) / f"{category}.npz"


def save_category_predictions(pred_dir: str | os.PathLike, category: str, maps: Any, scores: Any, masks: Any,
                              paths: Sequence[str], labels: Any = None) -> Path:
    """Validate and atomically write ``<pred_dir>/<category>.npz``; ``labels`` default: mask has a positive pixel."""
    path = category_file(pred_dir, category)
    where = f"predictions for {category!r}"
    maps = np.asarray(maps)
    if maps.ndim != 3 or maps.dtype.kind not in "fiu" or maps.shape[0] == 0:
        raise MetricInputError(f"{where}: maps must be a non-empty real (N, H, W) array, got {maps.dtype} {maps.shape}")
    n_images = maps.shape[0]
    if not np.isfinite(maps).all():
        raise MetricInputError(f"{where}: maps contain NaN/inf")
    with np.errstate(over="ignore"):
        maps16 = maps.astype(np.float16)
    if not np.isfinite(maps16).all():
        raise MetricInputError(f"{where}: map values up to {float(np.abs(maps).max()):.4g} overflow float16 "
                               "(max 65504); rescale the maps before saving")
    _warn_if_quantisation_collapses(maps, maps16, where)
    scores32 = np.asarray(scores, dtype=np.float32) if np.asarray(scores).dtype.kind in "fiu" else None
    if scores32 is None or scores32.shape != (n_images,) or not np.isfinite(scores32).all():
        raise MetricInputError(f"{where}: scores must be {n_images} finite float32 numbers")
    mask_arr = np.asarray(masks)
    if mask_arr.shape != maps.shape:
        raise MetricInputError(f"{where}: masks shape {mask_arr.shape} != maps shape {maps.shape}")
    masks_bool = _binary(mask_arr, f"{where}: masks")
    paths_arr = np.asarray([str(p) for p in paths])
    if paths_arr.shape != (n_images,):
        raise MetricInputError(f"{where}: {len(paths_arr)} paths for {n_images} maps")
    if labels is None:
        labels8 = masks_bool.reshape(n_images, -1).any(axis=1).astype(np.int8)
    else:
        labels_arr = np.asarray(labels)
        if labels_arr.shape != (n_images,):
            raise MetricInputError(f"{where}: labels shape {labels_arr.shape} != ({n_images},)")
        labels8 = _binary(labels_arr, f"{where}: labels").astype(np.int8)
    save_npz(path, maps=maps16, scores=scores32, masks=masks_bool, labels=labels8, paths=paths_arr)
    return path


def write_run_meta(pred_dir: str | os.PathLike, meta: Mapping[str, Any]) -> Path:
    """Atomically write ``meta.json`` (method, dataset, seed, weight_source, config_tier, image_size, ...)."""
    path = Path(pred_dir) / META_FILE
    try:
        json.dumps(dict(meta), default=str)
    except (TypeError, ValueError) as err:
        raise MetricInputError(f"run meta for {path} is not a JSON object: {err}") from err
    write_json(path, dict(meta))
    return path


def not_predictions_because(folder: str | os.PathLike) -> str | None:
    """None when ``folder`` holds only what ``uasbench predict`` writes (``meta.json`` naming run, method, dataset
    and seed; ``<category>.npz`` with exactly the prediction arrays; hidden leftovers of those atomic writes), else
    why not. Decides whether a predictions folder may be replaced without ``--force``. ``meta.json`` may be absent:
    Snakemake deletes a job's output (it) before rerunning the job."""
    foreign = [entry.name for entry in sorted(Path(folder).iterdir()) if not _is_prediction_file(entry)]
    if not foreign:
        return None
    shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
    return f"holds {shown}, which {'is' if len(foreign) == 1 else 'are'} not what 'uasbench predict' writes"


def _is_prediction_file(entry: Path) -> bool:
    if entry.is_symlink() or not entry.is_file():
        return False
    if _OWN_TEMP_FILE.fullmatch(entry.name):
        return True
    if entry.name == META_FILE:
        try:
            meta = json.loads(entry.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            return False
        return isinstance(meta, dict) and {"run", "method", "dataset", "seed"} <= meta.keys()
    if not entry.name.endswith(".npz") or not is_safe_name(entry.name[:-4]):
        return False
    try:
        with zipfile.ZipFile(entry) as archive:
            return set(archive.namelist()) == {f"{key}.npy" for key in ARRAY_KEYS}
    except (OSError, zipfile.BadZipFile):
        return False


def read_run_meta(pred_dir: str | os.PathLike) -> dict[str, Any]:
    """The folder's ``meta.json``, written last by a prediction: a missing folder or file is a DataError, since
    either means the prediction did not finish."""
    if not Path(pred_dir).is_dir():
        raise DataError(f"{pred_dir}: predictions directory does not exist")
    path = Path(pred_dir) / META_FILE
    if not path.is_file():
        raise DataError(f"{path}: missing (every predictions directory needs its run meta)")
    return read_json_object(path)


def list_categories(pred_dir: str | os.PathLike) -> list[str]:
    """Categories present in ``pred_dir`` (sorted); DataError if the directory is missing or has none."""
    root = Path(pred_dir)
    if not root.is_dir():
        raise DataError(f"{root}: predictions directory does not exist")
    names = sorted(p.stem for p in root.glob("*.npz") if not p.name.startswith("."))
    if not names:
        raise DataError(f"{root}: no <category>.npz predictions file")
    return names


def expected_categories(pred_dir: str | os.PathLike, meta: Mapping[str, Any]) -> list[str] | None:
    """The categories ``meta.json`` says the run has (``categories``, else ``map_scale``'s keys); None if neither."""
    listed = meta.get("categories")
    if listed is None and isinstance(meta.get("map_scale"), dict):
        listed = list(meta["map_scale"])
    if listed is None:
        return None
    if not isinstance(listed, list) or not all(isinstance(c, str) for c in listed):
        raise DataError(f"{Path(pred_dir) / META_FILE}: 'categories' must be a list of names, got {echo(listed)}")
    return sorted(listed)


def run_categories(pred_dir: str | os.PathLike, meta: Mapping[str, Any]) -> list[str]:
    """The ``<category>.npz`` files present, checked against the categories ``meta.json`` lists (if it does)."""
    present = list_categories(pred_dir)
    expected = expected_categories(pred_dir, meta)
    if expected is None:
        return present
    missing = sorted(set(expected) - set(present))
    stray = sorted(set(present) - set(expected))
    problems = ([f"missing {', '.join(f'{c}.npz' for c in missing)}"] if missing else []) + \
               ([f"stray {', '.join(f'{c}.npz' for c in stray)} not in the run"] if stray else [])
    if problems:
        raise DataError(f"{pred_dir}: does not match its {META_FILE} (categories {', '.join(expected)}): "
                        f"{'; '.join(problems)}; re-run the prediction rather than average an incomplete set")
    return present


def load_category_predictions(pred_dir: str | os.PathLike, category: str) -> CategoryPredictions:
    """Load and check one ``<category>.npz``; every problem is a DataError naming the file."""
    path = category_file(pred_dir, category)
    if not path.is_file():
        raise DataError(f"{path}: missing predictions file")
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = [key for key in ARRAY_KEYS if key not in data.files]
            if missing:
                raise DataError(f"{path}: missing arrays {missing} (need {list(ARRAY_KEYS)})")
            arrays = {key: data[key] for key in ARRAY_KEYS}
    except DataError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error, KeyError) as err:
        raise DataError(f"{path}: unreadable or corrupt npz ({type(err).__name__}: {err})") from err
    _check_arrays(path, arrays)
    return CategoryPredictions(category=category, maps=arrays["maps"], scores=arrays["scores"],
                               masks=arrays["masks"], labels=arrays["labels"], paths=arrays["paths"])


def load_predictions(pred_dir: str | os.PathLike) -> tuple[dict[str, CategoryPredictions], dict[str, Any]]:
    """All categories of a run and its meta. For large datasets prefer ``load_category_predictions`` one by one."""
    meta = read_run_meta(pred_dir)
    return {name: load_category_predictions(pred_dir, name) for name in run_categories(pred_dir, meta)}, meta


def _check_arrays(path: Path, arrays: dict[str, np.ndarray]) -> None:
    maps, scores, masks, labels, paths = (arrays[key] for key in ARRAY_KEYS)
    if maps.ndim != 3 or maps.dtype.kind != "f" or maps.shape[0] == 0:
        raise DataError(f"{path}: 'maps' must be a non-empty float (N, H, W) array, got {maps.dtype} {maps.shape}")
    n_images = maps.shape[0]
    expected = {"scores": ((n_images,), "f"), "masks": (maps.shape, "b"), "labels": ((n_images,), "iu"),
                "paths": ((n_images,), "U")}
    for key, (shape, kinds) in expected.items():
        arr = arrays[key]
        if arr.shape != tuple(shape) or arr.dtype.kind not in kinds:
            raise DataError(f"{path}: '{key}' has dtype {arr.dtype} shape {arr.shape}, expected kind "
                            f"{kinds!r} shape {tuple(shape)} (from 'maps' {maps.shape})")
    if not np.isfinite(maps).all():
        raise DataError(f"{path}: 'maps' contains NaN/inf")
    if not np.isfinite(scores).all():
        raise DataError(f"{path}: 'scores' contains NaN/inf")
    if not np.isin(labels, (0, 1)).all():
        raise DataError(f"{path}: 'labels' must be 0/1")


def _binary(arr: np.ndarray, what: str) -> np.ndarray:
    if arr.dtype == np.bool_:
        return arr
    if arr.dtype.kind not in "iuf" or not np.isin(arr, (0, 1)).all():
        raise MetricInputError(f"{what} must be bool or 0/1")
    return arr.astype(bool)


def _warn_if_quantisation_collapses(maps: np.ndarray, maps16: np.ndarray, where: str) -> None:
    """float16 keeps ~3 digits: warn when it merges many distinct scores (e.g. maps with a large offset)."""
    if maps.dtype == np.float16:
        return
    n16 = int(np.count_nonzero(np.bincount(maps16.view(np.uint16).ravel(), minlength=1 << 16)))
    if n16 >= _MIN_DISTINCT_FLOAT16:
        return
    n_orig = int(np.unique(maps).size)
    if n_orig > 4 * n16:
        warnings.warn(f"{where}: float16 storage merges {n_orig} distinct map values into {n16}; "
                      "subtract the offset / rescale the maps before saving to keep their resolution",
                      stacklevel=3)

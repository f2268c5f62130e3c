"""``load_dataset(name, root, ...)``: one entry point over the per-benchmark loaders."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from uasbench.datasets.benchmarks.btad import load_btad
from uasbench.datasets.benchmarks.folder import FOLDER, check_root, list_category_dirs, scan_mvtec_layout
from uasbench.datasets.benchmarks.goodsad import load_goodsad
from uasbench.datasets.benchmarks.mvtec import load_mvtec
from uasbench.datasets.benchmarks.sample import DATASETS, SPLITS, Sample, sample_sort_key
from uasbench.datasets.benchmarks.validation import validate_samples
from uasbench.datasets.benchmarks.visa import SPLIT_CSV, load_visa, read_split_csv
from uasbench.errors import ConfigError, echo

Loader = Callable[[str | Path, tuple[str, ...], list[str] | None], list[Sample]]


def _load_folder(root: str | Path, splits: tuple[str, ...], categories: list[str] | None) -> list[Sample]:
    return scan_mvtec_layout(root, FOLDER, splits, categories)


LOADERS: dict[str, Loader] = {
    "mvtec": load_mvtec,
    "visa": load_visa,
    "btad": load_btad,
    "goodsad": load_goodsad,
    "folder": _load_folder,
}
assert tuple(LOADERS) == DATASETS


def load_dataset(name: str, root: str | Path, split: str | None = None, categories: list[str] | None = None,
                 validate: bool = True) -> list[Sample]:
    """Samples of one benchmark in a sorted, deterministic order.

    ``split`` None means train and test. The folder structure (root, categories, masks present, VisA csv) is
    always checked; ``validate`` additionally reads every image and mask header (readable, sizes agree; for
    the slower byte-level check see :func:`uasbench.datasets.benchmarks.validation.validate_samples` with
    ``deep=True``).
    Problems raise :class:`uasbench.errors.DataError` naming the files.
    """
    if name not in LOADERS:
        raise ConfigError(f"unknown dataset {echo(name)} (choose one of {', '.join(DATASETS)})")
    if split is not None and split not in SPLITS:
        raise ConfigError(f"unknown split {echo(split)} (choose train, test or None for both)")
    if categories is not None and (isinstance(categories, str) or not categories):
        raise ConfigError(f"categories must be a non-empty list of names or None, got {echo(categories)}")
    splits = SPLITS if split is None else (split,)
    samples = sorted(LOADERS[name](root, splits, list(categories) if categories else None), key=sample_sort_key)
    if validate:
        validate_samples(samples, f"{name} root {root}")
    return samples


def available_categories(name: str, root: str | Path) -> list[str]:
    """The categories a dataset folder holds, without listing its images: the category folders, or for VisA the
    objects of its split file."""
    root = check_root(root)
    if name == "visa":
        return sorted({row["object"].strip() for row in read_split_csv(root / SPLIT_CSV)})
    return list_category_dirs(root)

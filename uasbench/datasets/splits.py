"""A config's dataset entry → its folder and its samples (the one place that maps a config ``kind`` to a loader).

Prediction and the unified UniAD/OneNIP training both read datasets through :func:`load_split`, so a dataset's
categories filter and root are resolved the same way everywhere.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: the kind the workflow generates itself (``data make-synthetic-ad``); every other kind is a folder at its root
GENERATED_KIND = "synthetic-ad"
#: config ``datasets.<name>.kind`` → benchmark loader (the generated synthetic-ad set is written in MVTec's layout)
LOADER_OF_KIND = {GENERATED_KIND: "mvtec", "mvtec": "mvtec", "visa": "visa", "btad": "btad", "goodsad": "goodsad",
                  "folder": "folder"}
DATASET_KINDS = tuple(LOADER_OF_KIND)  # the schema's enum of datasets.<name>.kind (a test keeps them equal)


def dataset_root(config: dict[str, Any], dataset: str) -> Path:
    """Where a dataset lives: generated ones under results/data/<name>, real ones at their configured root."""
    from uasbench import layout

    spec = config["datasets"][dataset]
    if spec["kind"] == GENERATED_KIND:
        return layout.dataset_dir(config, dataset)
    return Path(spec["root"])


def load_split(config: dict[str, Any], dataset: str) -> tuple[list, list[str]]:
    """(samples of both splits, sorted category names) of the config's dataset ``dataset``, restricted to its
    ``categories`` when it lists some."""
    from uasbench.datasets.benchmarks.registry import load_dataset

    spec = config["datasets"][dataset]
    check_categories(config, dataset)
    samples = load_dataset(LOADER_OF_KIND[spec["kind"]], dataset_root(config, dataset))
    if spec.get("categories"):
        samples = [s for s in samples if s.category in spec["categories"]]
    categories = sorted({s.category for s in samples})
    return samples, categories


def check_categories(config: dict[str, Any], dataset: str) -> None:
    """Every category the config names is in the dataset's folder: a misspelt one would otherwise be dropped and the
    mean taken over fewer categories. Lists the folder only (generated datasets hold what they are told to)."""
    from uasbench.datasets.benchmarks.registry import available_categories
    from uasbench.errors import ConfigError, echo

    spec = config["datasets"][dataset]
    if spec["kind"] == "synthetic-ad" or not spec.get("categories"):
        return
    root = dataset_root(config, dataset)
    present = available_categories(LOADER_OF_KIND[spec["kind"]], root)
    missing = [name for name in spec["categories"] if name not in present]
    if missing:
        raise ConfigError(f"datasets.{dataset}.categories: {', '.join(map(echo, missing))} not in {root} "
                          f"(present: {', '.join(present) or 'none'})")

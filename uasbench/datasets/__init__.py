"""Benchmark loaders (MVTec AD, VisA, BTAD, GoodsAD, user folders), a config's dataset splits, image/mask reading
and anomaly synthesis.

Names are imported lazily so that ``uasbench --help`` and modules importing one submodule stay fast; the
constants a --help page lists live here.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

#: what ``uasbench data preview`` draws (uasbench.datasets.preview)
PREVIEW_KINDS = ("synthetic-ad", "change-pairs", "anomaly-synthesis")

_EXPORTS = {
    "Sample": "uasbench.datasets.benchmarks.sample",
    "DATASETS": "uasbench.datasets.benchmarks.sample",
    "load_dataset": "uasbench.datasets.benchmarks.registry",
    "read_image": "uasbench.datasets.imageio",
    "read_mask": "uasbench.datasets.imageio",
    "OFFICIAL_COUNTS": "uasbench.datasets.benchmarks.counts",
    "count_samples": "uasbench.datasets.benchmarks.counts",
    "dataset_root": "uasbench.datasets.splits",
    "load_split": "uasbench.datasets.splits",
}
__all__ = sorted([*_EXPORTS, "PREVIEW_KINDS"])

if TYPE_CHECKING:  # pragma: no cover  (``X as X``: explicit re-exports for type checkers; ``__getattr__`` serves them)
    from uasbench.datasets.benchmarks.counts import OFFICIAL_COUNTS as OFFICIAL_COUNTS
    from uasbench.datasets.benchmarks.counts import count_samples as count_samples
    from uasbench.datasets.benchmarks.registry import load_dataset as load_dataset
    from uasbench.datasets.benchmarks.sample import DATASETS as DATASETS
    from uasbench.datasets.benchmarks.sample import Sample as Sample
    from uasbench.datasets.imageio import read_image as read_image
    from uasbench.datasets.imageio import read_mask as read_mask
    from uasbench.datasets.splits import dataset_root as dataset_root
    from uasbench.datasets.splits import load_split as load_split


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'uasbench.datasets' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

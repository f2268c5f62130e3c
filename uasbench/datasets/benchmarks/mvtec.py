"""MVTec AD: ``<cat>/{train,test}/<type>/NNN.png`` with masks ``<cat>/ground_truth/<defect>/NNN_mask.png`` (0/255)."""

from __future__ import annotations

from pathlib import Path

from uasbench.datasets.benchmarks.folder import LayoutSpec, scan_mvtec_layout
from uasbench.datasets.benchmarks.sample import Sample

MVTEC = LayoutSpec("mvtec", mask_names=("{stem}_mask.png",))


def load_mvtec(root: str | Path, splits: tuple[str, ...], categories: list[str] | None = None) -> list[Sample]:
    """MVTec AD samples: ``<stem>_mask.png`` masks beside the standard train/test folders."""
    return scan_mvtec_layout(root, MVTEC, splits, categories)

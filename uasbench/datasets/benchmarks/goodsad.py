"""GoodsAD (PKU): MVTec-like folders of ``.jpg`` images; a mask is ``ground_truth/<defect>/<same stem>.png``
(no ``_mask``)."""

from __future__ import annotations

from pathlib import Path

from uasbench.datasets.benchmarks.folder import LayoutSpec, scan_mvtec_layout
from uasbench.datasets.benchmarks.sample import Sample

GOODSAD = LayoutSpec("goodsad", mask_names=("{stem}.png",), mask_hint="{stem}.png")


def load_goodsad(root: str | Path, splits: tuple[str, ...], categories: list[str] | None = None) -> list[Sample]:
    """GoodsAD samples: MVTec-style folders whose masks share the image's stem (``.png``)."""
    return scan_mvtec_layout(root, GOODSAD, splits, categories)

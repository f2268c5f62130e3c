"""BTAD (BTech_Dataset_transformed): ``<01|02|03>/{train/ok, test/ok, test/ko}``, masks ``ground_truth/ko``.

Image and mask extensions differ per product (01: .bmp images, .png masks; 02: .png/.png; 03: .bmp/.bmp), so a
mask is paired with its image by file stem whatever its extension (anomalib's loader assumes ``.png`` masks).
The normal folder is ``ok``; its samples get the common defect type ``"good"``.
"""

from __future__ import annotations

from pathlib import Path

from uasbench.datasets.benchmarks.folder import LayoutSpec, scan_mvtec_layout
from uasbench.datasets.benchmarks.sample import IMAGE_EXTENSIONS, Sample

BTAD = LayoutSpec("btad", good_dir="ok", mask_names=tuple(f"{{stem}}{ext}" for ext in IMAGE_EXTENSIONS),
                  mask_hint="{stem} with any image extension")


def load_btad(root: str | Path, splits: tuple[str, ...], categories: list[str] | None = None) -> list[Sample]:
    """BTAD samples: MVTec-style folders with ``ok`` as the normal folder and masks paired by stem."""
    return scan_mvtec_layout(root, BTAD, splits, categories)

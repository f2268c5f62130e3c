"""The one record every loader returns, so methods, metrics and prompts never see dataset-specific layouts."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

DATASETS = ("mvtec", "visa", "btad", "goodsad", "folder")
SPLITS = ("train", "test")
GOOD = "good"
# Case-insensitive; VisA ships ``.JPG``, BTAD mixes ``.bmp`` and ``.png``, GoodsAD uses ``.jpg``.
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")


@dataclass(frozen=True)
class Sample:
    """One image of a benchmark: where it is, its ground truth and where it belongs.

    ``mask_path`` is None for normal images (their mask is all zeros); ``defect_type`` is ``"good"`` for them.
    """

    image_path: Path
    mask_path: Path | None
    label: int  # 0 normal, 1 anomalous
    category: str
    defect_type: str
    split: str  # "train" | "test"


def sample_sort_key(sample: Sample) -> tuple:
    """Category, then train before test, normals before defects, then defect type and file name."""
    return (sample.category, SPLITS.index(sample.split), sample.label, sample.defect_type, str(sample.image_path))


def is_image_file(path: Path) -> bool:
    """A visible file with an image extension (case-insensitive): hidden files and notes are not samples."""
    return path.is_file() and not path.name.startswith(".") and path.suffix.lower() in IMAGE_EXTENSIONS


@functools.cache
def unread_image_extensions() -> frozenset[str]:
    """Extensions of the formats Pillow can open that are not samples here (``.gif``, ``.webp``, ...): a file named
    so is a user's image, not a note, and is refused rather than skipped."""
    Image.init()
    readable = {ext for ext, fmt in Image.registered_extensions().items() if fmt in Image.OPEN}
    return frozenset(readable - set(IMAGE_EXTENSIONS))

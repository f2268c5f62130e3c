"""Reading images and ground-truth masks the same way for every dataset, with errors that name the file.

Mask protocol (as MetaUAS ``dataset.py`` + ``utils/geometry.py``): binarise the raw mask with ``!= 0`` (VisA masks
hold small class ids, MVTec 0/255), resize the 0/1 map bilinearly, then keep every pixel ``> 0``. This slightly
dilates mask borders at lower resolution; it is recorded in docs/deviations.md as the chosen protocol.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from uasbench.errors import DataError

PathLike = str | os.PathLike


def _target_hw(shape_or_size: int | tuple[int, int] | None) -> tuple[int, int] | None:
    if shape_or_size is None:
        return None
    if isinstance(shape_or_size, (int, np.integer)):
        return int(shape_or_size), int(shape_or_size)
    height, width = shape_or_size[:2]
    return int(height), int(width)


def _open(path: PathLike, what: str) -> Image.Image:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: {what} not found")
    try:
        image = Image.open(path)
        image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        raise DataError(f"{path}: unreadable {what} ({err})") from err
    return image


def read_image(path: PathLike, size: int | None = None) -> np.ndarray:
    """uint8 RGB (H, W, 3); resized to (size, size) with bilinear interpolation (cv2.INTER_LINEAR) if given."""
    with _open(path, "image") as image:
        rgb = np.asarray(image.convert("RGB"))
    if size is not None and rgb.shape[:2] != (size, size):
        rgb = cv2.resize(rgb, (size, size), interpolation=cv2.INTER_LINEAR)
    return np.ascontiguousarray(rgb)


def binarise_mask(raw: np.ndarray) -> np.ndarray:
    """Any non-zero value is defect (VisA stores class ids 1, 2, ...; MVTec 255); colour masks: any channel."""
    return raw.any(axis=-1) if raw.ndim == 3 else raw != 0


def resize_mask(mask: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    """Bilinear resize of the 0/1 map, then ``> 0`` (MetaUAS protocol)."""
    if mask.shape == hw:
        return mask.astype(bool)
    resized = cv2.resize(mask.astype(np.float32), (hw[1], hw[0]), interpolation=cv2.INTER_LINEAR)
    return resized > 0


def read_mask(path: PathLike | None, shape_or_size: int | tuple[int, int] | None, label: int) -> np.ndarray:
    """bool (H, W) ground truth at ``shape_or_size`` (an int means square; None keeps the file's size).

    Without a mask file the map is all zeros for a normal image and all ones for an anomalous one
    (MetaUAS ``dataset.py``: an empty ``maskname`` means the whole image).
    """
    hw = _target_hw(shape_or_size)
    if path is None:
        if hw is None:
            raise DataError("read_mask: a mask without a file needs shape_or_size")
        if label not in (0, 1):
            raise DataError(f"read_mask: label must be 0 or 1, got {label!r}")
        return np.full(hw, bool(label))
    with _open(path, "mask") as image:
        if image.mode in ("RGBA", "LA", "PA"):
            image = image.convert(image.mode[:-1] if image.mode != "PA" else "P")
        mask = binarise_mask(np.asarray(image))
    return mask if hw is None else resize_mask(mask, hw)


def probe_image(path: PathLike, what: str = "image", verify: bool = False) -> tuple[int, int]:
    """(width, height) from the file header, no pixel decode: ~0.1 ms per file, so thousands are checked at once.

    ``verify`` adds PIL's structural check (PNG chunk CRCs, truncation; ~3 ms for a 1.5 MB PNG), used by
    ``uasbench data check``; a corrupt file that passes the header check still fails in :func:`read_image`.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: {what} not found")
    try:
        with Image.open(path) as image:
            size = image.size
            if verify:
                image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        raise DataError(f"{path}: unreadable {what} ({err})") from err
    if size[0] <= 0 or size[1] <= 0:
        raise DataError(f"{path}: {what} has an empty size {size[0]}x{size[1]}")
    return size

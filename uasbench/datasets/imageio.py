"""Reading images and ground-truth masks the same way for every dataset, with errors that name the file.

Mask protocol (as MetaUAS ``dataset.py`` + ``utils/geometry.py``): binarise the raw mask with ``!= 0`` (VisA masks
hold small class ids, MVTec 0/255), resize the 0/1 map bilinearly, then keep every pixel ``> 0``. This slightly
dilates mask borders at lower resolution; it is recorded in docs/deviations.md as the chosen protocol.

Bit depth: images become 8-bit RGB. 16-bit greys (PIL ``I;16``; also ``I`` with values in 0..65535, how some
Pillow versions decode a 16-bit PNG) are scaled by the full 16-bit range, ``round(v * 255 / 65535)``, not by the
file's own min/max, so a dark image stays dark. Float greys (``F``, e.g. float32 TIFF) must lie in [0, 1] and
are scaled by 255; anything else is refused with the file's name rather than clipped to white.

Size limit: a file whose header declares more than ``UASBENCH_MAX_IMAGE_PIXELS`` pixels (default 100 megapixels)
is refused before any decode, so a tiny "decompression bomb" cannot exhaust memory.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from uasbench.datasets.preprocessing import resize_rgb
from uasbench.errors import ConfigError, DataError

PathLike = str | os.PathLike
MAX_PIXELS_ENV = "UASBENCH_MAX_IMAGE_PIXELS"
DEFAULT_MAX_PIXELS = 100_000_000
_UINT16_MAX = 65535


def max_image_pixels() -> int:
    """The pixel limit, read at call time so a user (or a test) can raise it for one run."""
    raw = os.environ.get(MAX_PIXELS_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_PIXELS
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value <= 0:
        raise ConfigError(f"{MAX_PIXELS_ENV}={raw!r}: must be a positive whole number of pixels")
    return value


def _target_hw(shape_or_size: int | tuple[int, int] | None) -> tuple[int, int] | None:
    if shape_or_size is None:
        return None
    if isinstance(shape_or_size, (int, np.integer)):
        return int(shape_or_size), int(shape_or_size)
    height, width = shape_or_size[:2]
    return int(height), int(width)


@contextlib.contextmanager
def _opened(path: PathLike, what: str) -> Iterator[Image.Image]:
    """A lazily opened PIL image (header read, size checked against the pixel limit); read errors name ``path``."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: {what} not found")
    limit = max_image_pixels()
    saved = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = limit  # PIL's own bomb check (warns above, refuses above twice) follows ours
    too_large = (f"{path}: {what} exceeds the limit of {limit:,} pixels ({MAX_PIXELS_ENV}; raise it if the file "
                 "is genuine)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, height = image.size
                if width * height > limit:
                    raise DataError(f"{too_large}: {width}x{height}")
                yield image
    except Image.DecompressionBombError as err:
        raise DataError(f"{too_large}: {err}") from err
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        raise DataError(f"{path}: unreadable {what} ({err})") from err
    finally:
        Image.MAX_IMAGE_PIXELS = saved


def _to_rgb8(image: Image.Image, path: Path) -> np.ndarray:
    """uint8 RGB of a loaded image; deep greys are scaled by their range (module docstring) instead of clipped."""
    if image.mode.startswith("I;16") or image.mode == "I":
        raw = np.asarray(image).astype(np.float64)
        if raw.size and (raw.min() < 0 or raw.max() > _UINT16_MAX):
            raise DataError(f"{path}: 32-bit integer image with values {raw.min():.0f}..{raw.max():.0f} outside "
                            f"0..{_UINT16_MAX}; convert it to an 8- or 16-bit image")
        grey = raw * (255.0 / _UINT16_MAX)
    elif image.mode == "F":
        grey = np.asarray(image).astype(np.float64)
        if grey.size and not (np.isfinite(grey).all() and grey.min() >= 0.0 and grey.max() <= 1.0):
            raise DataError(f"{path}: float image with values {np.nanmin(grey):.4g}..{np.nanmax(grey):.4g}; "
                            "float images must lie in [0, 1]")
        grey = grey * 255.0
    else:
        return np.asarray(image.convert("RGB"))
    return np.repeat(np.round(grey).astype(np.uint8)[..., None], 3, axis=2)


def read_image(path: PathLike, size: int | None = None, resample: str = "cv2-linear") -> np.ndarray:
    """uint8 RGB (H, W, 3); resized to (size, size) with ``resample`` (a ``preprocessing.RESAMPLERS`` name) if given."""
    with _opened(path, "image") as image:
        image.load()
        rgb = _to_rgb8(image, Path(path))
    if size is not None:
        rgb = resize_rgb(rgb, size, resample)
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
    with _opened(path, "mask") as image:
        image.load()
        if image.mode in ("RGBA", "LA", "PA"):
            image = image.convert(image.mode[:-1] if image.mode != "PA" else "P")
        mask = binarise_mask(np.asarray(image))
    return mask if hw is None else resize_mask(mask, hw)


def probe_image(path: PathLike, what: str = "image", verify: bool = False) -> tuple[int, int]:
    """(width, height) from the file header, no pixel decode: ~0.1 ms per file, so thousands are checked at once.

    ``verify`` adds PIL's structural check (PNG chunk CRCs, truncation; ~3 ms for a 1.5 MB PNG), used by
    ``uasbench data check``; a corrupt file that passes the header check still fails in :func:`read_image`.
    """
    with _opened(path, what) as image:
        size = image.size
        if verify:
            image.verify()
    if size[0] <= 0 or size[1] <= 0:
        raise DataError(f"{path}: {what} has an empty size {size[0]}x{size[1]}")
    return size

"""Reading images and ground-truth masks the same way for every dataset, with errors that name the file.

Masks are read as a viewer shows them: a palette index becomes its colour, transparency is composited over black
(a fully transparent pixel is never defect), a colour pixel counts by its brightest channel. A mask that looks black
(every value below mid-grey: 0/1 masks, VisA's class ids 1, 2, ...) is a label map and every non-zero pixel is
defect, as MetaUAS ``dataset.py`` reads it; any other mask is binarised at mid-grey (128 of 255, 32768 of 65535), so
a JPEG's compression noise around 0 and 255 is not defect. A mask with many mid-range values (anti-aliased or soft
edges, a photo saved as a mask) is binarised the same way with a :class:`SoftMaskWarning` naming the file. The 0/1
map is then resized bilinearly and every pixel ``> 0`` kept (``utils/geometry.py``), which slightly dilates mask
borders at lower resolution (docs/deviations.md).

Orientation: images and masks are turned as their EXIF orientation tag says (``ImageOps.exif_transpose``), so a
photo stored rotated is read as a viewer shows it, and its displayed size is the one checked against its mask.

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
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from uasbench.datasets.preprocessing import resize_rgb
from uasbench.errors import ConfigError, DataError, echo

PathLike = str | os.PathLike
MAX_PIXELS_ENV = "UASBENCH_MAX_IMAGE_PIXELS"
DEFAULT_MAX_PIXELS = 100_000_000
_UINT16_MAX = 65535
SOFT_MASK_SHARE = 0.1  # warn when more of a mask's non-black pixels than this lie in the middle half of the range
_TURNED = (5, 6, 7, 8)  # EXIF orientations that swap width and height


class SoftMaskWarning(UserWarning):
    """A mask with many values between black and white: it is binarised at mid-grey, which may not be what was meant."""


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
        raise ConfigError(f"{MAX_PIXELS_ENV}={echo(raw)}: must be a positive whole number of pixels")
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
        rgb = _to_rgb8(_upright(image), Path(path))
    if size is not None and rgb.shape[:2] != (size, size):
        rgb = resize_rgb(rgb, size, resample)
    return np.ascontiguousarray(rgb)


def _upright(image: Image.Image) -> Image.Image:
    """The image turned as its EXIF orientation says (a no-op without the tag)."""
    ImageOps.exif_transpose(image, in_place=True)
    return image


def _header_orientation(image: Image.Image) -> int | None:
    """The EXIF orientation from the header only: a PNG's ``getexif`` decodes the pixels to look past them (so a
    PNG whose eXIf chunk follows its pixels is turned when read but probed at its stored size)."""
    if "exif" not in image.info and image.format != "TIFF":
        return None
    return image.getexif().get(ExifTags.Base.Orientation)


def _full_scale(image: Image.Image, values: np.ndarray) -> float:
    """White of the mask's bit depth: 65535 for 16-bit, 1.0 for a float mask within [0, 1], else 255."""
    if image.mode.startswith("I;16") or image.mode == "I":
        return float(_UINT16_MAX)
    if image.mode == "F" and (values.size == 0 or float(values.max()) <= 1.0):
        return 1.0
    return 255.0


def displayed_mask_values(image: Image.Image) -> np.ndarray:
    """(H, W) brightness as a viewer shows the mask: palette -> colours, alpha composited over black, colour ->
    brightest channel."""
    if image.mode in ("P", "PA", "CMYK", "YCbCr", "LAB", "HSV", "RGBa", "La", "RGBX"):
        image = image.convert("RGBA")
    elif image.mode == "1":
        image = image.convert("L")
    values = np.asarray(image)
    if image.mode in ("RGBA", "LA"):
        colour = values[..., :-1].max(axis=-1).astype(np.float64)
        return colour * (values[..., -1] / 255.0)
    return values.max(axis=-1) if values.ndim == 3 else values


def binarise_mask(values: np.ndarray, full_scale: float = 255.0) -> np.ndarray:
    """Defect where the value is at least mid-grey; in a mask that looks black (a label map: 0/1, class ids), any
    non-zero value. Colour arrays count by their brightest channel."""
    values = values.max(axis=-1) if values.ndim == 3 else values
    mid = full_scale / 2
    if values.size == 0 or values.max() < mid:
        return values != 0
    return values >= mid


def soft_mask_share(values: np.ndarray, full_scale: float = 255.0) -> float:
    """Share of the non-black pixels that lie in the middle half of the range (0 for a label map or a clean mask)."""
    lit = values[values > 0]
    if lit.size == 0 or lit.max() < full_scale / 2:
        return 0.0
    middle = (lit >= full_scale / 4) & (lit < 3 * full_scale / 4)
    return float(middle.mean())


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
        image = _upright(image)
        values = displayed_mask_values(image)
        full_scale = _full_scale(image, values)
    share = soft_mask_share(values, full_scale)
    if share > SOFT_MASK_SHARE:
        warnings.warn(f"{path}: {share:.0%} of the mask's non-black pixels are mid-grey (between a quarter and three "
                      f"quarters of white), not a two-valued mask; binarised at mid-grey", SoftMaskWarning,
                      stacklevel=2)
    mask = binarise_mask(values, full_scale)
    return mask if hw is None else resize_mask(mask, hw)


def probe_image(path: PathLike, what: str = "image", verify: bool = False) -> tuple[int, int]:
    """(width, height) as displayed (EXIF orientation applied) from the file header, no pixel decode: ~0.1 ms per
    file, so thousands are checked at once.

    ``verify`` adds PIL's structural check (PNG chunk CRCs, truncation; ~3 ms for a 1.5 MB PNG), used by
    ``uasbench data check``; a corrupt file that passes the header check still fails in :func:`read_image`.
    """
    with _opened(path, what) as image:
        size = image.size
        if _header_orientation(image) in _TURNED:
            size = size[::-1]  # the displayed size, as read_image returns it
        if verify:
            image.verify()
    if size[0] <= 0 or size[1] <= 0:
        raise DataError(f"{path}: {what} has an empty size {size[0]}x{size[1]}")
    return size

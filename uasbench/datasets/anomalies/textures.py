"""Where the DRAEM-Perlin anomalies take their texture from.

* DTD when configured (as OneNIP: ``dtd_dir/images/*/*.jpg``, sorted; one picked uniformly per anomaly);
* the embedded tier (no download): textures scikit-image ships offline (brick, grass, gravel, moon,
  immunohistochemistry) plus procedural ones (colour Perlin noise, stripes, checkers, blobs) drawn from a fixed
  seed, so the set is the same on every machine.
"""

from __future__ import annotations

import functools
import glob
import math
from pathlib import Path
from typing import Callable, Sequence

import cv2
import numpy as np

from uasbench.datasets.imageio import read_image
from uasbench.errors import DataError

SKIMAGE_TEXTURES = ("brick", "grass", "gravel", "moon", "immunohistochemistry")
PROCEDURAL_SEED = 0
DTD_CACHE_SIZE = 64


def _to_rgb_square(image: np.ndarray, size: int) -> np.ndarray:
    """Central square crop, grey -> RGB, resized to ``size`` (bilinear)."""
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    height, width = image.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    square = np.ascontiguousarray(image[top:top + side, left:left + side, :3], dtype=np.uint8)
    return cv2.resize(square, (size, size), interpolation=cv2.INTER_LINEAR)


def _normalise(values: np.ndarray) -> np.ndarray:
    low, high = float(values.min()), float(values.max())
    if high <= low:
        return np.zeros(values.shape, np.uint8)
    return np.round(255 * (values - low) / (high - low)).astype(np.uint8)


def _perlin_colour(size: int, rng: np.random.Generator) -> np.ndarray:
    from uasbench.datasets.anomalies.perlin import perlin_noise

    channels = []
    for _ in range(3):  # two octaves per channel
        coarse = perlin_noise((size, size), (4, 4), rng)
        channels.append(_normalise(coarse + 0.5 * perlin_noise((size, size), (16, 16), rng)))
    return np.stack(channels, axis=-1)


def _two_colour(pattern: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Blend two random colours by a [0, 1] pattern."""
    first, second = rng.integers(0, 256, size=(2, 3)).astype(np.float32)
    return np.round(pattern[..., None] * first + (1 - pattern[..., None]) * second).astype(np.uint8)


def _stripes(size: int, rng: np.random.Generator) -> np.ndarray:
    angle, period = rng.uniform(0, math.pi), rng.uniform(size / 24, size / 6)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    phase = (xx * math.cos(angle) + yy * math.sin(angle)) * (2 * math.pi / period)
    return _two_colour(0.5 + 0.5 * np.sin(phase), rng)


def _checkers(size: int, rng: np.random.Generator) -> np.ndarray:
    cell = int(rng.integers(size // 16, size // 6 + 1))
    yy, xx = np.mgrid[0:size, 0:size]
    pattern = ((yy // cell + xx // cell) % 2).astype(np.float32)
    return _two_colour(pattern, rng)


def _blobs(size: int, rng: np.random.Generator) -> np.ndarray:
    from skimage.data import binary_blobs

    blobs = binary_blobs(length=size, blob_size_fraction=0.08, volume_fraction=0.4,
                         rng=int(rng.integers(2**31))).astype(np.float32)
    return _two_colour(cv2.GaussianBlur(blobs, (0, 0), sigmaX=max(size / 128, 0.5)), rng)


PROCEDURAL_TEXTURES: dict[str, Callable[[int, np.random.Generator], np.ndarray]] = {
    "perlin_colour": _perlin_colour, "stripes": _stripes, "checkers": _checkers, "blobs": _blobs,
}


def builtin_textures(size: int = 256) -> dict[str, np.ndarray]:
    """Name -> uint8 RGB (size, size, 3): skimage's offline textures, then the procedural ones (fixed seed)."""
    import skimage.data

    textures = {name: _to_rgb_square(getattr(skimage.data, name)(), size) for name in SKIMAGE_TEXTURES}
    rng = np.random.default_rng(PROCEDURAL_SEED)
    for name, make in PROCEDURAL_TEXTURES.items():
        textures[name] = make(size, rng)
    return textures


class TextureSource:
    """A fixed, ordered list of textures; :meth:`sample` picks one uniformly and resizes it (bilinear)."""

    def __init__(self, names: Sequence[str], load: Callable[[int], np.ndarray], kind: str):
        if not names:
            raise DataError(f"{kind}: texture source is empty")
        self.names = list(names)
        self.kind = kind
        self._load = load

    @classmethod
    def from_dtd(cls, dtd_dir: str | Path) -> "TextureSource":
        """DTD as OneNIP reads it: every ``images/<class>/*.jpg`` under ``dtd_dir``, sorted."""
        dtd_dir = Path(dtd_dir).expanduser()
        if not dtd_dir.is_dir():
            raise DataError(f"{dtd_dir}: DTD directory not found")
        paths = sorted(glob.glob(str(dtd_dir / "images" / "*" / "*.jpg")))
        if not paths:
            raise DataError(f"{dtd_dir}: no DTD textures found (expected images/<class>/*.jpg)")
        load = functools.lru_cache(maxsize=DTD_CACHE_SIZE)(lambda index: read_image(paths[index]))
        return cls(paths, load, f"dtd:{dtd_dir}")

    @classmethod
    def builtin(cls, size: int = 256) -> "TextureSource":
        """The embedded tier: scikit-image textures + procedural ones; no download."""
        textures = builtin_textures(size)
        arrays = list(textures.values())
        return cls(list(textures), lambda index: arrays[index], "builtin")

    def __len__(self) -> int:
        return len(self.names)

    def __repr__(self) -> str:
        return f"TextureSource({self.kind}, {len(self)} textures)"

    def sample(self, rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
        """uint8 RGB (H, W, 3): a uniformly chosen texture resized to ``shape`` (cv2 default bilinear, as OneNIP)."""
        texture = self._load(int(rng.integers(len(self.names))))
        height, width = shape
        return cv2.resize(texture, (width, height), interpolation=cv2.INTER_LINEAR)

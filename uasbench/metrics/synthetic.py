"""Deterministic synthetic evaluation data shaped like the MVTec AD test set, for the metrics benchmark.

15 categories with MVTec's test counts (1,725 images, 1,258 anomalous ~ 73 %), 256 x 256 maps. Masks
are blobs from thresholded smooth noise (several irregular regions, 0.2-8 % of the image); maps are
smooth background noise + a blurred copy of the mask of random strength + pixel noise, stored as
float16, so there are many tied scores as in real predictions files.
"""

from __future__ import annotations

from typing import Iterator

import cv2
import numpy as np

# (normal, anomalous) test images per MVTec AD category.
MVTEC_TEST_COUNTS: dict[str, tuple[int, int]] = {
    "bottle": (20, 63), "cable": (58, 92), "capsule": (23, 109), "carpet": (28, 89), "grid": (21, 57),
    "hazelnut": (40, 70), "leather": (32, 92), "metal_nut": (22, 93), "pill": (26, 141), "screw": (41, 119),
    "tile": (33, 84), "toothbrush": (12, 30), "transistor": (60, 40), "wood": (19, 60), "zipper": (32, 119),
}


def scaled_counts(scale: float) -> dict[str, tuple[int, int]]:
    """MVTec counts times ``scale`` (at least 2 normal and 2 anomalous images per category)."""
    if not scale > 0:
        raise ValueError(f"scale must be > 0, got {scale}")
    return {cat: (max(2, round(good * scale)), max(2, round(bad * scale)))
            for cat, (good, bad) in MVTEC_TEST_COUNTS.items()}


def synthetic_category(seed: int, n_normal: int, n_anomalous: int, size: int = 256
                       ) -> tuple[np.ndarray, np.ndarray]:
    """(maps float16 (N, size, size), masks bool) with the anomalous images first; same seed -> same data."""
    rng = np.random.default_rng(seed)
    n_images = n_normal + n_anomalous
    masks = np.zeros((n_images, size, size), dtype=bool)
    for index in range(n_anomalous):
        masks[index] = _blob_mask(rng, size)
    maps = np.empty((n_images, size, size), dtype=np.float16)
    for index in range(n_images):
        background = 0.35 * _smooth_noise(rng, size, cells=8)
        signal = 0.0
        if masks[index].any():
            blurred = cv2.GaussianBlur(masks[index].astype(np.float32), (0, 0), sigmaX=size / 64)
            signal = rng.uniform(0.2, 1.5) * blurred
        pixel_noise = rng.standard_normal((size, size), dtype=np.float32) * np.float32(0.15)
        maps[index] = background + signal + pixel_noise
    return maps, masks


def synthetic_dataset(scale: float = 1.0, seed: int = 0, size: int = 256
                      ) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
    """(category, maps, masks) for the 15 MVTec-like categories, generated one at a time."""
    for offset, (category, (good, bad)) in enumerate(scaled_counts(scale).items()):
        maps, masks = synthetic_category(seed * 1000 + offset, good, bad, size)
        yield category, maps, masks


def _smooth_noise(rng: np.random.Generator, size: int, cells: int) -> np.ndarray:
    """Zero-mean, unit-ish std noise, smooth at the scale of size / cells (bicubic upsampling)."""
    coarse = rng.standard_normal((cells, cells)).astype(np.float32)
    return cv2.resize(coarse, (size, size), interpolation=cv2.INTER_CUBIC)


def _blob_mask(rng: np.random.Generator, size: int) -> np.ndarray:
    """A few irregular blobs covering roughly 0.2-8 % of the image; never empty."""
    field = _smooth_noise(rng, size, cells=int(rng.integers(6, 14)))
    threshold = np.quantile(field[:: 8, :: 8], 1.0 - rng.uniform(0.002, 0.08))
    mask = field > threshold
    if not mask.any():
        y, x = np.unravel_index(int(np.argmax(field)), field.shape)
        mask[max(0, y - 2):y + 3, max(0, x - 2):x + 3] = True
    return mask

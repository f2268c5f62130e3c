"""Image-level scores derived from anomaly maps, as the methods' evaluators define them.

- ``max``: maximum of the map (MVTec evaluator, MetaUAS, PatchCore-style maps).
- ``avgpool<k>``: maximum of the k x k average-pooled map, stride 1, no padding (UniAD and OneNIP
  use ``avgpool16``).
"""

from __future__ import annotations

import re

import numpy as np

from uasbench.errors import MetricInputError
from uasbench.metrics.keys import decode_keys, encode_keys

IMAGE_SCORE_CHOICES = ("max", "avgpool16")
_AVGPOOL = re.compile(r"avgpool(\d+)")
_POOL_CHUNK_PIXELS = 1 << 22


def derive_image_scores(maps: np.ndarray, method: str) -> np.ndarray:
    """Image scores of (N, H, W) ``maps`` by ``method`` ("max" or "avgpool<k>", e.g. "avgpool16")."""
    if method == "max":
        return max_scores(maps)
    match = _AVGPOOL.fullmatch(method)
    if match:
        return avgpool_max_scores(maps, int(match.group(1)))
    raise MetricInputError(f"unknown image-score method {method!r}; use 'max' or 'avgpool<k>' (e.g. avgpool16)")


def max_scores(maps: np.ndarray) -> np.ndarray:
    """Per-image maximum, in the maps' dtype (via integer keys: several times faster than float16 max)."""
    maps = np.asarray(maps)
    return max_scores_from_keys(encode_keys(maps), maps.dtype)


def max_scores_from_keys(keys: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Per-image maximum from the order-preserving keys of the maps (see keys.py)."""
    return decode_keys(keys.reshape(keys.shape[0], -1).max(axis=1), dtype)


def avgpool_max_scores(maps: np.ndarray, kernel: int) -> np.ndarray:
    """Max over each map of its ``kernel`` x ``kernel`` mean filter (valid positions only), in float64.

    Uses integral images in float64, so the window means are exact to ~1e-12 relative, a few images
    at a time to keep memory small.
    """
    maps = np.asarray(maps)
    n_images, height, width = maps.shape
    if kernel < 1 or kernel > min(height, width):
        raise MetricInputError(f"avgpool kernel {kernel} does not fit maps of size {height}x{width}")
    per_chunk = max(1, _POOL_CHUNK_PIXELS // (height * width))
    out = np.empty(n_images, dtype=np.float64)
    for start in range(0, n_images, per_chunk):
        block = maps[start:start + per_chunk].astype(np.float64)
        integral = np.zeros((block.shape[0], height + 1, width + 1))
        np.cumsum(np.cumsum(block, axis=1), axis=2, out=integral[:, 1:, 1:])
        k = kernel
        window = integral[:, k:, k:] - integral[:, :-k, k:] - integral[:, k:, :-k] + integral[:, :-k, :-k]
        out[start:start + block.shape[0]] = window.reshape(block.shape[0], -1).max(axis=1) / (k * k)
    return out

"""Input checks for the metrics: every problem becomes a MetricInputError that says what is wrong."""

from __future__ import annotations

import warnings

import numpy as np

from uasbench.errors import MetricInputError


class MetricUndefinedWarning(UserWarning):
    """A metric is undefined for this input (e.g. no anomalous pixel) and is reported as NaN."""


def warn_undefined(metric: str, reason: str) -> float:
    """Warn that ``metric`` is undefined and return NaN, so no number is silently made up."""
    warnings.warn(f"{metric} is undefined: {reason}; reporting NaN", MetricUndefinedWarning, stacklevel=3)
    return float("nan")


def check_maps(anomaly_maps: object, name: str = "anomaly_maps") -> np.ndarray:
    """A real (N, H, W) array; float dtypes are kept (float16 stays compact), others become float64.

    Finiteness is checked separately on the order keys (``check_finite_keys``), which is much cheaper.
    """
    maps = np.asarray(anomaly_maps)
    if maps.ndim != 3:
        raise MetricInputError(f"{name} must have shape (N, H, W), got shape {maps.shape}")
    if maps.shape[0] == 0 or maps.size == 0:
        raise MetricInputError(f"{name} is empty (shape {maps.shape})")
    if maps.dtype.kind in "biu":
        maps = maps.astype(np.float64)
    elif maps.dtype.kind != "f" or maps.dtype.itemsize not in (2, 4, 8):
        raise MetricInputError(f"{name} must be a real float array, got dtype {maps.dtype}")
    return np.ascontiguousarray(maps)


def check_finite_keys(maps: np.ndarray, keys: np.ndarray, name: str = "anomaly_maps") -> None:
    """Raise if ``maps`` holds NaN/inf, using their order keys: -inf/+inf/NaN keys are the extreme ones,
    so per-image integer min/max (SIMD-fast) decide, and the slow float check runs only on failure."""
    from uasbench.metrics.keys import encode_keys

    low, high = encode_keys(np.array([-np.inf, np.inf], dtype=maps.dtype))
    flat = keys.reshape(keys.shape[0], -1)
    if (flat.min(axis=1) > low).all() and (flat.max(axis=1) < high).all():
        return
    _check_finite(maps.reshape(maps.shape[0], -1), name)


def check_masks(masks: object, shape: tuple[int, ...], name: str = "masks") -> np.ndarray:
    """A bool array of ``shape``; integer/float masks must hold only 0 and 1 (no silent thresholding)."""
    arr = np.asarray(masks)
    if arr.shape != tuple(shape):
        raise MetricInputError(f"{name} shape {arr.shape} does not match anomaly_maps shape {tuple(shape)}")
    return _as_binary(arr, name)


def check_image_scores(scores: object, n_images: int, name: str = "image_scores") -> np.ndarray:
    """A finite float64 vector with one score per image."""
    arr = np.asarray(scores)
    if arr.ndim != 1 or arr.shape[0] != n_images:
        raise MetricInputError(f"{name} must have shape ({n_images},), got {arr.shape}")
    if arr.dtype.kind not in "biuf":
        raise MetricInputError(f"{name} must be real numbers, got dtype {arr.dtype}")
    _check_finite(arr[:, None], name)
    return arr.astype(np.float64) if arr.dtype.kind != "f" else arr


def check_image_labels(labels: object, n_images: int, name: str = "image_labels") -> np.ndarray:
    """A bool vector with one 0/1 label per image."""
    arr = np.asarray(labels)
    if arr.ndim != 1 or arr.shape[0] != n_images:
        raise MetricInputError(f"{name} must have shape ({n_images},), got {arr.shape}")
    return _as_binary(arr, name)


def _as_binary(arr: np.ndarray, name: str) -> np.ndarray:
    if arr.dtype == np.bool_:
        return np.ascontiguousarray(arr)
    if arr.dtype.kind not in "iuf":
        raise MetricInputError(f"{name} must be bool or 0/1 numbers, got dtype {arr.dtype}")
    positive = arr == 1
    bad = ~(positive | (arr == 0))
    if bad.any():
        first = np.unravel_index(int(np.flatnonzero(bad.ravel())[0]), arr.shape)
        raise MetricInputError(f"{name} must be binary (0/1), but {int(bad.sum())} values are not, "
                               f"e.g. {arr[first]!r} at index {tuple(int(i) for i in first)}")
    return positive


def _check_finite(rows: np.ndarray, name: str) -> None:
    finite = np.isfinite(rows)
    if not finite.all():
        bad_rows = np.flatnonzero(~finite.all(axis=1))
        raise MetricInputError(f"{name} contains {int((~finite).sum())} NaN/inf values "
                               f"(first in item {int(bad_rows[0])}); fix the method output before evaluating")

"""Perlin noise and the DRAEM/OneNIP anomaly-region mask (OneNIP ``datasets/perlin.py`` + ``cutpaste.py`` PerlinPaste).

Mask recipe (official): per axis a lattice of 2^k cells, k uniform in {1..5}; gradient noise with the quintic
fade 6t^5-15t^4+10t^3 scaled by sqrt(2); rotated by U(-5°, 5°) (bilinear, zero border); thresholded at 0.5.
The official code does not check that the mask is non-empty; :func:`perlin_mask` redraws the whole mask
(new scales, gradients and angle) until it is, so it always returns at least one pixel (docs/deviations.md).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

MIN_SCALE_EXP, MAX_SCALE_EXP = 1, 5  # official: torch.randint(1, 6) -> 2^1 .. 2^5 cells per axis
THRESHOLD = 0.5
MAX_ROTATION_DEG = 5.0
MAX_ATTEMPTS = 64


def _fade(t: np.ndarray) -> np.ndarray:
    return t * t * t * (t * (t * 6.0 - 15.0) + 10.0)


def perlin_noise(shape: tuple[int, int], res: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """2-D gradient noise of ``shape`` with ``res`` lattice cells per axis (float64, zero on lattice points).

    Works for any shape: the lattice is laid over the next multiple of ``res`` and cropped (the official code
    needs shape divisible by res).
    """
    height, width = shape
    res_y, res_x = res
    cell_h, cell_w = math.ceil(height / res_y), math.ceil(width / res_x)
    angles = 2.0 * math.pi * rng.random((res_y + 1, res_x + 1))
    grad_y, grad_x = np.cos(angles), np.sin(angles)  # component 0 pairs with the row offset, as in DRAEM
    rows, cols = np.arange(height), np.arange(width)
    cell_r, cell_c = rows // cell_h, cols // cell_w
    fy = ((rows % cell_h) / cell_h)[:, None]
    fx = ((cols % cell_w) / cell_w)[None, :]

    def corner(dr: int, dc: int) -> np.ndarray:
        def spread(grad: np.ndarray) -> np.ndarray:  # lattice values -> per pixel (two 1-D gathers)
            return np.take(np.take(grad, cell_r + dr, axis=0), cell_c + dc, axis=1)

        return spread(grad_y) * (fy - dr) + spread(grad_x) * (fx - dc)

    ty, tx = _fade(fy), _fade(fx)
    # interpolate along rows first (left and right lattice columns), then along columns
    left = corner(0, 0) + ty * (corner(1, 0) - corner(0, 0))
    right = corner(0, 1) + ty * (corner(1, 1) - corner(0, 1))
    return math.sqrt(2.0) * (left + tx * (right - left))


def rotate_map(values: np.ndarray, angle_deg: float) -> np.ndarray:
    """Rotate about the centre, bilinear, zeros outside (imgaug ``Affine(rotate=...)`` defaults)."""
    height, width = values.shape
    matrix = cv2.getRotationMatrix2D(((width - 1) / 2.0, (height - 1) / 2.0), angle_deg, 1.0)
    return cv2.warpAffine(values.astype(np.float32), matrix, (width, height), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)


def draw_perlin_mask(shape: tuple[int, int], rng: np.random.Generator, min_scale_exp: int = MIN_SCALE_EXP,
                     max_scale_exp: int = MAX_SCALE_EXP, threshold: float = THRESHOLD,
                     max_rotation_deg: float = MAX_ROTATION_DEG) -> np.ndarray:
    """One official draw; may be empty."""
    scale_y = 2 ** int(rng.integers(min_scale_exp, max_scale_exp + 1))
    scale_x = 2 ** int(rng.integers(min_scale_exp, max_scale_exp + 1))
    noise = perlin_noise(shape, (scale_y, scale_x), rng)
    noise = rotate_map(noise, float(rng.uniform(-max_rotation_deg, max_rotation_deg)))
    return noise > threshold


def perlin_mask(shape: tuple[int, int], rng: np.random.Generator, min_scale_exp: int = MIN_SCALE_EXP,
                max_scale_exp: int = MAX_SCALE_EXP, threshold: float = THRESHOLD,
                max_rotation_deg: float = MAX_ROTATION_DEG, max_attempts: int = MAX_ATTEMPTS) -> np.ndarray:
    """bool (H, W) anomaly region, guaranteed non-empty.

    Empty draws are redrawn; if ``max_attempts`` draws are all empty (only possible for tiny shapes or extreme
    thresholds) the pixel of highest noise of a last draw is used, so the guarantee never depends on luck.
    """
    if len(shape) != 2 or min(shape) < 1:
        raise ValueError(f"perlin_mask: shape must be (H, W) with H, W >= 1, got {shape}")
    if not 1 <= max_attempts:
        raise ValueError("perlin_mask: max_attempts must be >= 1")
    for _ in range(max_attempts):
        mask = draw_perlin_mask(shape, rng, min_scale_exp, max_scale_exp, threshold, max_rotation_deg)
        if mask.any():
            return mask
    noise = perlin_noise(shape, (2 ** min_scale_exp, 2 ** min_scale_exp), rng)
    mask = np.zeros(shape, dtype=bool)
    mask[np.unravel_index(int(np.argmax(noise)), shape)] = True
    return mask

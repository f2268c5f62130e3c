"""CutPaste (normal patch and scar) as OneNIP uses it (``datasets/cutpaste.py``, from LilitYolyan/CutPaste).

Normal patch: area U(2 %, 15 %) of the image, aspect ratio from U[0.3, 1] or U[1, 3.3] (one range picked with
p=0.5), ColorJitter(0.4, 0.4, 0.4, 0.1), pasted at an independent random spot. Scar: width U{2..16}, length
U{10..25}, jittered, rotated U(-45°, 45°) (PIL, nearest, canvas expanded; the alpha of the rotated patch is
the footprint). The returned mask is exactly the pasted footprint: every pixel outside it is untouched.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image

AREA_RATIO = (0.02, 0.15)
ASPECT_RANGES = ((0.3, 1.0), (1.0, 3.3))
SCAR_WIDTH = (2, 16)
SCAR_LENGTH = (10, 25)
SCAR_ROTATION = (-45.0, 45.0)
JITTER = (0.4, 0.4, 0.4, 0.1)  # brightness, contrast, saturation, hue (torchvision ColorJitter)


def color_jitter(patch: np.ndarray, rng: np.random.Generator, strengths: tuple[float, ...] = JITTER) -> np.ndarray:
    """torchvision ColorJitter on a PIL image, its factors and op order drawn from ``rng`` (reproducible)."""
    import torchvision.transforms.functional as F

    brightness, contrast, saturation, hue = strengths
    factors = (rng.uniform(max(0.0, 1 - brightness), 1 + brightness),
               rng.uniform(max(0.0, 1 - contrast), 1 + contrast),
               rng.uniform(max(0.0, 1 - saturation), 1 + saturation),
               rng.uniform(-hue, hue))
    ops = (F.adjust_brightness, F.adjust_contrast, F.adjust_saturation, F.adjust_hue)
    image = Image.fromarray(patch)
    for index in rng.permutation(4):
        image = ops[index](image, float(factors[index]))
    return np.asarray(image).copy()


def crop_and_paste(image: np.ndarray, patch_w: int, patch_h: int, rng: np.random.Generator, jitter: bool = True,
                   rotation: tuple[float, float] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Copy a ``patch_w`` x ``patch_h`` patch of ``image`` to another random spot; (image, bool footprint mask)."""
    height, width = image.shape[:2]
    patch_w, patch_h = max(1, min(patch_w, width)), max(1, min(patch_h, height))
    left, top = int(rng.integers(0, width - patch_w + 1)), int(rng.integers(0, height - patch_h + 1))
    patch = image[top:top + patch_h, left:left + patch_w]
    if jitter:
        patch = color_jitter(patch, rng)
    alpha = np.ones(patch.shape[:2], dtype=bool)
    if rotation is not None:
        rotated = np.asarray(Image.fromarray(patch).convert("RGBA").rotate(rng.uniform(*rotation), expand=True))
        patch, alpha = rotated[..., :3], rotated[..., 3] > 0
    paste_left, paste_top = int(rng.integers(0, width - patch_w + 1)), int(rng.integers(0, height - patch_h + 1))
    # the expanded (rotated) canvas may reach past the border: clip it as PIL's paste does
    bottom, right = min(height, paste_top + patch.shape[0]), min(width, paste_left + patch.shape[1])
    footprint = alpha[:bottom - paste_top, :right - paste_left]
    out = image.copy()
    region = out[paste_top:bottom, paste_left:right]
    region[footprint] = patch[:bottom - paste_top, :right - paste_left][footprint]
    mask = np.zeros((height, width), dtype=bool)
    mask[paste_top:bottom, paste_left:right] = footprint
    return out, mask


def cutpaste_normal(image: np.ndarray, rng: np.random.Generator, jitter: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """CutPaste's rectangular patch: ``(image, mask)`` with a patch of random area and aspect ratio, colour-jittered
    unless ``jitter`` is False, pasted elsewhere."""
    height, width = image.shape[:2]
    area = rng.uniform(*AREA_RATIO) * height * width
    aspect = rng.uniform(*ASPECT_RANGES[int(rng.integers(len(ASPECT_RANGES)))])
    patch_w, patch_h = int(math.sqrt(area * aspect)), int(math.sqrt(area / aspect))
    return crop_and_paste(image, patch_w, patch_h, rng, jitter=jitter)


def cutpaste_scar(image: np.ndarray, rng: np.random.Generator, jitter: bool = True,
                  rotation: tuple[float, float] | None = SCAR_ROTATION) -> tuple[np.ndarray, np.ndarray]:
    """CutPaste's scar: ``(image, mask)`` with a thin, long patch, colour-jittered unless ``jitter`` is False and
    rotated by an angle drawn from ``rotation`` (None: not rotated), pasted elsewhere."""
    patch_w = int(rng.integers(SCAR_WIDTH[0], SCAR_WIDTH[1] + 1))
    patch_h = int(rng.integers(SCAR_LENGTH[0], SCAR_LENGTH[1] + 1))
    return crop_and_paste(image, patch_w, patch_h, rng, jitter=jitter, rotation=rotation)

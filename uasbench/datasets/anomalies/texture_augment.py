"""The 10 texture augmenters of DRAEM/OneNIP ``PerlinPaste``, 3 of which are applied (distinct, random order).

The official code uses imgaug (unmaintained since 2020, not a dependency); each augmenter is re-expressed with OpenCV /
PIL using imgaug's default parameters (read from imgaug ``augmenters/{contrast,color,arithmetic,pillike}.py``):
GammaContrast((0.5, 2.0), per_channel) · MultiplyAndAddToBrightness(mul=(0.8, 1.2), add=(-30, 30)) in a random
one of YCrCb/HSV/HLS/Lab/Luv/YUV, random order · pillike.EnhanceSharpness(factor (0, 2)) ·
AddToHueAndSaturation((-50, 50), per_channel) · Solarize(p=0.5, threshold (32, 128)) · Posterize(bits 1..8) ·
Fliplr(0.5) · Invert() · pillike.Autocontrast(cutoff 0..20 %) · pillike.Equalize().
"""

from __future__ import annotations

from typing import Callable

import cv2
import numpy as np
from PIL import Image, ImageEnhance, ImageOps

Augmenter = Callable[[np.ndarray, np.random.Generator], np.ndarray]
N_APPLIED = 3

# (to colour space, back to RGB, index of the brightness channel)
_BRIGHTNESS_SPACES = (
    (cv2.COLOR_RGB2YCrCb, cv2.COLOR_YCrCb2RGB, 0),
    (cv2.COLOR_RGB2HSV, cv2.COLOR_HSV2RGB, 2),
    (cv2.COLOR_RGB2HLS, cv2.COLOR_HLS2RGB, 1),
    (cv2.COLOR_RGB2Lab, cv2.COLOR_Lab2RGB, 0),
    (cv2.COLOR_RGB2Luv, cv2.COLOR_Luv2RGB, 0),
    (cv2.COLOR_RGB2YUV, cv2.COLOR_YUV2RGB, 0),
)


def _pil(image: np.ndarray, op: Callable[[Image.Image], Image.Image]) -> np.ndarray:
    return np.asarray(op(Image.fromarray(image))).copy()


def gamma_contrast(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """imgaug GammaContrast((0.5, 2.0), per_channel): an independent gamma per channel."""
    out = np.empty_like(image)
    levels = np.arange(256) / 255.0
    for c in range(image.shape[2]):
        lut = np.clip(np.round(255.0 * levels ** rng.uniform(0.5, 2.0)), 0, 255).astype(np.uint8)
        out[..., c] = lut[image[..., c]]
    return out


def multiply_and_add_brightness(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """imgaug MultiplyAndAddToBrightness: scale and shift the brightness channel of a random colour space, in a
    random order of the two."""
    to_space, to_rgb, channel = _BRIGHTNESS_SPACES[int(rng.integers(len(_BRIGHTNESS_SPACES)))]
    converted = cv2.cvtColor(image, to_space)
    values = converted[..., channel].astype(np.float32)
    multiply, add = rng.uniform(0.8, 1.2), float(rng.integers(-30, 31))
    values = (values * multiply + add) if rng.random() < 0.5 else ((values + add) * multiply)
    converted[..., channel] = np.clip(np.round(values), 0, 255).astype(np.uint8)
    return cv2.cvtColor(converted, to_rgb)


def enhance_sharpness(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """imgaug pillike.EnhanceSharpness: PIL sharpness with a factor in (0, 2) (below 1 blurs)."""
    factor = rng.uniform(0.0, 2.0)
    return _pil(image, lambda im: ImageEnhance.Sharpness(im).enhance(factor))


def add_hue_saturation(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """imgaug AddToHueAndSaturation((-50, 50), per_channel): one shift for hue, another for saturation."""
    hue_add, sat_add = (int(v) for v in rng.integers(-50, 51, size=2))  # per_channel: one value each
    hsv = cv2.cvtColor(image, cv2.COLOR_RGB2HSV).astype(np.int16)
    hsv[..., 0] = np.mod(hsv[..., 0] + int(hue_add / 255.0 * 180.0), 180)  # imgaug maps [-255, 255] to cv2 hue
    hsv[..., 1] = np.clip(hsv[..., 1] + sat_add, 0, 255)
    return cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2RGB)


def solarize(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """imgaug Solarize(p=0.5): with probability 0.5 invert the values above a threshold in [32, 128]."""
    if rng.random() >= 0.5:
        return image.copy()
    threshold = int(rng.integers(32, 129))
    return np.where(image >= threshold, 255 - image, image).astype(np.uint8)


def posterize(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """imgaug Posterize: keep the 1 to 8 most significant bits of every value."""
    bits = int(rng.integers(1, 9))
    return image & np.uint8((0xFF << (8 - bits)) & 0xFF)


def fliplr(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """imgaug Fliplr(0.5): a horizontal mirror with probability 0.5 (always a copy)."""
    return image[:, ::-1].copy() if rng.random() < 0.5 else image.copy()


def invert(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """imgaug Invert(): ``255 - image``; ``rng`` is unused but kept for the common augmenter signature."""
    return 255 - image


def autocontrast(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """imgaug pillike.Autocontrast: PIL autocontrast with a cutoff of 0 to 20 % at each end."""
    cutoff = int(rng.integers(0, 21))
    return _pil(image, lambda im: ImageOps.autocontrast(im, cutoff=cutoff))


def equalize(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """imgaug pillike.Equalize: PIL histogram equalisation (deterministic)."""
    return _pil(image, ImageOps.equalize)


TEXTURE_AUGMENTERS: tuple[Augmenter, ...] = (
    gamma_contrast, multiply_and_add_brightness, enhance_sharpness, add_hue_saturation, solarize, posterize,
    fliplr, invert, autocontrast, equalize,
)


def augment_texture(image: np.ndarray, rng: np.random.Generator, n: int = N_APPLIED) -> np.ndarray:
    """Apply ``n`` distinct augmenters, chosen and ordered at random (official: 3 of the 10)."""
    out = np.ascontiguousarray(image, dtype=np.uint8)
    for index in rng.choice(len(TEXTURE_AUGMENTERS), size=n, replace=False):
        out = TEXTURE_AUGMENTERS[int(index)](out, rng)
    return out

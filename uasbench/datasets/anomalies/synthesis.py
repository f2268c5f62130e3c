"""Synthetic anomalies for OneNIP/UniAD-style training (OneNIP ``OneNIPDataset``, ``cutpaste_style='hybrid'``).

Each call applies exactly one of: CutPaste (p = ``cutpaste_prob`` = 0.5; within it a normal patch or a scar with
p=0.5 each) or DRAEM-Perlin (1 - p): a texture, augmented by 3 of 10 augmenters, blended into a Perlin region as
``image·(1-m) + (1-β)·texture·m + β·image·m`` with β ~ U[0, 0.8), truncated to uint8 as ``np.uint8`` does.
All randomness comes from the ``numpy.random.Generator`` passed in (or the synthesizer's own, seeded), so a
seed reproduces the output on any machine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from uasbench.datasets.anomalies.cutpaste import cutpaste_normal, cutpaste_scar
from uasbench.datasets.anomalies.perlin import perlin_mask
from uasbench.datasets.anomalies.texture_augment import augment_texture
from uasbench.errors import DataError

if TYPE_CHECKING:
    from uasbench.datasets.anomalies.textures import TextureSource

BETA_MAX = 0.8
KINDS = ("cutpaste", "cutpaste_scar", "perlin")


@dataclass(frozen=True)
class SynthesisResult:
    """One synthesized anomaly: the edited image, exactly the pixels changed, and which synthesis made it."""

    image: np.ndarray  # uint8 (H, W, 3)
    mask: np.ndarray  # bool (H, W), the pixels the synthesis changed
    kind: str  # one of KINDS


def perlin_paste(image: np.ndarray, textures: "TextureSource", rng: np.random.Generator,
                 swap_texture_channels: bool = True, beta_max: float = BETA_MAX) -> tuple[np.ndarray, np.ndarray]:
    """DRAEM/OneNIP PerlinPaste. ``swap_texture_channels`` reproduces the official BGR texture (cv2.imread, never
    converted) blended into an RGB image."""
    height, width = image.shape[:2]
    texture = textures.sample(rng, (height, width))
    if swap_texture_channels:
        texture = np.ascontiguousarray(texture[..., ::-1])
    texture = augment_texture(texture, rng)
    mask = perlin_mask((height, width), rng)
    beta = rng.random() * beta_max
    return blend_texture(image, texture, mask, beta), mask


def blend_texture(image: np.ndarray, texture: np.ndarray, mask: np.ndarray, beta: float) -> np.ndarray:
    """``image·(1-m) + (1-β)·texture·m + β·image·m`` truncated to uint8 (as ``np.uint8`` in OneNIP).

    Outside the mask the formula is the image itself, so only masked pixels are computed (same values).
    """
    out = image.copy()
    blended = (1.0 - beta) * texture[mask].astype(np.float64) + beta * image[mask].astype(np.float64)
    out[mask] = np.clip(blended, 0, 255).astype(np.uint8)
    return out


class AnomalySynthesizer:
    """``synth(image, rng) -> (image_aug, mask)`` on uint8 RGB (H, W, 3); see the module docstring."""

    def __init__(self, texture_source: "TextureSource", cutpaste_prob: float = 0.5, seed: int | None = None,
                 swap_texture_channels: bool = True, beta_max: float = BETA_MAX):
        if not 0.0 <= cutpaste_prob <= 1.0:
            raise ValueError(f"cutpaste_prob must be in [0, 1], got {cutpaste_prob}")
        self.textures = texture_source
        self.cutpaste_prob = cutpaste_prob
        self.swap_texture_channels = swap_texture_channels
        self.beta_max = beta_max
        self.rng = np.random.default_rng(seed)

    def synthesize(self, image: np.ndarray, rng: np.random.Generator | None = None) -> SynthesisResult:
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise DataError(f"anomaly synthesis needs a uint8 (H, W, 3) image, got {image.dtype} {image.shape}")
        rng = self.rng if rng is None else rng
        if rng.random() < self.cutpaste_prob:
            if rng.random() < 0.5:
                return SynthesisResult(*cutpaste_normal(image, rng), "cutpaste")
            return SynthesisResult(*cutpaste_scar(image, rng), "cutpaste_scar")
        out, mask = perlin_paste(image, self.textures, rng, self.swap_texture_channels, self.beta_max)
        return SynthesisResult(out, mask, "perlin")

    def __call__(self, image: np.ndarray, rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
        result = self.synthesize(image, rng)
        return result.image, result.mask

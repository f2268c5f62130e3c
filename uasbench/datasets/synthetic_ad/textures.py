"""Texture categories of the synthetic benchmark: random views of the real photos scikit-image ships offline.

``skimage.data.brick/grass/gravel`` are 512 x 512 greyscale photographs bundled with the package (no download).
A normal image is a random crop, flip and mild photometric change of one photo, colourised with a fixed
per-category palette, so two normal images are never pixel-aligned but share the texture statistics.
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from uasbench.datasets.synthetic_ad.objects import ObjectModel, Params

# Dark, middle and light colours the photo's grey levels are mapped onto.
TEXTURE_PALETTES: dict[str, tuple[tuple[float, float, float], ...]] = {
    "brick": ((0.2, 0.08, 0.05), (0.6, 0.28, 0.18), (0.86, 0.8, 0.72)),
    "grass": ((0.03, 0.09, 0.02), (0.25, 0.48, 0.12), (0.72, 0.86, 0.45)),
    "gravel": ((0.09, 0.08, 0.07), (0.47, 0.44, 0.4), (0.92, 0.9, 0.85)),
}


@lru_cache(maxsize=None)
def texture_photo(name: str) -> np.ndarray:
    """The bundled photo as float32 in [0, 1], contrast-stretched between its 1st and 99th percentiles."""
    import skimage.data

    photo = getattr(skimage.data, name)().astype(np.float32)
    low, high = np.percentile(photo, (1, 99))
    return np.clip((photo - low) / (high - low), 0.0, 1.0)


def _sampler(name: str):
    def sample(rng: np.random.Generator, size: int) -> Params:
        side = texture_photo(name).shape[0]
        crop = int(rng.uniform(0.5, 0.7) * side)
        return {"name": name, "crop": crop, "top": int(rng.integers(side - crop + 1)),
                "left": int(rng.integers(side - crop + 1)), "flip_x": bool(rng.integers(2)),
                "flip_y": bool(rng.integers(2)), "gain": rng.uniform(0.92, 1.08), "contrast": rng.uniform(0.9, 1.1),
                "tint": rng.uniform(0.96, 1.04, 3), "noise_seed": int(rng.integers(2 ** 32))}
    return sample


def render_texture(params: Params, size: int) -> tuple[np.ndarray, np.ndarray]:
    """The view described by ``params``; every pixel is surface a defect may touch."""
    top, left, crop = params["top"], params["left"], params["crop"]
    grey = texture_photo(params["name"])[top:top + crop, left:left + crop]
    grey = cv2.resize(grey, (size, size), interpolation=cv2.INTER_AREA)
    if params["flip_x"]:
        grey = grey[:, ::-1]
    if params["flip_y"]:
        grey = grey[::-1]
    grey = np.clip((grey - 0.5) * params["contrast"] + 0.5, 0.0, 1.0)
    palette = np.asarray(TEXTURE_PALETTES[params["name"]], np.float32)
    image = np.stack([np.interp(grey, (0.0, 0.5, 1.0), palette[:, c]) for c in range(3)], -1).astype(np.float32)
    noise = np.random.default_rng(params["noise_seed"]).normal(0.0, 0.008, image.shape).astype(np.float32)
    image = image * params["gain"] * params["tint"].astype(np.float32) + noise
    return np.clip(image, 0.0, 1.0), np.ones((size, size), np.float32)


def texture_model(name: str) -> ObjectModel:
    """A texture category in the same interface as the rendered objects (no structural defects)."""
    if name not in TEXTURE_PALETTES:
        raise KeyError(name)
    return ObjectModel(_sampler(name), render_texture, {})

"""Each method's own image preprocessing, declared on its class (like timm's ``pretrained_cfg``) and applied here.

A method declares a :class:`Preprocessing` (its official code's resampler and normalisation); the loaders resize
every image with :func:`resize_rgb` under the resampler :func:`resolve_resample` picks: a config's (or a run's /
training entry's) ``resample`` key, or the method's own when it is ``official`` (the default).

The resamplers reproduce the official library calls (tests/unit/test_preprocessing.py checks each against them):

* ``cv2-linear``: ``cv2.resize(..., INTER_LINEAR)``: half-pixel centres, no antialiasing when shrinking.
* ``kornia-bilinear``: ``kornia.augmentation.Resize`` with its defaults (bilinear, ``align_corners=True``, no
  antialiasing), as MetaUAS ``utils/geometry.py``; computed with ``torch.nn.functional.interpolate``.
* ``pil-bilinear`` / ``pil-bicubic``: PIL ``Image.resize`` (what torchvision's ``Resize`` calls on a PIL image),
  antialiased when shrinking: UniAD/OneNIP and PatchCore (bilinear), open_clip's transform (bicubic).

The image is resized to the square ``size`` directly (no shorter-side resize and centre crop): the maps must cover
the whole image the ground truth covers (docs/deviations.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import cv2
import numpy as np
from PIL import Image

from uasbench.errors import ConfigError

OFFICIAL = "official"


def _cv2_linear(rgb: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    return cv2.resize(rgb, (hw[1], hw[0]), interpolation=cv2.INTER_LINEAR)


def _pil(resample: Image.Resampling) -> Callable[[np.ndarray, tuple[int, int]], np.ndarray]:
    def resize(rgb: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
        return np.asarray(Image.fromarray(rgb).resize((hw[1], hw[0]), resample=resample))
    return resize


def _kornia_bilinear(rgb: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    import torch
    import torch.nn.functional as F

    image = torch.from_numpy(rgb.astype(np.float64)).permute(2, 0, 1)[None]
    resized = F.interpolate(image, size=hw, mode="bilinear", align_corners=True, antialias=False)
    return resized[0].permute(1, 2, 0).round().clamp(0, 255).to(torch.uint8).numpy()


#: name -> function (uint8 RGB (H, W, 3), target (h, w)) -> uint8 RGB (h, w, 3)
RESAMPLERS: dict[str, Callable[[np.ndarray, tuple[int, int]], np.ndarray]] = {
    "cv2-linear": _cv2_linear,
    "kornia-bilinear": _kornia_bilinear,
    "pil-bilinear": _pil(Image.Resampling.BILINEAR),
    "pil-bicubic": _pil(Image.Resampling.BICUBIC),
}


@dataclass(frozen=True)
class Preprocessing:
    """How a method's official code resizes an image before its network: the resampler (a RESAMPLERS name).

    Normalisation is not repeated here: the backbone preset (``uasbench.backbones.registry``, its ``mean``/``std``)
    or the CLIP tag's ``preprocess_cfg`` declares it, and the network applies it inside.
    """

    resample: str

    def __post_init__(self) -> None:
        if self.resample not in RESAMPLERS:
            raise ValueError(f"unknown resampler {self.resample!r}; known: {', '.join(RESAMPLERS)}")


#: a method class that declares nothing is resized as the harness always did
DEFAULT_PREPROCESSING = Preprocessing(resample="cv2-linear")


def resize_rgb(rgb: np.ndarray, size: int | tuple[int, int], resample: str = "cv2-linear") -> np.ndarray:
    """uint8 RGB resized to ``size`` (an int means square) with the resampler ``resample``; same size: unchanged."""
    hw = (size, size) if isinstance(size, (int, np.integer)) else (int(size[0]), int(size[1]))
    if rgb.shape[:2] == hw:
        return rgb
    if resample not in RESAMPLERS:
        raise ConfigError(f"resample = {resample!r}: unknown; choose {OFFICIAL!r} or one of {', '.join(RESAMPLERS)}")
    return RESAMPLERS[resample](rgb, hw)


def method_preprocessing(method: Any) -> Preprocessing:
    """The :class:`Preprocessing` a method (class or instance) declares, else :data:`DEFAULT_PREPROCESSING`."""
    return getattr(method, "preprocessing", None) or DEFAULT_PREPROCESSING


def check_resample(choice: Any, where: str) -> None:
    """A config's ``resample`` value must be ``official`` or a RESAMPLERS name; ``where`` names the key."""
    if choice != OFFICIAL and choice not in RESAMPLERS:
        raise ConfigError(f"{where} = {choice!r}: choose {OFFICIAL!r} (the method's own) or one of "
                          f"{', '.join(RESAMPLERS)}")


def resolve_resample(method: Any, config: dict[str, Any], entry: dict[str, Any] | None = None) -> str:
    """The resampler a run (or training entry) uses: its ``resample`` key, else the config's, else ``official``,
    which is the method's own :class:`Preprocessing`."""
    choice = (entry or {}).get("resample") or config.get("resample") or OFFICIAL
    check_resample(choice, "resample")
    return method_preprocessing(method).resample if choice == OFFICIAL else choice

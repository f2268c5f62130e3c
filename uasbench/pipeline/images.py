"""Load a list of samples into the tensors methods take: RGB float (N, 3, S, S) in [0, 1] and bool masks (N, S, S)."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch


def load_images(samples: Sequence, size: int, resample: str = "cv2-linear") -> torch.Tensor:
    """The samples' images resized to ``size`` with ``resample`` (a method's resampler) as float (N, 3, S, S) in
    [0, 1]."""
    from uasbench.datasets import read_image

    arr = np.stack([read_image(s.image_path, size, resample) for s in samples])
    return torch.from_numpy(arr).permute(0, 3, 1, 2).float().div_(255.0)


def load_masks(samples: Sequence, size: int) -> np.ndarray:
    """The samples' masks at ``size`` as bool (N, S, S); ``read_mask`` decides for a sample without a mask file."""
    from uasbench.datasets import read_mask

    return np.stack([read_mask(s.mask_path, (size, size), s.label) for s in samples]).astype(bool)

"""Ground-truth regions for PRO: 8-connected components per image, as every reference implementation uses.

Only the positive pixels matter for PRO, so we return their region ids (in C order, aligned with
``scores[masks]``) instead of a full label volume, which would cost 4 bytes per pixel.
"""

from __future__ import annotations

import cv2
import numpy as np


def positive_pixel_regions(masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Region id of every positive pixel of the (N, H, W) bool ``masks`` and the size of every region.

    Regions never span images (each image is labelled separately); ids are 0-based and unique over the
    whole stack, so ``sizes[ids]`` is the size of the region each positive pixel belongs to.
    """
    ids: list[np.ndarray] = []
    offset = 0
    anomalous = np.flatnonzero(masks.reshape(masks.shape[0], -1).any(axis=1))
    for index in anomalous:
        mask = np.ascontiguousarray(masks[index])
        n_labels, labels = cv2.connectedComponents(mask.view(np.uint8), connectivity=8, ltype=cv2.CV_32S)
        ids.append(labels[mask] + np.int32(offset - 1))  # label 0 is the background
        offset += n_labels - 1
    region_ids = np.concatenate(ids).astype(np.int64, copy=False) if ids else np.zeros(0, np.int64)
    sizes = np.bincount(region_ids, minlength=offset)
    return region_ids, sizes

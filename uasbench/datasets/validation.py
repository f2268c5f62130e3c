"""Up-front check of every file a loader listed: readable image, readable mask, mask size == image size.

Only file headers are read (PIL ``open``, no pixel decode), so a full benchmark is checked in about a second;
``deep`` adds PIL's ``verify`` (chunk CRCs, truncation), which reads every byte and is left to
``uasbench data check``. Every problem is collected and reported in one DataError that names the files.
"""

from __future__ import annotations

from typing import Sequence

from tqdm import tqdm

from uasbench.datasets.folder import raise_problems
from uasbench.datasets.imageio import probe_image
from uasbench.datasets.sample import Sample
from uasbench.errors import DataError

PROGRESS_MIN_FILES = 500  # below this a bar is noise


def sample_problems(sample: Sample, deep: bool = False) -> list[str]:
    """Problems of one sample, each naming the file; empty when the sample is usable."""
    try:
        image_size = probe_image(sample.image_path, "image", verify=deep)
    except DataError as err:
        return [str(err)]
    if sample.mask_path is None:
        return []
    try:
        mask_size = probe_image(sample.mask_path, "mask", verify=deep)
    except DataError as err:
        return [str(err)]
    if mask_size != image_size:
        return [f"{sample.mask_path}: mask size {mask_size[0]}x{mask_size[1]} does not match image "
                f"{sample.image_path} size {image_size[0]}x{image_size[1]}"]
    return []


def validate_samples(samples: Sequence[Sample], context: str = "dataset", deep: bool = False) -> None:
    """Raise one DataError listing every unreadable file and every image/mask size mismatch."""
    problems: list[str] = []
    bar = tqdm(samples, desc=f"checking {context}", unit="img", disable=len(samples) < PROGRESS_MIN_FILES or None,
               leave=False)
    for sample in bar:
        problems += sample_problems(sample, deep)
    raise_problems(problems, context)

"""Up-front check of every file a loader listed: readable image, readable mask, mask size == image size.

Only file headers are read (PIL ``open``, no pixel decode), so a full benchmark is checked in about a second;
``deep`` adds PIL's ``verify`` (chunk CRCs, truncation), which reads every byte, and the search for masks
without an image; both are left to ``uasbench data check``. Every problem is collected and reported in one
DataError that names the files.
"""

from __future__ import annotations

from typing import Sequence

from tqdm import tqdm

from uasbench.datasets.benchmarks.folder import raise_problems
from uasbench.datasets.benchmarks.sample import Sample, is_image_file
from uasbench.datasets.imageio import probe_image
from uasbench.errors import DataError
from uasbench.predictions import category_name_problem

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


def category_name_problems(samples: Sequence[Sample]) -> list[str]:
    """Category names become file names (``<category>.npz``) and MLflow keys: a folder such as ``my parts`` is
    refused by its path here, before any model runs, instead of after the predictions are computed."""
    problems = []
    for category in sorted({s.category for s in samples}):
        problem = category_name_problem(category)
        if problem:
            image = next(s.image_path for s in samples if s.category == category)
            folder = next((p for p in image.parents if p.name == category), image)
            problems.append(f"{folder}: {problem}; rename the folder")
    return problems


def orphan_masks(samples: Sequence[Sample]) -> list[str]:
    """Masks under ``<category>/ground_truth/<defect>/`` (MVTec-style layouts) that no test image pairs with: a
    renamed or deleted image would otherwise drop its defect from the benchmark without a word."""
    used = {s.mask_path for s in samples if s.mask_path is not None}
    category_dirs = {s.image_path.parents[2] for s in samples if s.split == "test" and len(s.image_path.parents) > 2}
    problems = []
    for category_dir in sorted(category_dirs):
        ground_truth = category_dir / "ground_truth"
        defect_dirs = sorted(d for d in ground_truth.iterdir() if d.is_dir()) if ground_truth.is_dir() else []
        for defect_dir in defect_dirs:
            images_dir = category_dir / "test" / defect_dir.name
            problems += [f"{mask}: mask without a matching test image (none in {images_dir})"
                         for mask in sorted(defect_dir.iterdir()) if is_image_file(mask) and mask not in used]
    return problems


def validate_samples(samples: Sequence[Sample], context: str = "dataset", deep: bool = False) -> None:
    """Raise one DataError listing every unreadable file and every image/mask size mismatch (``deep``: also every
    mask no image uses)."""
    problems = category_name_problems(samples)
    bar = tqdm(samples, desc=f"checking {context}", unit="img", disable=len(samples) < PROGRESS_MIN_FILES or None,
               leave=False)
    for sample in bar:
        problems += sample_problems(sample, deep)
    if deep:
        problems += orphan_masks(samples)
    raise_problems(problems, context)

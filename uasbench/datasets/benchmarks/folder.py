"""Any folder in the MVTec layout: ``<cat>/train/<good>/``, ``<cat>/test/{<good>,<defect>}/``,
``<cat>/ground_truth/<defect>/``.

MVTec AD, GoodsAD, BTAD and user folders differ only in the name of the normal folder and in how a mask file is
named after its image, so one scanner takes a :class:`LayoutSpec`. Structural problems (missing root, empty
category, missing mask) are collected and raised together, each naming the path.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from uasbench.datasets.benchmarks.sample import GOOD, IMAGE_EXTENSIONS, Sample, is_image_file, unread_image_extensions
from uasbench.errors import DataError, echo

MAX_LISTED_PROBLEMS = 20


@dataclass(frozen=True)
class LayoutSpec:
    """How one MVTec-style dataset names things.

    ``mask_names`` are templates tried in order, ``{stem}`` being the image file name without its extension.
    """

    name: str
    good_dir: str = GOOD
    mask_names: tuple[str, ...] = ("{stem}_mask.png",)
    mask_hint: str = "{stem}_mask.png"  # what an error message says is expected


FOLDER = LayoutSpec("folder", mask_names=("{stem}_mask.png", "{stem}.png")
                    + tuple(f"{{stem}}{suffix}{ext}" for suffix in ("_mask", "") for ext in IMAGE_EXTENSIONS
                            if ext != ".png"),
                    mask_hint="{stem}_mask.png or {stem}.png")


def raise_problems(problems: list[str], context: str) -> None:
    """One DataError listing every problem (first ones in full), so a user fixes a folder in one pass."""
    if not problems:
        return
    shown = "\n  ".join(problems[:MAX_LISTED_PROBLEMS])
    more = f"\n  ... and {len(problems) - MAX_LISTED_PROBLEMS} more" if len(problems) > MAX_LISTED_PROBLEMS else ""
    head = problems[0] if len(problems) == 1 else f"{len(problems)} problems in {context}:\n  {shown}{more}"
    raise DataError(head)


def check_root(root: str | Path) -> Path:
    """The root as a Path, or a DataError when it is missing or not a directory (instead of an empty dataset)."""
    root = Path(root).expanduser()
    if not root.exists():
        raise DataError(f"{root}: dataset root not found")
    if not root.is_dir():
        raise DataError(f"{root}: dataset root is not a directory")
    return root


def list_category_dirs(root: Path) -> list[str]:
    """Sub-directories of the root, hidden and ``__MACOSX``-style ones excluded."""
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))


def select_categories(available: list[str], requested: list[str] | None, where: Path) -> list[str]:
    """``requested`` (deduplicated, sorted) or every available category; an unknown name is a DataError that
    lists the available ones."""
    if not available:
        raise DataError(f"{where}: no category folders found")
    if requested is None:
        return available
    unknown = [c for c in requested if c not in available]
    if unknown:
        raise DataError(f"{where}: category {', '.join(map(echo, unknown))} not found "
                        f"(available: {', '.join(available)})")
    return sorted(dict.fromkeys(requested))


def _images_in(directory: Path, problems: list[str]) -> list[Path]:
    """The image files of a folder; a broken link or an image in a format not read (e.g. an animated ``.gif``) is a
    problem naming the file, since skipping it would silently drop a sample."""
    if not directory.is_dir():
        return []
    images = []
    for path in sorted(directory.iterdir()):
        if path.name.startswith("."):
            continue
        if is_image_file(path):
            images.append(path)
        elif path.is_symlink() and not path.exists():
            problems.append(f"{path}: broken symbolic link (its target {os.readlink(path)} does not exist)")
        elif path.suffix.lower() in unread_image_extensions() and path.is_file():
            problems.append(f"{path}: {path.suffix} images are not read (only {', '.join(IMAGE_EXTENSIONS)}); "
                            "convert it or move it out of the folder")
    return images


def _mask_index(directory: Path) -> dict[str, Path]:
    """Lower-cased file name -> path, so ``.PNG``/``.png`` both match; built once per defect folder."""
    if not directory.is_dir():
        return {}
    return {p.name.lower(): p for p in directory.iterdir() if p.is_file()}


def _resolve_mask(image: Path, index: dict[str, Path], spec: LayoutSpec) -> Path | None:
    for template in spec.mask_names:
        hit = index.get(template.format(stem=image.stem).lower())
        if hit is not None:
            return hit
    return None


def _scan_train(cat_dir: Path, category: str, spec: LayoutSpec, problems: list[str]) -> list[Sample]:
    good = cat_dir / "train" / spec.good_dir
    images = _images_in(good, problems)
    if not images:
        problems.append(f"{good}: category '{category}' has no train images (empty or missing folder)")
    return [Sample(p, None, 0, category, GOOD, "train") for p in images]


def _scan_test(cat_dir: Path, category: str, spec: LayoutSpec, problems: list[str]) -> list[Sample]:
    test_dir = cat_dir / "test"
    samples: list[Sample] = []
    type_dirs = sorted(p for p in test_dir.iterdir() if p.is_dir()) if test_dir.is_dir() else []
    for type_dir in type_dirs:
        images = _images_in(type_dir, problems)
        if type_dir.name == spec.good_dir:
            samples += [Sample(p, None, 0, category, GOOD, "test") for p in images]
            continue
        gt_dir = cat_dir / "ground_truth" / type_dir.name
        index = _mask_index(gt_dir)
        if images and not gt_dir.is_dir():
            problems.append(f"{gt_dir}: missing mask folder for the {len(images)} images of {type_dir}")
            samples += [Sample(p, None, 1, category, type_dir.name, "test") for p in images]
            continue
        for image in images:
            mask = _resolve_mask(image, index, spec)
            if mask is None:
                expected = spec.mask_hint.format(stem=image.stem)
                problems.append(f"{image}: missing mask (expected {expected} in {gt_dir})")
            samples.append(Sample(image, mask, 1, category, type_dir.name, "test"))
    if not samples:
        problems.append(f"{test_dir}: category '{category}' has no test images (empty or missing folder)")
    return samples


def scan_mvtec_layout(root: str | Path, spec: LayoutSpec, splits: tuple[str, ...],
                      categories: list[str] | None = None) -> list[Sample]:
    """All samples of the requested splits and categories (unsorted); raises DataError on structural problems."""
    root = check_root(root)
    chosen = select_categories(list_category_dirs(root), categories, root)
    problems: list[str] = []
    samples: list[Sample] = []
    for category in chosen:
        cat_dir = root / category
        if "train" in splits:
            samples += _scan_train(cat_dir, category, spec, problems)
        if "test" in splits:
            samples += _scan_test(cat_dir, category, spec, problems)
    raise_problems(problems, f"{spec.name} root {root}")
    return samples

"""PNG contact sheets to eyeball generated data: anomaly benchmarks, change pairs, anomaly synthesis.

Every item is a row of panels (e.g. prompt | query | mask); masks are drawn as a translucent red fill with a
red contour so a person can check that the label sits exactly on the change. Items are laid out in a grid
with a title strip on top and a caption above each item. Drawing uses OpenCV only (no display needed), imported
by the drawing functions (``uasbench --help`` lists the preview kinds without loading it, nor numpy).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

import numpy as np

from uasbench.datasets import PREVIEW_KINDS
from uasbench.errors import DataError

MARGIN, GAP, GROUP_GAP, HEADER, CAPTION = 8, 4, 12, 20, 16
RED = (255, 0, 0)


# --------------------------------------------------------------------------------------------- drawing
def overlay_mask(image: np.ndarray, mask: np.ndarray, alpha: float = 0.35) -> np.ndarray:
    """RGB uint8 ``image`` with ``mask`` blended in red and outlined (1 px contour)."""
    import cv2

    out = image.copy()
    mask = mask.astype(bool)
    if mask.any():
        out[mask] = ((1 - alpha) * out[mask] + alpha * np.array(RED)).astype(np.uint8)
        contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
        cv2.drawContours(out, contours, -1, RED, 1)
    return out


def mask_panel(mask: np.ndarray) -> np.ndarray:
    """A binary mask as a white-on-black RGB panel."""
    return np.repeat((mask.astype(bool) * 255).astype(np.uint8)[:, :, None], 3, axis=2)


def grid_size(n_items: int, n_columns: int, cell: int, items_per_row: int) -> tuple[int, int]:
    """(height, width) in pixels of the sheet ``compose_grid`` draws."""
    rows = math.ceil(n_items / items_per_row)
    group_width = n_columns * cell + (n_columns - 1) * GAP
    width = 2 * MARGIN + items_per_row * group_width + (items_per_row - 1) * GROUP_GAP
    height = 2 * MARGIN + HEADER + rows * (CAPTION + cell) + (rows - 1) * GAP
    return height, width


def default_items_per_row(n_items: int, n_columns: int) -> int:
    """Roughly square sheets: about sqrt(n / columns) items side by side."""
    return max(1, min(n_items, math.ceil(math.sqrt(n_items / n_columns))))


def compose_grid(items: Sequence[Sequence[np.ndarray]], column_titles: Sequence[str], captions: Sequence[str],
                 cell: int = 128, items_per_row: int | None = None) -> np.ndarray:
    """Lay out ``items`` (each a list of RGB uint8 panels, resized to ``cell``²) into one RGB uint8 sheet."""
    import cv2

    if not items:
        raise DataError("nothing to preview: no items")
    n_columns = len(column_titles)
    per_row = items_per_row or default_items_per_row(len(items), n_columns)
    height, width = grid_size(len(items), n_columns, cell, per_row)
    sheet = np.full((height, width, 3), 255, np.uint8)
    group_width = n_columns * cell + (n_columns - 1) * GAP
    for g in range(min(per_row, len(items))):
        for c, title in enumerate(column_titles):
            x = MARGIN + g * (group_width + GROUP_GAP) + c * (cell + GAP)
            _text(sheet, title, x + 2, MARGIN + HEADER - 6, 0.45)
    for i, (panels, caption) in enumerate(zip(items, captions)):
        row, g = divmod(i, per_row)
        top = MARGIN + HEADER + row * (CAPTION + cell + GAP)
        left = MARGIN + g * (group_width + GROUP_GAP)
        _text(sheet, caption, left + 2, top + CAPTION - 4, 0.38)
        for c, panel in enumerate(panels):
            panel = _as_rgb_uint8(panel)
            if panel.shape[:2] != (cell, cell):
                panel = cv2.resize(panel, (cell, cell), interpolation=cv2.INTER_AREA)
            x = left + c * (cell + GAP)
            sheet[top + CAPTION:top + CAPTION + cell, x:x + cell] = panel
    return sheet


def _text(sheet: np.ndarray, text: str, x: int, y: int, scale: float) -> None:
    import cv2

    cv2.putText(sheet, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 1, cv2.LINE_AA)


def _as_rgb_uint8(image: np.ndarray) -> np.ndarray:
    if image.dtype != np.uint8:
        image = (np.clip(image, 0.0, 1.0) * 255).round().astype(np.uint8)
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    return image


def save_png(path: str | Path, sheet_rgb: np.ndarray) -> None:
    """Write atomically; the temporary file keeps the .png suffix so OpenCV picks the encoder."""
    import cv2

    from uasbench.io import atomic_path

    with atomic_path(path, suffix=".png") as tmp:
        if not cv2.imwrite(str(tmp), cv2.cvtColor(sheet_rgb, cv2.COLOR_RGB2BGR)):
            raise DataError(f"OpenCV could not write {path}")


# --------------------------------------------------------------------------------------------- the three sheets
def change_pair_items(root: str | Path, n: int, seed: int, augmented: bool = False
                      ) -> tuple[list[list[np.ndarray]], list[str], list[str]]:
    """prompt | query with the mask outlined | mask, for ``n`` seeded pairs of both splits.

    ``augmented`` shows training items instead (train split, CYWS augmentation drawn with ``seed``).
    """
    from uasbench.datasets.change_pairs.dataset import ChangePairDataset, load_pair_arrays, read_manifest

    if augmented:
        data = ChangePairDataset(root, split="train", augment=True, seed=seed)
        picked = sorted(np.random.default_rng(seed).choice(len(data), size=min(n, len(data)), replace=False))
        triples = [[t.permute(1, 2, 0).numpy() for t in data[int(i)]] for i in picked]
        chosen = [data.rows[i] for i in picked]
        prompts, queries = [_as_rgb_uint8(t[0]) for t in triples], [_as_rgb_uint8(t[1]) for t in triples]
        masks = [t[2][:, :, 0] > 0.5 for t in triples]
    else:
        rows = read_manifest(root)["pairs"]
        picked = sorted(np.random.default_rng(seed).choice(len(rows), size=min(n, len(rows)), replace=False))
        chosen = [rows[i] for i in picked]
        arrays = load_pair_arrays(root, chosen)
        prompts, queries, masks = list(arrays["prompt"]), list(arrays["query"]), list(arrays["mask"])
    items = [[p, overlay_mask(q, m, alpha=0.0), mask_panel(m)] for p, q, m in zip(prompts, queries, masks)]
    captions = [f"#{row['id']} {row['change']} ({'augmented' if augmented else row['split']})" for row in chosen]
    return items, ["prompt", "query", "change mask"], captions


def anomaly_benchmark_items(root: str | Path, n: int, seed: int, dataset: str = "mvtec", size: int = 256
                            ) -> tuple[list[list[np.ndarray]], list[str], list[str]]:
    """Test images | ground truth overlaid, about 3/4 anomalous and 1/4 good, drawn with ``seed``."""
    from uasbench.datasets import load_dataset
    from uasbench.datasets.imageio import read_image, read_mask

    test = load_dataset(dataset, root, split="test")
    if not test:
        raise DataError(f"{root}: no test samples found for dataset {dataset!r}")
    rng = np.random.default_rng(seed)
    bad = [s for s in test if s.label == 1]
    good = [s for s in test if s.label == 0]
    n_bad = min(len(bad), n - min(len(good), n // 4))
    chosen = [bad[i] for i in rng.choice(len(bad), n_bad, replace=False)] if n_bad else []
    n_good = min(len(good), n - len(chosen))
    chosen += [good[i] for i in rng.choice(len(good), n_good, replace=False)] if n_good else []
    items, captions = [], []
    for sample in chosen:
        image = _as_rgb_uint8(read_image(sample.image_path, size))
        mask = read_mask(sample.mask_path, size, sample.label)
        items.append([image, overlay_mask(image, mask)])
        captions.append(f"{sample.category}/{sample.defect_type}")
    return items, ["test image", "ground truth"], captions


def anomaly_synthesis_items(root: str | Path | None, n: int, seed: int, dataset: str = "mvtec", size: int = 256
                            ) -> tuple[list[list[np.ndarray]], list[str], list[str]]:
    """OneNIP's synthesizer on normal train images of ``root`` (or skimage photos): image | augmented | mask."""
    from uasbench.datasets.anomalies.synthesis import AnomalySynthesizer
    from uasbench.datasets.anomalies.textures import TextureSource

    rng = np.random.default_rng(seed)
    images, captions = _normal_images(root, n, rng, dataset, size)
    synthesizer = AnomalySynthesizer(TextureSource.builtin())
    items = []
    for image in images:
        augmented, mask = synthesizer(image, rng)
        items.append([image, overlay_mask(_as_rgb_uint8(augmented), mask, alpha=0.0), mask_panel(mask)])
    return items, ["normal image", "synthesized", "anomaly mask"], captions


def _normal_images(root: str | Path | None, n: int, rng: np.random.Generator, dataset: str, size: int
                   ) -> tuple[list[np.ndarray], list[str]]:
    if root is None:
        from uasbench.datasets.change_pairs.sources import PHOTO_NAMES, load_photos, random_crop

        photos = load_photos(max(256, 2 * size))
        picks = rng.integers(len(photos), size=n)
        return [random_crop(photos[k], size, rng, min_frac=0.6) for k in picks], [PHOTO_NAMES[k] for k in picks]
    from uasbench.datasets import load_dataset
    from uasbench.datasets.imageio import read_image

    normal = [s for s in load_dataset(dataset, root, split="train") if s.label == 0]
    if not normal:
        raise DataError(f"{root}: no normal training images found for dataset {dataset!r}")
    chosen = [normal[i] for i in sorted(rng.choice(len(normal), size=min(n, len(normal)), replace=False))]
    return [_as_rgb_uint8(read_image(s.image_path, size)) for s in chosen], [s.category for s in chosen]


def write_preview(kind: str, out: str | Path, root: str | Path | None = None, n: int = 16, seed: int = 0,
                  cell: int = 128, dataset: str = "mvtec", augmented: bool = False) -> tuple[int, int]:
    """Build the ``kind`` sheet and write it to ``out``; returns its (height, width)."""
    if n < 1:
        raise DataError(f"--n must be at least 1, got {n}")
    if kind == "change-pairs":
        if root is None:
            raise DataError("preview of change-pairs needs --root (a make-change-pairs output folder)")
        items, titles, captions = change_pair_items(root, n, seed, augmented)
    elif kind == "synthetic-ad":
        if root is None:
            raise DataError("preview of synthetic-ad needs --root (an MVTec-layout folder)")
        items, titles, captions = anomaly_benchmark_items(root, n, seed, dataset)
    elif kind == "anomaly-synthesis":
        items, titles, captions = anomaly_synthesis_items(root, n, seed, dataset)
    else:
        raise DataError(f"unknown preview kind {kind!r}; expected one of {PREVIEW_KINDS}")
    sheet = compose_grid(items, titles, captions, cell=cell)
    save_png(out, sheet)
    return sheet.shape[:2]

"""Images with instance masks for change-pair synthesis (MetaUAS §3.3).

Two sources share one interface: ``scene_with_instances(rng)`` gives an image plus the boolean masks of its
instances (needed to remove or cut out objects) and ``any_image(rng)`` gives a plain image (a base or donor
for local Perlin changes and a target for pasting). For the paper sampling, ``pool_size`` is the number of
distinct images (None: unlimited procedural scenes) and ``scene_at(index, rng)`` is the scene of one of them.

* ``EmbeddedSource``: procedural scenes (ellipses, polygons, rounded rectangles, stars textured with crops of
  the photos scikit-image ships offline, over a photo background) plus the photos themselves. It needs no
  download, so the embedded benchmark tier can always train.
* ``CocoSource``: MS-COCO images with their instance annotations (polygons, uncompressed and compressed RLE),
  decoded with numpy/OpenCV because pycocotools is not a dependency.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np

from uasbench.datasets.imageio import probe_image
from uasbench.errors import DataError

# Colour and grey photos bundled inside scikit-image's package data (no pooch download needed).
PHOTO_NAMES = ("astronaut", "brick", "camera", "chelsea", "coffee", "coins", "grass", "gravel", "hubble_deep_field",
               "immunohistochemistry", "moon", "retina", "rocket", "colorwheel", "stereo_motorcycle")
SHAPE_KINDS = ("ellipse", "polygon", "rounded_rectangle", "star")


@dataclass
class Scene:
    """An RGB uint8 image (H, W, 3) and the visible boolean mask (H, W) of each instance in it."""

    image: np.ndarray
    instances: list[np.ndarray]


class SceneSource(Protocol):
    """Where change pairs get their images: scenes with instance masks (removal, paste) and plain images
    (local changes, donors). COCO and the embedded photos implement it."""
    def scene_with_instances(self, rng: np.random.Generator) -> Scene: ...

    def any_image(self, rng: np.random.Generator) -> np.ndarray: ...

    @property
    def pool_size(self) -> int | None: ...

    def scene_at(self, index: int | None, rng: np.random.Generator) -> Scene: ...


# --------------------------------------------------------------------------------------------- embedded photos
@functools.lru_cache(maxsize=4)
def load_photos(max_side: int) -> tuple[np.ndarray, ...]:
    """The skimage photos as RGB uint8, downscaled so the longer side is at most ``max_side`` (cheap crops)."""
    import skimage.data

    photos = []
    for name in PHOTO_NAMES:
        photo = getattr(skimage.data, name)()
        if isinstance(photo, tuple):  # stereo_motorcycle returns (left, right, disparity)
            photo = photo[0]
        if photo.ndim == 2:
            photo = np.repeat(photo[:, :, None], 3, axis=2)
        photo = np.ascontiguousarray(photo[:, :, :3])
        scale = max_side / max(photo.shape[:2])
        if scale < 1:
            photo = cv2.resize(photo, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        photos.append(photo)
    return tuple(photos)


def random_crop(photo: np.ndarray, size: int, rng: np.random.Generator, min_frac: float = 0.3) -> np.ndarray:
    """A random square crop (side ``min_frac``..1 of the shorter side), resized to ``size``, randomly flipped."""
    h, w = photo.shape[:2]
    side = int(rng.uniform(min_frac, 1.0) * min(h, w))
    y, x = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
    crop = cv2.resize(photo[y:y + side, x:x + side], (size, size), interpolation=cv2.INTER_AREA)
    return crop[:, ::-1].copy() if rng.random() < 0.5 else crop


def random_tint(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Multiply channels by random gains so the few photos give many object colours (grey photos included)."""
    gains = rng.uniform(0.5, 1.3, size=3)
    return np.clip(image.astype(np.float32) * gains, 0, 255).astype(np.uint8)


def shape_mask(kind: str, size: int, rng: np.random.Generator) -> np.ndarray:
    """A filled random shape of ``kind`` at a random place, radius 8–28 % of the image side, as bool (size, size)."""
    canvas = np.zeros((size, size), np.uint8)
    radius = rng.uniform(0.08, 0.28) * size
    cx, cy = rng.uniform(0.1, 0.9, size=2) * size
    angle = rng.uniform(0, 360)
    if kind == "ellipse":
        axes = (max(2, int(radius)), max(2, int(radius * rng.uniform(0.4, 1.0))))
        cv2.ellipse(canvas, (int(cx), int(cy)), axes, angle, 0, 360, 1, thickness=-1)
    elif kind == "polygon":
        n = int(rng.integers(3, 9))
        angles = np.sort(rng.uniform(0, 2 * np.pi, n))
        radii = radius * rng.uniform(0.6, 1.0, n)
        cv2.fillPoly(canvas, [_points(cx, cy, radii, angles)], 1)
    elif kind == "star":
        n = int(rng.integers(4, 8))
        angles = np.linspace(0, 2 * np.pi, 2 * n, endpoint=False) + np.deg2rad(angle)
        radii = np.where(np.arange(2 * n) % 2 == 0, radius, radius * rng.uniform(0.35, 0.6))
        cv2.fillPoly(canvas, [_points(cx, cy, radii, angles)], 1)
    elif kind == "rounded_rectangle":
        half_w, half_h = radius, radius * rng.uniform(0.4, 1.0)
        corner = min(half_w, half_h) * rng.uniform(0.2, 0.9)
        _rounded_rectangle(canvas, (cx, cy), (half_w, half_h), corner, angle)
    else:
        raise ValueError(f"unknown shape kind {kind!r}; expected one of {SHAPE_KINDS}")
    return canvas.astype(bool)


def _points(cx: float, cy: float, radii: np.ndarray, angles: np.ndarray) -> np.ndarray:
    return np.stack([cx + radii * np.cos(angles), cy + radii * np.sin(angles)], axis=1).round().astype(np.int32)


def _rounded_rectangle(canvas: np.ndarray, centre: tuple[float, float], half: tuple[float, float], corner: float,
                       angle_deg: float) -> None:
    """Outline = rectangle with arc corners, sampled as a polygon and rotated about its centre."""
    (cx, cy), (hw, hh) = centre, half
    outline = []
    for (sx, sy), start in (((1, 1), 0), ((-1, 1), 90), ((-1, -1), 180), ((1, -1), 270)):
        arc = np.deg2rad(np.linspace(start, start + 90, 8))
        ox, oy = sx * (hw - corner), sy * (hh - corner)
        outline.append(np.stack([ox + corner * np.cos(arc), oy + corner * np.sin(arc)], axis=1))
    pts = np.concatenate(outline)
    theta = np.deg2rad(angle_deg)
    rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    pts = pts @ rot.T + (cx, cy)
    cv2.fillPoly(canvas, [pts.round().astype(np.int32)], 1)


class EmbeddedSource:
    """Procedural scenes with instance masks, plus plain skimage photo crops (MetaUAS uses COCO instead)."""

    def __init__(self, image_size: int, shapes_per_scene: tuple[int, int] = (2, 6), min_instance_frac: float = 0.004,
                 photo_fraction: float = 0.5) -> None:
        if image_size < 16:
            raise DataError(f"image_size must be at least 16, got {image_size}")
        self.image_size = image_size
        self.shapes_per_scene = shapes_per_scene
        self.min_instance_pixels = max(4, int(min_instance_frac * image_size * image_size))
        self.photo_fraction = photo_fraction
        self.photos = load_photos(max(256, 3 * image_size))

    def _photo(self, rng: np.random.Generator) -> np.ndarray:
        return self.photos[int(rng.integers(len(self.photos)))]

    def scene_with_instances(self, rng: np.random.Generator) -> Scene:
        while True:  # redraw in the rare case every shape was occluded away or is tiny
            scene = self._draw_scene(rng)
            if scene.instances:
                return scene

    def _draw_scene(self, rng: np.random.Generator) -> Scene:
        size = self.image_size
        image = random_crop(self._photo(rng), size, rng)
        labels = np.full((size, size), -1, np.int16)
        n_shapes = int(rng.integers(self.shapes_per_scene[0], self.shapes_per_scene[1] + 1))
        for k in range(n_shapes):
            mask = shape_mask(SHAPE_KINDS[int(rng.integers(len(SHAPE_KINDS)))], size, rng)
            texture = random_tint(random_crop(self._photo(rng), size, rng), rng)
            image[mask] = texture[mask]
            labels[mask] = k  # later shapes occlude earlier ones: masks hold visible pixels only
        instances = [labels == k for k in range(n_shapes)]
        return Scene(image, [m for m in instances if m.sum() >= self.min_instance_pixels])

    @property
    def pool_size(self) -> None:
        """Unlimited: every procedural scene is new, so the paper sampling never reuses one."""
        return None

    def scene_at(self, index: int | None, rng: np.random.Generator) -> Scene:
        """A fresh procedural scene (``index`` is unused: there is no finite pool)."""
        return self.scene_with_instances(rng)

    def any_image(self, rng: np.random.Generator) -> np.ndarray:
        if rng.random() < self.photo_fraction:
            return random_crop(self._photo(rng), self.image_size, rng)
        return self.scene_with_instances(rng).image


# --------------------------------------------------------------------------------------------- COCO masks
def rle_string_to_counts(encoded: str) -> list[int]:
    """Decode COCO's compressed RLE string (pycocotools ``rleFrString``): 5-bit groups, sign bit, delta on i-2."""
    counts: list[int] = []
    pos = 0
    while pos < len(encoded):
        value, shift, more = 0, 0, True
        while more:
            if pos >= len(encoded):
                raise ValueError(f"truncated RLE string at character {pos}")
            c = ord(encoded[pos]) - 48
            value |= (c & 0x1F) << shift
            more = bool(c & 0x20)
            pos += 1
            shift += 5
            if not more and c & 0x10:
                value |= -1 << shift
        if len(counts) > 2:
            value += counts[-2]
        counts.append(value)
    return counts


def rle_counts_to_string(counts: list[int]) -> str:
    """Inverse of :func:`rle_string_to_counts` (pycocotools ``rleToString``), used to build test cases."""
    chars = []
    for i, count in enumerate(counts):
        value = count - counts[i - 2] if i > 2 else count
        more = True
        while more:
            c = value & 0x1F
            value >>= 5
            more = value != -1 if c & 0x10 else value != 0
            if more:
                c |= 0x20
            chars.append(chr(c + 48))
    return "".join(chars)


def rle_to_mask(counts: list[int], height: int, width: int) -> np.ndarray:
    """Runs alternate 0/1 starting with 0, over the image in column-major (Fortran) order."""
    counts_arr = np.asarray(counts, dtype=np.int64)
    if (counts_arr < 0).any() or counts_arr.sum() != height * width:
        raise ValueError(f"RLE counts sum to {counts_arr.sum()} (or are negative), expected {height}x{width}")
    values = np.arange(len(counts_arr)) % 2 == 1
    return np.repeat(values, counts_arr).reshape((height, width), order="F")


def polygons_to_mask(polygons: list[list[float]], height: int, width: int) -> np.ndarray:
    """Rasterise COCO polygons [x0, y0, x1, y1, ...]; pixel (r, c) covers [c, c+1) x [r, r+1) and is inside when
    its centre is (skimage's point-in-polygon test). pycocotools' own scan conversion may differ on edge pixels.
    """
    from skimage.draw import polygon as fill_polygon

    mask = np.zeros((height, width), bool)
    for poly in polygons:
        pts = np.asarray(poly, dtype=np.float64).reshape(-1, 2)
        if len(pts) >= 3:
            rows, cols = fill_polygon(pts[:, 1] - 0.5, pts[:, 0] - 0.5, shape=(height, width))
            mask[rows, cols] = True
    return mask


def segmentation_to_mask(segmentation: Any, height: int, width: int) -> np.ndarray:
    """Any COCO ``segmentation`` (polygon list, RLE dict with list or string counts) as a bool (height, width)."""
    if isinstance(segmentation, list):
        return polygons_to_mask(segmentation, height, width)
    if isinstance(segmentation, dict) and "counts" in segmentation:
        counts = segmentation["counts"]
        if isinstance(counts, str):
            counts = rle_string_to_counts(counts)
        h, w = segmentation.get("size", (height, width))
        mask = rle_to_mask(list(counts), int(h), int(w))
        if mask.shape != (height, width):
            raise ValueError(f"RLE size {mask.shape} differs from the image size {(height, width)}")
        return mask
    raise ValueError(f"unsupported segmentation of type {type(segmentation).__name__}")


class CocoSource:
    """COCO images resized to ``image_size``² with the masks of their non-crowd instances (the paper's source)."""

    def __init__(self, images_dir: str | Path, annotations: str | Path, image_size: int,
                 min_instance_frac: float = 0.004) -> None:
        self.images_dir, self.annotations_path = Path(images_dir), Path(annotations)
        self.image_size = image_size
        self.min_instance_pixels = max(4, int(min_instance_frac * image_size * image_size))
        if not self.images_dir.is_dir():
            raise DataError(f"COCO image folder {self.images_dir} does not exist")
        try:
            data = json.loads(self.annotations_path.read_text())
        except (OSError, json.JSONDecodeError) as err:
            raise DataError(f"cannot read COCO annotations {self.annotations_path}: {err}") from err
        for key in ("images", "annotations"):
            if not isinstance(data.get(key), list):
                raise DataError(f"{self.annotations_path}: missing list {key!r} (not a COCO instances file?)")
        self.images = {img["id"]: img for img in data["images"]}
        self.annotations: dict[int, list[dict]] = {}
        for ann in data["annotations"]:
            if not ann.get("iscrowd", 0) and ann["image_id"] in self.images:
                self.annotations.setdefault(ann["image_id"], []).append(ann)
        self.image_ids = sorted(self.annotations)
        if not self.image_ids:
            raise DataError(f"{self.annotations_path}: no image has a non-crowd instance annotation")

    def _read(self, image_id: int) -> tuple[np.ndarray, dict]:
        info = self.images[image_id]
        path = self.images_dir / info["file_name"]
        probe_image(path, "COCO image")  # header only: names the file and applies the pixel limit before cv2 decodes
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if bgr is None:
            raise DataError(f"cannot read COCO image {path} (listed in {self.annotations_path})")
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), info

    def _resize(self, image: np.ndarray) -> np.ndarray:
        return cv2.resize(image, (self.image_size, self.image_size), interpolation=cv2.INTER_AREA)

    def scene(self, image_id: int) -> Scene:
        image, info = self._read(image_id)
        h, w = image.shape[:2]
        instances = []
        for ann in self.annotations[image_id]:
            try:
                mask = segmentation_to_mask(ann["segmentation"], h, w)
            except (KeyError, ValueError) as err:
                raise DataError(f"{self.annotations_path}: annotation id {ann.get('id')} of image "
                                f"{info['file_name']}: {err}") from err
            small = cv2.resize(mask.astype(np.uint8), (self.image_size, self.image_size),
                               interpolation=cv2.INTER_NEAREST).astype(bool)
            if small.sum() >= self.min_instance_pixels:
                instances.append(small)
        return Scene(self._resize(image), instances)

    @property
    def pool_size(self) -> int:
        """The images with at least one non-crowd instance annotation (the paper sampling's pool)."""
        return len(self.image_ids)

    def scene_at(self, index: int | None, rng: np.random.Generator) -> Scene:
        """The scene of the ``index``-th image with an annotation (in image-id order)."""
        if index is None:
            raise ValueError("a COCO scene needs a pool index")
        return self.scene(self.image_ids[index])

    def scene_with_instances(self, rng: np.random.Generator) -> Scene:
        for _ in range(100):
            scene = self.scene(self.image_ids[int(rng.integers(len(self.image_ids)))])
            if scene.instances:
                return scene
        raise DataError(f"{self.annotations_path}: 100 random images had no instance of at least "
                        f"{self.min_instance_pixels} pixels at {self.image_size}²")

    def any_image(self, rng: np.random.Generator) -> np.ndarray:
        image, _ = self._read(self.image_ids[int(rng.integers(len(self.image_ids)))])
        return self._resize(image)

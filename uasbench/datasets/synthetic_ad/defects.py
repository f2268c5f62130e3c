"""Surface defects for the synthetic benchmark (scratch, crack, hole, stain, wrong colour) and exact masks.

These deliberately differ from the training-time synthesis (CutPaste patches/scars, DRAEM Perlin-texture blends,
pasted objects): every defect here is a drawn physical effect on the image itself, never foreign image content.
The ground-truth mask is derived from the pixels that actually changed (see ``finalize_defect``), so it cannot
disagree with the image.
"""

from __future__ import annotations

from typing import Callable, Sequence

import cv2
import numpy as np
from scipy import ndimage

from uasbench.datasets.synthetic_ad.render import composite, irregular_blob, polygon_coverage, shifted, stroke_coverage

VISIBLE_CHANGE = 3  # uint8 levels: smaller changes are reverted, larger ones are always inside the mask
SurfaceDefect = Callable[..., np.ndarray]


def _scale(image: np.ndarray) -> float:
    return image.shape[0] / 256.0


def pick_point(rng: np.random.Generator, allowed: np.ndarray, margin: float) -> np.ndarray:
    """A random pixel centre where ``allowed`` is (almost) fully set, at least ``margin`` px from the border."""
    size = allowed.shape[0]
    m = int(np.ceil(margin))
    inner = np.zeros_like(allowed, dtype=bool)
    inner[m:size - m, m:size - m] = allowed[m:size - m, m:size - m] > 0.98
    candidates = np.argwhere(inner)
    if len(candidates) == 0:
        candidates = np.argwhere(allowed > 0.5)
    y, x = candidates[rng.integers(len(candidates))]
    return np.array([x + 0.5, y + 0.5])


def _bezier(p0: np.ndarray, p1: np.ndarray, p2: np.ndarray, n: int) -> np.ndarray:
    t = np.linspace(0.0, 1.0, n)[:, None]
    return (1 - t) ** 2 * p0 + 2 * (1 - t) * t * p1 + t ** 2 * p2


def scratch(rng: np.random.Generator, image: np.ndarray, allowed: np.ndarray, brightness: float = 0.6
            ) -> np.ndarray:
    """One to three thin, gently curved, nearly parallel strokes that brighten (or darken, brightness < 0)."""
    size, s = image.shape[0], _scale(image)
    start = pick_point(rng, allowed, 8 * s)
    angle = rng.uniform(0, np.pi)
    length = rng.uniform(0.15, 0.32) * size
    direction = np.array([np.cos(angle), np.sin(angle)])
    normal = np.array([-direction[1], direction[0]])
    bend = rng.uniform(-0.15, 0.15) * length
    alpha = np.zeros(image.shape[:2], np.float32)
    for k in range(int(rng.integers(1, 4))):
        offset = normal * k * rng.uniform(2.0, 4.0) * s + direction * rng.uniform(-0.1, 0.1) * length
        p0 = start + offset - direction * length / 2
        p2 = start + offset + direction * length * rng.uniform(0.3, 0.5)
        p1 = (p0 + p2) / 2 + normal * bend
        alpha = np.maximum(alpha, stroke_coverage(size, _bezier(p0, p1, p2, 24), rng.uniform(1.0, 1.8) * s))
    alpha *= allowed
    target = image + (1.0 - image) * brightness if brightness >= 0 else image * (1.0 + brightness)
    return composite(image, alpha, target)


def crack(rng: np.random.Generator, image: np.ndarray, allowed: np.ndarray, darkness: float = 0.8) -> np.ndarray:
    """A jagged, tapering dark fracture line with one or two side branches (a random walk)."""
    size, s = image.shape[0], _scale(image)
    alpha = np.zeros(image.shape[:2], np.float32)
    start = pick_point(rng, allowed, 10 * s)
    heading = rng.uniform(0, 2 * np.pi)
    branches = [(start, heading, rng.uniform(0.18, 0.35) * size, rng.uniform(1.5, 2.6) * s)]
    n_branches = 0
    while branches:
        point, heading, length, width = branches.pop()
        n_steps = max(3, int(length / (3.0 * s)))
        points = [point]
        for _ in range(n_steps):
            heading += rng.normal(0.0, 0.45)
            points.append(points[-1] + 3.0 * s * np.array([np.cos(heading), np.sin(heading)]))
        points = np.array(points)
        alpha = np.maximum(alpha, stroke_coverage(size, points, np.linspace(width, 0.5 * s, n_steps)))
        if n_branches < 2 and length > 0.1 * size:
            n_branches += 1
            at = int(rng.integers(n_steps // 3, n_steps))
            branches.append((points[at], heading + rng.choice([-1, 1]) * rng.uniform(0.5, 1.1), length * 0.45,
                             width * 0.6))
    alpha *= allowed
    return composite(image, alpha, image * (1.0 - darkness))


def hole(rng: np.random.Generator, image: np.ndarray, allowed: np.ndarray, depth: float = 0.88) -> np.ndarray:
    """A dark pit with an irregular outline, a shaded inner wall and a lit rim on one side."""
    size, s = image.shape[0], _scale(image)
    radius = rng.uniform(0.03, 0.06) * size
    centre = pick_point(rng, allowed, radius * 1.6)
    alpha = polygon_coverage(size, [irregular_blob(rng, centre, radius, 0.2, rng.uniform(1.0, 1.5))]) * allowed
    azimuth = rng.uniform(0, 2 * np.pi)
    dx, dy = np.cos(azimuth), np.sin(azimuth)
    wall = np.clip(shifted(alpha, dx * radius * 0.5, dy * radius * 0.5), 0, 1)  # lit far wall inside the pit
    inside = image * (1.0 - depth) * (1.0 + 1.5 * wall[..., None])
    out = composite(image, alpha, inside)
    rim = np.clip(shifted(alpha, -dx * 1.5 * s, -dy * 1.5 * s) - alpha, 0.0, 1.0) * allowed
    return composite(out, rim * 0.6, np.minimum(out + 0.35, 1.0))


def stain(rng: np.random.Generator, image: np.ndarray, allowed: np.ndarray,
          tint: Sequence[float] = (0.55, 0.38, 0.22)) -> np.ndarray:
    """A dried liquid spot with satellite droplets: a multiplicative tint, darker at its rim, texture kept."""
    size, s = image.shape[0], _scale(image)
    radius = rng.uniform(0.035, 0.07) * size
    centre = pick_point(rng, allowed, radius * 2)
    blobs = [irregular_blob(rng, centre, radius, 0.3, rng.uniform(1.0, 1.6))]
    for _ in range(int(rng.integers(1, 5))):
        direction = rng.uniform(0, 2 * np.pi)
        at = centre + radius * rng.uniform(1.2, 1.9) * np.array([np.cos(direction), np.sin(direction)])
        blobs.append(irregular_blob(rng, at, radius * rng.uniform(0.15, 0.35), 0.2))
    coverage = polygon_coverage(size, blobs)
    soft = cv2.GaussianBlur(coverage, (0, 0), 1.0 * s)
    rim = np.clip(coverage - cv2.GaussianBlur(coverage, (0, 0), 3.0 * s), 0.0, 1.0)
    strength = np.clip(rng.uniform(0.55, 0.8) * soft + 0.8 * rim, 0.0, 1.0) * allowed
    tinted = image * np.asarray(tint, np.float32)
    return composite(image, strength, tinted)


def wrong_colour(rng: np.random.Generator, image: np.ndarray, allowed: np.ndarray,
                 radius_range: tuple[float, float] = (0.05, 0.1), hue: Sequence[float] | None = None) -> np.ndarray:
    """A region whose hue is changed while its brightness pattern is kept (discolouration).

    ``hue`` (an RGB colour) fixes the new hue, e.g. straw for dried grass; otherwise the hue is turned randomly.
    """
    size, s = image.shape[0], _scale(image)
    radius = rng.uniform(*radius_range) * size
    centre = pick_point(rng, allowed, radius)
    coverage = polygon_coverage(size, [irregular_blob(rng, centre, radius, 0.3, rng.uniform(1.0, 1.8))])
    alpha = cv2.GaussianBlur(coverage, (0, 0), 1.5 * s) * allowed
    ycrcb = cv2.cvtColor(np.clip(image, 0, 1).astype(np.float32), cv2.COLOR_RGB2YCrCb)
    chroma = ycrcb[..., 1:] - 0.5
    turn = rng.choice([-1, 1]) * rng.uniform(np.pi / 3, np.pi)
    rotation = np.array([[np.cos(turn), -np.sin(turn)], [np.sin(turn), np.cos(turn)]], np.float32)
    push_angle = rng.uniform(0, 2 * np.pi)
    push = rng.uniform(0.08, 0.13) * np.array([np.cos(push_angle), np.sin(push_angle)], np.float32)
    ycrcb[..., 1:] = chroma @ rotation.T * rng.uniform(1.0, 1.6) + push + 0.5
    if hue is not None:
        target = cv2.cvtColor(np.asarray(hue, np.float32).reshape(1, 1, 3), cv2.COLOR_RGB2YCrCb)[0, 0]
        ycrcb[..., 1:] = (target[1:] - 0.5) * rng.uniform(0.8, 1.2) + 0.5
    recoloured = np.clip(cv2.cvtColor(ycrcb, cv2.COLOR_YCrCb2RGB), 0.0, 1.0)
    return composite(image, alpha, recoloured)


SURFACE_DEFECTS: dict[str, SurfaceDefect] = {
    "scratch": scratch, "crack": crack, "hole": hole, "stain": stain, "wrong_colour": wrong_colour,
}


def _drop_small_components(mask: np.ndarray, max_size: int) -> np.ndarray:
    """``mask`` without its 4-connected components of ``max_size`` pixels or fewer."""
    labels, _ = ndimage.label(mask)
    sizes = np.bincount(labels.ravel())
    keep = sizes > max_size
    keep[0] = False
    return keep[labels]


def finalize_defect(normal: np.ndarray, defective: np.ndarray, min_area: int
                    ) -> tuple[np.ndarray, np.ndarray] | None:
    """Exact ground truth from a normal/defective uint8 pair: ``(defective, mask)`` or None if too small.

    The mask is every pixel changed by at least ``VISIBLE_CHANGE`` levels, with 1-px gaps closed and small enclosed
    holes filled (the semantic defect region). Changes outside the mask (invisible anti-aliasing tails and specks
    below 4 px) are reverted to the normal pixels, so afterwards ``defective != normal`` implies ``mask``.
    """
    diff = np.abs(defective.astype(np.int16) - normal.astype(np.int16)).max(axis=2)
    changed = diff >= VISIBLE_CHANGE
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
    mask = changed | cv2.morphologyEx(changed.astype(np.uint8), cv2.MORPH_CLOSE, kernel).astype(bool)
    mask = _drop_small_components(mask, 3)
    holes = ndimage.binary_fill_holes(mask) & ~mask
    mask = mask | (holes & ~_drop_small_components(holes, max(16, min_area)))
    if int(mask.sum()) < min_area:
        return None
    return np.where(mask[..., None], defective, normal), mask

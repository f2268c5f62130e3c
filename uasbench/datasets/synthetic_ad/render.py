"""Drawing primitives for the synthetic anomaly benchmark: anti-aliased shapes, noise, lighting, compositing.

Shapes are filled on a canvas ``SUPERSAMPLE`` times larger and area-averaged down, so edges carry fractional
coverage (anti-aliasing) and the same geometry always gives the same pixels. cv2 fills boundary sub-pixels too,
so shapes come out up to half a sub-pixel (1/8 px) fatter than their outline; masks never depend on this.
Images are float32 RGB in [0, 1].
"""

from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np

SUPERSAMPLE = 4
_SUBPIXEL_BITS = 4  # cv2 fixed-point precision for polygon vertices


def pixel_grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) coordinates of pixel centres, each ``size x size`` float32."""
    axis = np.arange(size, dtype=np.float32) + 0.5
    return np.meshgrid(axis, axis)


def _to_fixed(points: np.ndarray, supersample: int, origin: np.ndarray) -> np.ndarray:
    scale = supersample * (1 << _SUBPIXEL_BITS)
    shifted_points = np.asarray(points, np.float64) - origin
    return np.round(shifted_points * scale - 0.5 * (1 << _SUBPIXEL_BITS)).astype(np.int32)


def _window(size: int, points: Sequence[np.ndarray], pad: float) -> tuple[int, int, int, int] | None:
    """Pixel box (x0, y0, x1, y1) around ``points`` plus ``pad``, clipped to the image; None if outside."""
    stacked = np.concatenate([np.asarray(p, np.float64).reshape(-1, 2) for p in points])
    x0, y0 = np.floor(stacked.min(0) - pad).astype(int)
    x1, y1 = np.ceil(stacked.max(0) + pad).astype(int) + 1
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, size), min(y1, size)
    return None if x0 >= x1 or y0 >= y1 else (x0, y0, x1, y1)


def _render_window(size: int, points: Sequence[np.ndarray], pad: float, supersample: int, draw) -> np.ndarray:
    """Draw on a supersampled canvas covering only the shapes' bounding box, area-average it into place."""
    coverage = np.zeros((size, size), np.float32)
    window = _window(size, points, pad) if len(points) else None
    if window is None:
        return coverage
    x0, y0, x1, y1 = window
    canvas = np.zeros(((y1 - y0) * supersample, (x1 - x0) * supersample), np.uint8)
    draw(canvas, np.array([x0, y0], np.float64))
    coverage[y0:y1, x0:x1] = cv2.resize(canvas.astype(np.float32) / 255.0, (x1 - x0, y1 - y0),
                                        interpolation=cv2.INTER_AREA)
    return coverage


def polygon_coverage(size: int, polygons: Sequence[np.ndarray], supersample: int = SUPERSAMPLE) -> np.ndarray:
    """Fractional pixel coverage of the union of ``polygons`` (each N x 2 in pixel units)."""
    def draw(canvas: np.ndarray, origin: np.ndarray) -> None:
        for polygon in polygons:
            cv2.fillPoly(canvas, [_to_fixed(polygon, supersample, origin)], 255, lineType=cv2.LINE_8,
                         shift=_SUBPIXEL_BITS)
    return _render_window(size, polygons, 1.0, supersample, draw)


def stroke_coverage(size: int, points: np.ndarray, widths: np.ndarray | float,
                    supersample: int = SUPERSAMPLE) -> np.ndarray:
    """Coverage of a polyline whose segment ``i`` (points i -> i+1) has width ``widths[i]`` pixels, round joins.

    Built from filled quads and discs because cv2's thick lines only come in odd sub-pixel widths.
    """
    points = np.asarray(points, np.float64)
    widths = np.broadcast_to(np.asarray(widths, np.float64), (len(points) - 1,))
    shapes = []
    for start, end, width in zip(points[:-1], points[1:], widths):
        direction = end - start
        normal = np.array([-direction[1], direction[0]]) / max(np.hypot(*direction), 1e-9) * width / 2
        shapes.append(np.array([start + normal, end + normal, end - normal, start - normal]))
    joint_widths = np.concatenate([widths[:1], np.maximum(widths[:-1], widths[1:]), widths[-1:]])
    shapes += [ellipse_points(p, w / 2, n=12) for p, w in zip(points, joint_widths)]
    return polygon_coverage(size, shapes, supersample)


def ellipse_points(center: Sequence[float], rx: float, ry: float | None = None, angle: float = 0.0,
                   n: int = 96) -> np.ndarray:
    """Vertices of an ellipse (or a regular ``n``-gon when ``n`` is small) rotated by ``angle`` radians."""
    ry = rx if ry is None else ry
    t = np.linspace(0.0, 2.0 * np.pi, n, endpoint=False)
    return transform_points(np.stack([rx * np.cos(t), ry * np.sin(t)], 1), center, angle)


def transform_points(local: np.ndarray, center: Sequence[float], angle: float, scale: float = 1.0) -> np.ndarray:
    """Rotate local (u, v) points by ``angle`` radians, scale, and move them to ``center``."""
    c, s = np.cos(angle), np.sin(angle)
    rotation = np.array([[c, -s], [s, c]])
    return np.asarray(local, np.float64) @ rotation.T * scale + np.asarray(center, np.float64)


def local_frame(size: int, center: Sequence[float], angle: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel coordinates (u, v) in a frame rotated by ``angle`` around ``center`` (inverse of transform_points)."""
    x, y = pixel_grid(size)
    dx, dy = x - np.float32(center[0]), y - np.float32(center[1])
    c, s = np.float32(np.cos(angle)), np.float32(np.sin(angle))
    return c * dx + s * dy, -s * dx + c * dy


def irregular_blob(rng: np.random.Generator, center: Sequence[float], radius: float, roughness: float = 0.3,
                   elongation: float = 1.0, n: int = 64) -> np.ndarray:
    """A closed blob whose radius varies smoothly with angle (circularly smoothed random radii)."""
    raw = rng.normal(0.0, 1.0, n)
    kernel = np.exp(-0.5 * (np.arange(-6, 7) / 2.5) ** 2)
    smooth = np.convolve(np.concatenate([raw[-6:], raw, raw[:6]]), kernel / kernel.sum(), mode="valid")
    smooth = smooth / (smooth.std() + 1e-6)
    t = np.linspace(0.0, 2.0 * np.pi, n, endpoint=False)
    r = radius * np.clip(1.0 + roughness * smooth, 0.35, 2.0)
    local = np.stack([r * np.cos(t) * elongation, r * np.sin(t) / elongation], 1)
    return transform_points(local, center, rng.uniform(0.0, np.pi))


def smooth_noise(rng: np.random.Generator, size: int, sigma: float) -> np.ndarray:
    """Gaussian-filtered white noise rescaled to zero mean and unit standard deviation."""
    noise = rng.standard_normal((size, size)).astype(np.float32)
    if sigma > 0:
        noise = cv2.GaussianBlur(noise, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
    return (noise - noise.mean()) / (noise.std() + 1e-6)


def fractal_noise(rng: np.random.Generator, size: int, sigmas: Sequence[float], weights: Sequence[float]) -> np.ndarray:
    """Weighted sum of smooth noises at several scales (scales given in pixels)."""
    return sum(w * smooth_noise(rng, size, s) for s, w in zip(sigmas, weights)).astype(np.float32)


def light_direction(azimuth: float, elevation: float) -> np.ndarray:
    """Unit vector towards the light; z points at the camera."""
    return np.array([np.cos(azimuth) * np.cos(elevation), np.sin(azimuth) * np.cos(elevation), np.sin(elevation)],
                    np.float32)


def shade(normal_x: np.ndarray, normal_y: np.ndarray, light: np.ndarray, ambient: float, shininess: float,
          specular: float) -> tuple[np.ndarray, np.ndarray]:
    """Lambert diffuse term and Blinn-Phong specular term for per-pixel normals (z completes the unit vector)."""
    normal_z = np.sqrt(np.clip(1.0 - normal_x ** 2 - normal_y ** 2, 0.0, 1.0))
    diffuse = np.clip(normal_x * light[0] + normal_y * light[1] + normal_z * light[2], 0.0, None)
    half = light + np.array([0.0, 0.0, 1.0], np.float32)
    half = half / np.linalg.norm(half)
    spec = np.clip(normal_x * half[0] + normal_y * half[1] + normal_z * half[2], 0.0, None) ** shininess
    return (ambient + (1.0 - ambient) * diffuse).astype(np.float32), (specular * spec).astype(np.float32)


def textured_background(rng: np.random.Generator, size: int, base_rgb: Sequence[float], light: np.ndarray,
                        grain: float = 0.05) -> np.ndarray:
    """A matte surface: coarse mottling, fine grain and a soft light gradient towards the light."""
    scale = size / 256.0
    mottling = fractal_noise(rng, size, (24 * scale, 6 * scale, 0.8 * scale), (0.5, 0.3, 0.2))
    x, y = pixel_grid(size)
    gradient = ((x / size - 0.5) * light[0] + (y / size - 0.5) * light[1]) * 0.25
    tone = 1.0 + grain * mottling + gradient
    return np.clip(tone[..., None] * np.asarray(base_rgb, np.float32), 0.0, 1.0)


def composite(image: np.ndarray, alpha: np.ndarray, colour: np.ndarray | Sequence[float]) -> np.ndarray:
    """A copy of ``image`` over-painted with ``colour`` where ``alpha`` (H x W, in [0, 1]) says how much.

    Only the bounding box of ``alpha > 0`` is computed, which makes small parts cheap.
    """
    out = np.array(image, np.float32, copy=True)
    rows, cols = np.flatnonzero(alpha.any(1)), np.flatnonzero(alpha.any(0))
    if rows.size == 0:
        return out
    box = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    colour = np.asarray(colour, np.float32)
    colour = colour[box] if colour.ndim == 3 else colour
    a = alpha[box][..., None]
    out[box] = out[box] * (1.0 - a) + colour * a
    return out


def shifted(array: np.ndarray, dx: float, dy: float) -> np.ndarray:
    """``array`` translated by (dx, dy) pixels with sub-pixel interpolation and zero fill."""
    matrix = np.float32([[1, 0, dx], [0, 1, dy]])
    return cv2.warpAffine(array, matrix, (array.shape[1], array.shape[0]), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def drop_shadow(image: np.ndarray, alpha: np.ndarray, light: np.ndarray, distance: float, blur: float,
                strength: float) -> np.ndarray:
    """Darken the surface under an object, displaced away from the light and softened."""
    shadow = shifted(alpha, -float(light[0]) * distance, -float(light[1]) * distance)
    shadow = cv2.GaussianBlur(shadow, (0, 0), max(blur, 0.3))
    return image * (1.0 - strength * shadow[..., None])


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Float [0, 1] image to uint8 with rounding (the only quantisation step before writing)."""
    return np.clip(np.round(image * 255.0), 0, 255).astype(np.uint8)

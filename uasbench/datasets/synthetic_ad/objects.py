"""Procedurally rendered objects for the synthetic benchmark: a hex nut, a pill and a screw.

Each object is a pure function of sampled parameters (pose, light, surface seeds), so the normal image and its
defective twin are rendered from the same parameters and differ only where the defect is. Structural defects
(a chipped corner, a broken-off tip) edit the parameters; surface defects are painted afterwards
(``synthetic_defects``) inside the surface coverage each renderer returns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from uasbench.datasets.synthetic_ad.render import (
    composite,
    drop_shadow,
    ellipse_points,
    irregular_blob,
    light_direction,
    local_frame,
    pixel_grid,
    polygon_coverage,
    shade,
    smooth_noise,
    textured_background,
    transform_points,
)

Params = dict[str, Any]


@dataclass(frozen=True)
class ObjectModel:
    """How to sample, render and structurally break one object category."""

    sample: Callable[[np.random.Generator, int], Params]
    render: Callable[[Params, int], tuple[np.ndarray, np.ndarray]]  # -> (RGB image, surface coverage)
    structural: dict[str, Callable[[np.random.Generator, Params, int], Params]]


def sample_scene(rng: np.random.Generator, size: int, background_level: tuple[float, float]) -> Params:
    """Parameters every object scene shares: light direction, exposure, a seeded background, object centre."""
    grey = rng.uniform(*background_level)
    return {
        "light": light_direction(rng.uniform(0, 2 * np.pi), rng.uniform(0.75, 1.15)),
        "exposure": rng.uniform(0.88, 1.1),
        "background_rgb": np.clip(grey * (1.0 + rng.uniform(-0.05, 0.05, 3)), 0, 1),
        "background_seed": int(rng.integers(2 ** 32)),
        "surface_seed": int(rng.integers(2 ** 32)),
        "center": size / 2 + rng.uniform(-0.07, 0.07, 2) * size,
    }


def background(params: Params, size: int) -> np.ndarray:
    """The seeded, lit background a scene is drawn on; the same parameters give the same pixels in the normal
    image and its defective twin."""
    return textured_background(np.random.default_rng(params["background_seed"]), size, params["background_rgb"],
                               params["light"])


def _metal(rng: np.random.Generator) -> np.ndarray:
    return np.clip(rng.uniform(0.55, 0.66) * (1.0 + rng.uniform(-0.04, 0.04, 3)), 0, 1)


def _rotate_normals(nu: np.ndarray, nv: np.ndarray, angle: float) -> tuple[np.ndarray, np.ndarray]:
    c, s = np.float32(np.cos(angle)), np.float32(np.sin(angle))
    return c * nu - s * nv, s * nu + c * nv


def _radial_brushing(seed: int, radius: np.ndarray, strength: float) -> np.ndarray:
    """Concentric turning marks: 1-D noise along the radius, two samples per pixel."""
    profile = np.random.default_rng(seed).standard_normal(int(radius.max() * 2) + 2)
    profile = np.convolve(profile, [0.25, 0.5, 0.25], mode="same") / 0.61
    return 1.0 + strength * np.interp(radius * 2.0, np.arange(profile.size), profile).astype(np.float32)


# --- hex nut (top view) -------------------------------------------------------------------------------------

def sample_nut(rng: np.random.Generator, size: int) -> Params:
    """Scene, size, rotation and metal tone of a hex nut (not yet chipped)."""
    params = sample_scene(rng, size, (0.28, 0.45))
    params.update(radius=rng.uniform(0.29, 0.34) * size, angle=rng.uniform(0, np.pi / 3), metal=_metal(rng),
                  chip=None)
    return params


def chip_nut_corner(rng: np.random.Generator, params: Params, size: int) -> Params:
    """Missing part: a chunk broken off one corner of the hexagon."""
    corner_angle = params["angle"] + int(rng.integers(6)) * np.pi / 3
    corner = params["center"] + params["radius"] * np.array([np.cos(corner_angle), np.sin(corner_angle)])
    chip = irregular_blob(rng, corner, params["radius"] * rng.uniform(0.28, 0.4), 0.35)
    return {**params, "chip": chip}


def render_nut(params: Params, size: int) -> tuple[np.ndarray, np.ndarray]:
    """``(RGB image, surface coverage)`` of a hex nut seen from above; its threaded bore is not surface."""
    light, center, radius = params["light"], params["center"], params["radius"]
    image = background(params, size)
    body = polygon_coverage(size, [ellipse_points(center, radius, n=6, angle=params["angle"])])
    if params["chip"] is not None:
        body = body * (1.0 - polygon_coverage(size, [params["chip"]]))
    through = polygon_coverage(size, [ellipse_points(center, 0.36 * radius)])
    bore = polygon_coverage(size, [ellipse_points(center, 0.5 * radius)])
    solid = body * (1.0 - through)
    image = drop_shadow(image, solid, light, 0.06 * radius, 0.05 * radius, 0.55)

    x, y = pixel_grid(size)
    dx, dy = x - np.float32(center[0]), y - np.float32(center[1])
    r = np.maximum(np.hypot(dx, dy), 1e-3)
    ux, uy = dx / r, dy / r
    inradius = radius * np.cos(np.pi / 6)
    chamfer = np.sin(0.75 * np.clip((r - 0.9 * inradius) / (0.15 * inradius), 0.0, 1.0))  # corners slope away
    nx = bore * -0.75 * ux + (1.0 - bore) * chamfer * ux  # coverage-weighted: the bore edge stays anti-aliased
    ny = bore * -0.75 * uy + (1.0 - bore) * chamfer * uy
    diffuse, specular = shade(nx, ny, light, ambient=0.3, shininess=24, specular=0.2)
    threads = 1.0 - bore * 0.28 * (1.0 - np.sin(2 * np.pi * r / (0.045 * radius)))
    glint_at = center + light[:2] * 0.35 * radius
    glint = 0.12 * np.exp(-((x - glint_at[0]) ** 2 + (y - glint_at[1]) ** 2) / (2 * (0.35 * radius) ** 2))
    tone = diffuse * threads * _radial_brushing(params["surface_seed"], r, 0.05) * params["exposure"]
    colour = params["metal"] * tone[..., None] + (specular + glint * (1.0 - bore))[..., None]
    image = composite(image, solid, colour)
    image = composite(image, through * body, image * 0.45)  # looking through the bore: shadowed background
    return np.clip(image, 0, 1), body * (1.0 - bore)


NUT = ObjectModel(sample_nut, render_nut, {"missing_part": chip_nut_corner})


# --- pill (top view, dome shaded, speckled) -----------------------------------------------------------------

def sample_pill(rng: np.random.Generator, size: int) -> Params:
    """Scene, size, colour and speckle of a pill (not yet chipped)."""
    params = sample_scene(rng, size, (0.08, 0.16))
    length = rng.uniform(0.56, 0.66) * size
    n_specks = int(rng.integers(15, 35))
    params.update(angle=rng.uniform(0, 2 * np.pi), length=length, width=length * rng.uniform(0.4, 0.46),
                  colour=np.clip(rng.uniform(0.84, 0.92) * np.array([1.0, 0.98, 0.92]), 0, 1),
                  specks=np.column_stack([rng.uniform(-0.95, 0.95, (n_specks, 2)), rng.uniform(0.5, 1.0, n_specks)]),
                  chip=None)
    return params


def _stadium(length: float, width: float, n: int = 48) -> np.ndarray:
    half_straight, rad = (length - width) / 2, width / 2
    t = np.linspace(-np.pi / 2, np.pi / 2, n)
    right = np.stack([half_straight + rad * np.cos(t), rad * np.sin(t)], 1)
    return np.concatenate([right, -right])


def chip_pill_edge(rng: np.random.Generator, params: Params, size: int) -> Params:
    """Missing part: a bite broken out of the pill's outline."""
    outline = transform_points(_stadium(params["length"], params["width"]), params["center"], params["angle"])
    at = outline[rng.integers(len(outline))]
    chip = irregular_blob(rng, at, params["width"] * rng.uniform(0.2, 0.32), 0.35)
    return {**params, "chip": chip}


def render_pill(params: Params, size: int) -> tuple[np.ndarray, np.ndarray]:
    """``(RGB image, surface coverage)`` of a dome-shaded, speckled pill with its breaking groove."""
    light, center, angle = params["light"], params["center"], params["angle"]
    length, width = params["length"], params["width"]
    image = background(params, size)
    body = polygon_coverage(size, [transform_points(_stadium(length, width), center, angle)])
    if params["chip"] is not None:
        body = body * (1.0 - polygon_coverage(size, [params["chip"]]))
    image = drop_shadow(image, body, light, 0.05 * width, 0.06 * width, 0.6)

    u, v = local_frame(size, center, angle)
    along = np.clip(np.abs(u) - (length - width) / 2, 0.0, None) * np.sign(u)
    dist = np.maximum(np.hypot(along, v), 1e-3)
    tilt = np.clip(dist / (width / 2), 0.0, 1.0) ** 2.5 * 0.95
    nx, ny = _rotate_normals(tilt * along / dist, tilt * v / dist, angle)
    diffuse, specular = shade(nx, ny, light, ambient=0.35, shininess=18, specular=0.25)
    groove = 1.0 - 0.35 * np.exp(-(u / (0.012 * size)) ** 2) * (np.abs(v) < 0.4 * width)
    grain = 1.0 + 0.015 * smooth_noise(np.random.default_rng(params["surface_seed"]), size, 0.7)
    tone = diffuse * groove * grain * params["exposure"]
    colour = params["colour"] * tone[..., None] + specular[..., None]
    specks = params["specks"]
    speck_polys = [ellipse_points(transform_points(np.array([[su * (length / 2 - width / 4), sv * width / 3]]),
                                                   center, angle)[0], sr * 0.006 * size, n=12)
                   for su, sv, sr in specks]
    speck_alpha = polygon_coverage(size, speck_polys) * 0.85
    colour = composite(colour, speck_alpha, colour * np.array([0.85, 0.35, 0.25], np.float32))
    return np.clip(composite(image, body, colour), 0, 1), body


PILL = ObjectModel(sample_pill, render_pill, {"missing_part": chip_pill_edge})


# --- screw (lying on its side, seen from above) -------------------------------------------------------------

def sample_screw(rng: np.random.Generator, size: int) -> Params:
    """Scene, length, shaft and head size, thread pitch and metal tone of a screw (tip not yet broken)."""
    params = sample_scene(rng, size, (0.5, 0.68))
    shaft = rng.uniform(0.03, 0.038) * size
    head = shaft * rng.uniform(1.9, 2.2)
    params.update(angle=rng.uniform(0, 2 * np.pi), length=rng.uniform(0.58, 0.68) * size, shaft=shaft, head=head,
                  head_length=head * rng.uniform(0.8, 1.0), pitch=shaft * rng.uniform(0.75, 0.95), metal=_metal(rng),
                  cut=None)
    return params


def break_screw_tip(rng: np.random.Generator, params: Params, size: int) -> Params:
    """Missing part: the tip broken off, leaving a jagged end."""
    keep = params["length"] * (1.0 - rng.uniform(0.18, 0.32))
    return {**params, "cut": (keep, rng.uniform(-0.35, 0.35, 5) * params["shaft"])}


def _screw_outline(params: Params) -> np.ndarray:
    length, shaft, head, head_length = params["length"], params["shaft"], params["head"], params["head_length"]
    top = -length / 2
    t = np.linspace(0.0, 1.0, 16)
    head_edge = np.stack([top + t * head_length, head * (1.0 - (1.0 - t) ** 4) ** 0.25], 1)
    tip_length = 2.2 * shaft
    end = length / 2 if params["cut"] is None else top + params["cut"][0]
    u = np.arange(top + head_length, end, params["pitch"] / 4)
    taper = np.clip((length / 2 - u) / tip_length, 0.0, 1.0)
    saw = np.abs(((u - top) / params["pitch"]) % 1.0 - 0.5) * 2
    upper = np.stack([u, shaft * (0.8 + 0.2 * saw) * taper], 1)
    lower_saw = np.abs(((u - top) / params["pitch"] + 0.5) % 1.0 - 0.5) * 2
    lower = np.stack([u, -shaft * (0.8 + 0.2 * lower_saw) * taper], 1)
    if params["cut"] is None:
        jagged = np.array([[length / 2, 0.0]])
    else:
        offsets = params["cut"][1]
        across = np.linspace(upper[-1, 1], lower[-1, 1], len(offsets) + 2)[1:-1]
        jagged = np.stack([end + offsets, across], 1)
    mirrored_head = head_edge[::-1] * np.array([1.0, -1.0])
    return np.concatenate([head_edge, upper, jagged, lower[::-1], mirrored_head])


def render_screw(params: Params, size: int) -> tuple[np.ndarray, np.ndarray]:
    """``(RGB image, surface coverage)`` of a screw lying on its side, head and threads shaded."""
    light, center, angle = params["light"], params["center"], params["angle"]
    length, shaft, head, head_length = params["length"], params["shaft"], params["head"], params["head_length"]
    image = background(params, size)
    body = polygon_coverage(size, [transform_points(_screw_outline(params), center, angle)])
    image = drop_shadow(image, body, light, 0.5 * shaft, 0.4 * shaft, 0.55)

    u, v = local_frame(size, center, angle)
    from_top = u + length / 2
    in_head = np.clip(head_length - from_top + 0.5, 0.0, 1.0)  # 1-px ramp instead of a hard, aliased step
    nv = (in_head * np.clip(v / head, -1.0, 1.0) + (1.0 - in_head) * np.clip(v / shaft, -1.0, 1.0)) * 0.9
    dome = -np.clip(1.0 - from_top / head_length, 0.0, 1.0) ** 3 * 0.8
    thread = 0.35 * np.sin(2 * np.pi * (from_top / params["pitch"] + 0.5 * v / shaft))
    nu = in_head * dome + (1.0 - in_head) * thread
    nx, ny = _rotate_normals(nu, nv, angle)
    diffuse, specular = shade(nx, ny, light, ambient=0.3, shininess=30, specular=0.45)
    brushing = 1.0 + 0.04 * smooth_noise(np.random.default_rng(params["surface_seed"]), size, 0.8)
    colour = params["metal"] * (diffuse * brushing * params["exposure"])[..., None] + specular[..., None]
    return np.clip(composite(image, body, colour), 0, 1), body


SCREW = ObjectModel(sample_screw, render_screw, {"missing_part": break_screw_tip})

OBJECT_MODELS: dict[str, ObjectModel] = {"nut": NUT, "pill": PILL, "screw": SCREW}

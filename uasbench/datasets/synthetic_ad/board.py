"""A procedurally rendered circuit board: the synthetic category for missing, misplaced and wrong-colour parts.

Components sit at fixed places in board coordinates (units of the board width, origin at its centre); the board
itself varies in pose and lighting. Structural defects edit one component (remove, move, recolour) and the
board is rendered again from the same parameters, so nothing else changes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from uasbench.datasets.synthetic_ad.objects import ObjectModel, Params, background, sample_scene
from uasbench.datasets.synthetic_ad.render import (
    composite,
    drop_shadow,
    ellipse_points,
    pixel_grid,
    polygon_coverage,
    shade,
    smooth_noise,
    transform_points,
)

_RESISTOR_BANDS = ((0.55, 0.3, 0.1), (0.1, 0.1, 0.1), (0.85, 0.1, 0.1), (0.9, 0.6, 0.1), (0.8, 0.65, 0.2))
_LED_COLOURS = {"red": (0.85, 0.12, 0.1), "green": (0.15, 0.75, 0.2), "blue": (0.15, 0.3, 0.9),
                "yellow": (0.9, 0.8, 0.1)}
_LAYOUT: tuple[dict[str, Any], ...] = (
    {"kind": "chip", "center": (-0.17, -0.06), "angle": 0.0, "body": (0.1, 0.1, 0.11)},
    {"kind": "resistor", "center": (0.25, -0.2), "angle": 0.0, "body": (0.82, 0.72, 0.52)},
    {"kind": "resistor", "center": (0.25, -0.03), "angle": 0.0, "body": (0.82, 0.72, 0.52)},
    {"kind": "capacitor", "center": (0.24, 0.19), "angle": 0.0, "body": (0.12, 0.2, 0.55)},
    {"kind": "led", "center": (-0.26, 0.22), "angle": 0.0, "body": _LED_COLOURS["red"]},
)
_HALF_HEIGHT = 0.36


def _rect(w: float, h: float) -> np.ndarray:
    return np.array([[-w / 2, -h / 2], [w / 2, -h / 2], [w / 2, h / 2], [-w / 2, h / 2]])


def _pads(kind: str) -> list[np.ndarray]:
    """Solder pads under a component's leads, in component coordinates (visible when the part is missing)."""
    if kind == "chip":
        return [_rect(0.028, 0.05) + (x, y) for x in np.linspace(-0.11, 0.11, 6) for y in (-0.115, 0.115)]
    if kind == "resistor":
        return [_rect(0.04, 0.045) + (x, 0.0) for x in (-0.11, 0.11)]
    return [_rect(0.03, 0.03) + (x, 0.0) for x in (-0.045, 0.045)] if kind == "led" else \
        [_rect(0.035, 0.035) + (x, 0.0) for x in (-0.05, 0.05)]


def _layers(component: dict[str, Any]) -> list[tuple[list[np.ndarray], tuple[float, ...], float]]:
    """(polygons, colour, dome radius or 0 for flat) painted in order for one component."""
    kind, body = component["kind"], tuple(component["body"])
    if kind == "chip":
        legs = [_rect(0.02, 0.06) + (x, y) for x in np.linspace(-0.11, 0.11, 6) for y in (-0.105, 0.105)]
        return [(legs, (0.78, 0.78, 0.8), 0.0), ([_rect(0.3, 0.17)], body, 0.0),
                ([ellipse_points((-0.12, -0.05), 0.013)], (0.3, 0.3, 0.32), 0.0)]
    if kind == "resistor":
        bands = [[_rect(0.014, 0.056) + (x, 0.0)] for x in (-0.045, -0.02, 0.005, 0.045)]
        colours = component.get("bands", _RESISTOR_BANDS[:4])
        return ([([_rect(0.26, 0.012)], (0.75, 0.75, 0.78), 0.0), ([_rect(0.15, 0.055)], body, 0.0)]
                + [(band, tuple(colour), 0.0) for band, colour in zip(bands, colours)])
    if kind == "capacitor":
        vent = [_rect(0.09, 0.008), _rect(0.008, 0.09)]
        return [([ellipse_points((0, 0), 0.075)], body, 0.075), ([ellipse_points((0, 0), 0.06)], (0.72, 0.73, 0.75),
                                                                   0.06), (vent, (0.45, 0.45, 0.48), 0.0)]
    return [([ellipse_points((0, 0), 0.045)], body, 0.045)]


def sample_board(rng: np.random.Generator, size: int) -> Params:
    """Pose, light and per-component jitter of a circuit board; rendering is a pure function of these."""
    params = sample_scene(rng, size, (0.55, 0.75))
    components = tuple({**part, "center": np.add(part["center"], rng.normal(0, 0.003, 2)),
                        "angle": rng.normal(0, 0.02)} for part in _LAYOUT)
    params.update(angle=rng.uniform(-0.22, 0.22) + np.pi * int(rng.integers(2)), width=rng.uniform(0.68, 0.76) * size,
                  board_rgb=np.clip(np.array([0.1, 0.38, 0.18]) * rng.uniform(0.85, 1.1), 0, 1),
                  components=components)
    return params


def _pick_component(rng: np.random.Generator, params: Params) -> tuple[int, dict[str, Any]]:
    index = int(rng.integers(len(params["components"])))
    return index, dict(params["components"][index])


def _with_component(params: Params, index: int, component: dict[str, Any] | None) -> Params:
    parts = list(params["components"])
    parts[index] = component
    return {**params, "components": tuple(parts)}


def remove_component(rng: np.random.Generator, params: Params, size: int) -> Params:
    """Missing part: one component was never placed (its pads are bare)."""
    index, _ = _pick_component(rng, params)
    return _with_component(params, index, None)


def misplace_component(rng: np.random.Generator, params: Params, size: int) -> Params:
    """Misplaced part: one component shifted and rotated off its pads."""
    index, part = _pick_component(rng, params)
    direction = rng.uniform(0, 2 * np.pi)
    part["center"] = part["center"] + rng.uniform(0.04, 0.07) * np.array([np.cos(direction), np.sin(direction)])
    part["angle"] = part["angle"] + rng.choice([-1, 1]) * rng.uniform(0.2, 0.6)
    return _with_component(params, index, part)


def recolour_component(rng: np.random.Generator, params: Params, size: int) -> Params:
    """Wrong colour: an LED of the wrong colour, a resistor with the wrong bands, or a differently coloured body."""
    candidates = [i for i, p in enumerate(params["components"]) if p["kind"] in ("led", "resistor", "capacitor")]
    index = int(rng.choice(candidates))
    part = dict(params["components"][index])
    if part["kind"] == "led":
        part["body"] = _LED_COLOURS[str(rng.choice(["green", "blue", "yellow"]))]
    elif part["kind"] == "resistor":
        order = rng.permutation(len(_RESISTOR_BANDS))[:4]
        part["bands"] = tuple(_RESISTOR_BANDS[i] for i in order) if tuple(order) != (0, 1, 2, 3) else \
            tuple(_RESISTOR_BANDS[i] for i in (4, 3, 2, 1))
        part["body"] = (0.35, 0.55, 0.8)
    else:
        part["body"] = (0.1, 0.1, 0.1) if rng.uniform() < 0.5 else (0.55, 0.15, 0.12)
    return _with_component(params, index, part)


def render_board(params: Params, size: int) -> tuple[np.ndarray, np.ndarray]:
    """``(RGB image, surface coverage)`` of a board: where surface defects may be painted is the board without its
    mounting-hole rings."""
    light, center, angle, width = params["light"], params["center"], params["angle"], params["width"]

    def to_image(points: np.ndarray, part: dict[str, Any] | None = None) -> np.ndarray:
        if part is not None:
            points = transform_points(points, part["center"], part["angle"])
        return transform_points(points, center, angle, scale=width)

    image = background(params, size)
    board = polygon_coverage(size, [to_image(_rect(1.0, 2 * _HALF_HEIGHT))])
    holes = polygon_coverage(size, [to_image(ellipse_points((sx * 0.44, sy * 0.28), 0.03))
                                    for sx in (-1, 1) for sy in (-1, 1)])
    image = drop_shadow(image, board * (1 - holes), light, 0.012 * width, 0.012 * width, 0.5)
    flat = params["exposure"] * (0.45 + 0.55 * float(light[2]))
    weave = 1.0 + 0.04 * smooth_noise(np.random.default_rng(params["surface_seed"]), size, 0.6)
    image = composite(image, board, params["board_rgb"] * (flat * weave)[..., None])
    traces = [to_image(_rect(0.55, 0.012) + (0.0, 0.33)), to_image(_rect(0.012, 0.3) + (0.45, 0.0)),
              to_image(_rect(0.3, 0.012) + (-0.25, -0.25)), to_image(_rect(0.012, 0.2) + (-0.4, 0.05))]
    image = composite(image, polygon_coverage(size, traces) * 0.6, params["board_rgb"] * 1.6 * flat)
    ring = polygon_coverage(size, [to_image(ellipse_points((sx * 0.44, sy * 0.28), 0.045))
                                   for sx in (-1, 1) for sy in (-1, 1)])
    image = composite(image, ring * board, np.array([0.8, 0.75, 0.55]) * flat)
    image = composite(image, holes * board, image * 0.5)
    for part in _LAYOUT:
        pads = [to_image(pad, {"center": part["center"], "angle": 0.0}) for pad in _pads(part["kind"])]
        image = composite(image, polygon_coverage(size, pads), np.array([0.8, 0.8, 0.82]) * flat)

    x, y = pixel_grid(size)
    for part in params["components"]:
        if part is None:
            continue
        layers = _layers(part)
        outline = polygon_coverage(size, [to_image(p, part) for polygons, _, _ in layers[:2] for p in polygons])
        image = drop_shadow(image, outline, light, 0.01 * width, 0.006 * width, 0.5)
        for polygons, colour, dome in layers:
            alpha = polygon_coverage(size, [to_image(p, part) for p in polygons])
            tone: Any = flat
            specular: Any = 0.0
            if dome > 0:
                cx, cy = to_image(np.zeros((1, 2)), part)[0]
                radius = dome * width
                nx, ny = (x - cx) / radius * 0.8, (y - cy) / radius * 0.8
                tone, specular = shade(nx, ny, light, ambient=0.35, shininess=20, specular=0.4)
                tone, specular = tone[..., None] * params["exposure"], specular[..., None]
            image = composite(image, alpha, np.asarray(colour, np.float32) * tone + specular)
    return np.clip(image, 0, 1), board * (1 - ring)


BOARD = ObjectModel(sample_board, render_board, {"missing_part": remove_component,
                                                 "misplaced_part": misplace_component,
                                                 "wrong_colour": recolour_component})

"""The empty weighing platform seen from above: floor, rails, gates and light.

Layout (fractions of the frame): an aisle strip on the left and right where the animals
come in and go out, a rail on each side with a gate opening in the middle, and walls at the
top and bottom. Everything is drawn once per scene; only the animals move.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

FloatImage = npt.NDArray[np.float32]
FLOOR_STYLES = ("rubber", "chequer", "slats", "concrete")


@dataclass(frozen=True, slots=True)
class Platform:
    """Where things are, in frame pixels."""

    width: int
    height: int
    x0: float  # platform floor, inside the rails
    y0: float
    x1: float
    y1: float
    gate_y0: float  # the gate openings in the left (entry) and right (exit) rails
    gate_y1: float

    @classmethod
    def for_frame(cls, width: int, height: int, rng: np.random.Generator) -> Platform:
        side = width * rng.uniform(0.06, 0.08)
        top = height * rng.uniform(0.06, 0.08)
        gate_half = height * rng.uniform(0.15, 0.19)
        centre = height * rng.uniform(0.46, 0.54)
        return cls(
            width,
            height,
            side,
            top,
            width - side,
            height - top,
            centre - gate_half,
            centre + gate_half,
        )


def _noise(rng: np.random.Generator, shape: tuple[int, int], blur_px: float) -> FloatImage:
    field = rng.normal(0, 1, shape).astype(np.float32)
    if blur_px > 0:
        field = np.asarray(cv2.GaussianBlur(field, (0, 0), blur_px), np.float32)
    return field / max(float(field.std()), 1e-6)


def _tile(pattern: FloatImage, shape: tuple[int, int]) -> FloatImage:
    reps = (shape[0] // pattern.shape[0] + 1, shape[1] // pattern.shape[1] + 1)
    return np.tile(pattern, reps)[: shape[0], : shape[1]]


def _floor_relief(style: str, shape: tuple[int, int], unit_px: float) -> FloatImage:
    """Height-like pattern in [-1, 1] of the floor surface."""
    step = max(4, round(unit_px))
    if style == "chequer":
        cell = np.zeros((2 * step, 2 * step), np.float32)
        for (cx, cy), ang in (
            ((step // 2, step // 2), 45),
            ((3 * step // 2, 3 * step // 2), 45),
            ((3 * step // 2, step // 2), -45),
            ((step // 2, 3 * step // 2), -45),
        ):
            axes = (max(2, step // 3), max(1, step // 12))
            cv2.ellipse(cell, (cx, cy), axes, ang, 0, 360, 1.0, -1, cv2.LINE_AA)
        return _tile(cell, shape) * 1.4 - 0.3
    if style == "slats":
        cell = np.ones((2 * step, step), np.float32)
        cell[: max(2, step // 3), :] = -1.0
        cell[:, : max(1, step // 6)] = -0.6
        return _tile(cell, shape)
    if style == "rubber":
        cell = np.zeros((step, step), np.float32)
        cv2.circle(cell, (step // 2, step // 2), max(1, step // 4), 1.0, -1, cv2.LINE_AA)
        return _tile(cell, shape) - 0.3
    return np.zeros(shape, np.float32)


_FLOOR_RGB = {
    "rubber": (62, 60, 58),
    "chequer": (128, 130, 128),
    "slats": (58, 112, 82),
    "concrete": (150, 142, 128),
}


def _floor(
    style: str, shape: tuple[int, int], unit_px: float, rng: np.random.Generator
) -> FloatImage:
    tint = rng.uniform(0.9, 1.1) * rng.uniform(0.97, 1.03, 3)
    base = np.array(_FLOOR_RGB[style], np.float32) * tint.astype(np.float32)
    relief = _floor_relief(style, shape, unit_px)
    grain = 0.04 * _noise(rng, shape, 0.8) + 0.05 * _noise(rng, shape, unit_px)
    shade = 1 + 0.18 * relief + grain
    rgb = base[None, None, :] * shade[..., None]
    # manure and wet patches, stronger near the walls where the animals stand longest
    grime = np.clip(_noise(rng, shape, unit_px * 3) - 0.4, 0, None)
    grime_rgb = np.array([74, 60, 40], np.float32)
    weight = np.clip(grime * 0.25, 0, 0.45)[..., None]
    return rgb * (1 - weight) + grime_rgb * weight


def _tube(img: FloatImage, p0: tuple[float, float], p1: tuple[float, float], thick: float) -> None:
    """A galvanised steel tube: dark edge, bright highlight along its top."""
    a = (round(p0[0]), round(p0[1]))
    b = (round(p1[0]), round(p1[1]))
    t = max(2, round(thick))
    cv2.line(
        img,
        (a[0] + t // 2, a[1] + t // 2),
        (b[0] + t // 2, b[1] + t // 2),
        (25, 25, 25),
        t + 2,
        cv2.LINE_AA,
    )
    cv2.line(img, a, b, (120, 124, 126), t, cv2.LINE_AA)
    cv2.line(img, a, b, (200, 204, 206), max(1, t // 2), cv2.LINE_AA)
    cv2.line(img, a, b, (235, 238, 240), max(1, t // 5), cv2.LINE_AA)


def _walls(img: FloatImage, p: Platform, rng: np.random.Generator) -> None:
    """Walls above and below the platform, rails with gates at the left and right."""
    h, w = p.height, p.width
    wall = np.array([170, 168, 160], np.float32) * rng.uniform(0.85, 1.05)
    img[: round(p.y0)] = wall * 0.8
    img[round(p.y1) :] = wall * 0.75
    thick = max(2.0, 0.008 * w)
    for y in (p.y0, p.y1):
        _tube(img, (0, y), (w, y), thick * 1.3)
    for x in (p.x0, p.x1):
        for y_from, y_to in ((p.y0, p.gate_y0), (p.gate_y1, p.y1)):
            _tube(img, (x, y_from), (x, y_to), thick)
            _tube(img, (x + thick * 1.6, y_from), (x + thick * 1.6, y_to), thick * 0.8)
        for y in (p.y0, p.gate_y0, p.gate_y1, p.y1):
            centre = (round(x + thick * 0.8), round(y))
            cv2.circle(img, centre, round(thick * 1.4), (90, 92, 94), -1, cv2.LINE_AA)
            cv2.circle(img, centre, round(thick * 0.8), (180, 184, 186), -1, cv2.LINE_AA)
    # the open gate leaves, swung out into the aisles
    swing = (p.gate_y1 - p.gate_y0) * 0.9
    _tube(img, (p.x0, p.gate_y0), (p.x0 - 0.95 * (p.x0 - 2), p.gate_y0 - swing * 0.2), thick)
    _tube(img, (p.x1, p.gate_y1), (p.x1 + 0.95 * (w - p.x1 - 2), p.gate_y1 + swing * 0.2), thick)
    del h


def _lighting(shape: tuple[int, int], rng: np.random.Generator) -> FloatImage:
    """Light falling off from a lamp off-centre, times lens vignetting."""
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    lx, ly = rng.uniform(0.3, 0.7) * w, rng.uniform(0.2, 0.8) * h
    lamp = 1.15 - 0.35 * (((xx - lx) / w) ** 2 + ((yy - ly) / h) ** 2)
    r2 = ((xx - w / 2) / (w / 2)) ** 2 + ((yy - h / 2) / (h / 2)) ** 2
    vignette = 1 - 0.22 * r2
    return (lamp * vignette).astype(np.float32)


def draw_platform(
    platform: Platform, rng: np.random.Generator, style: str | None = None
) -> tuple[npt.NDArray[np.uint8], FloatImage]:
    """The empty platform image (RGB uint8) and its light field (multiply animals by it)."""
    shape = (platform.height, platform.width)
    chosen = style or FLOOR_STYLES[int(rng.integers(len(FLOOR_STYLES)))]
    unit_px = platform.width / 64
    img = _floor(chosen, shape, unit_px, rng)
    aisle = _floor("concrete", shape, unit_px, rng) * 0.8
    x0, x1 = round(platform.x0), round(platform.x1)
    img[:, :x0] = aisle[:, :x0]
    img[:, x1:] = aisle[:, x1:]
    _walls(img, platform, rng)
    light = _lighting(shape, rng)
    out = np.clip(img * light[..., None], 0, 255).astype(np.uint8)
    return out, light

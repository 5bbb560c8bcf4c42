"""Piglet sprites seen from straight above, for the synthetic scenes.

A sprite is drawn once per animal and gait phase, head pointing to +x, and later only
rotated and pasted. Its alpha channel mixes the body (opacity 1) with a soft drop shadow
of constant opacity `SHADOW_OPACITY` along the body edge, so that the body coverage can
be read back exactly from the warped alpha: body coverage >= 0.5 <=> alpha >= `BODY_ALPHA`.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

SHADOW_OPACITY = 0.25
# alpha = body + shadow * (1 - body); at the body edge the shadow is saturated, so the
# threshold below is exactly "body covers at least half the pixel".
BODY_ALPHA = 0.5 + SHADOW_OPACITY / 2
GAIT_PHASES = 4  # walking sprites per animal; phase 0 is also the standing pose

_SUPERSAMPLE = 1
FloatImage = npt.NDArray[np.float32]

_SKIN_TONES_RGB = (
    (238, 196, 192),
    (242, 208, 204),
    (233, 188, 190),
    (240, 214, 206),
    (228, 182, 190),  # lavender-pink, as under cool LED light
)
_SPRAY_RGB = ((40, 80, 200), (200, 40, 60), (40, 150, 70), (120, 50, 160))


@dataclass(frozen=True, slots=True)
class Sprite:
    """RGBA sprite of one animal pose; the animal's centre is the sprite's centre."""

    rgba: npt.NDArray[np.uint8]  # (h, w, 4), alpha holds body and shadow
    body_area_px: float  # pixels with body coverage >= 0.5, unrotated


@dataclass(frozen=True, slots=True)
class PigletLook:
    """What one piglet looks like; drawn by `draw_piglet`."""

    length_px: float  # rump to snout tip
    width_ratio: float  # body width / length
    skin_rgb: tuple[int, int, int]
    head_yaw_rad: float
    ear_spread_rad: float
    tail: bool
    spray_marks: int
    dirt: float  # 0-1
    seed: int


def random_look(rng: np.random.Generator, length_px: float) -> PigletLook:
    """A random piglet of about `length_px` (size varies by up to +-15 %)."""
    tone = np.array(_SKIN_TONES_RGB[rng.integers(len(_SKIN_TONES_RGB))], float)
    tone = np.clip(tone + rng.normal(0, 4, 3), 0, 255)
    return PigletLook(
        length_px=float(length_px * rng.uniform(0.85, 1.15)),
        width_ratio=float(rng.uniform(0.36, 0.42)),
        skin_rgb=(int(tone[0]), int(tone[1]), int(tone[2])),
        head_yaw_rad=float(rng.normal(0, 0.12)),
        ear_spread_rad=float(rng.uniform(0.5, 0.9)),
        tail=bool(rng.random() < 0.8),
        spray_marks=int(rng.choice([0, 0, 0, 1, 1, 2])),
        dirt=float(rng.uniform(0, 1) ** 3),
        seed=int(rng.integers(2**31)),
    )


def _profile_polygon(
    x0: float, x1: float, half_w: float, taper: float, power: float
) -> npt.NDArray[np.float64]:
    """Rounded outline between x0 and x1: a superellipse narrowing by `taper` toward +x."""
    u = np.linspace(-1, 1, 40)
    hw = half_w * (1 - np.abs(u) ** power) ** (1 / power) * (1 - taper * u)
    x = x0 + (u + 1) / 2 * (x1 - x0)
    return np.concatenate([np.stack([x, hw], 1), np.stack([x[::-1], -hw[::-1]], 1)])


def _rotate(
    points: npt.NDArray[np.float64], angle: float, pivot: tuple[float, float]
) -> npt.NDArray[np.float64]:
    c, s = np.cos(angle), np.sin(angle)
    p = points - pivot
    return np.stack([p[:, 0] * c - p[:, 1] * s, p[:, 0] * s + p[:, 1] * c], 1) + pivot


def _ellipse_polygon(
    centre: tuple[float, float], axes: tuple[float, float], angle: float
) -> npt.NDArray[np.float64]:
    t = np.linspace(0, 2 * np.pi, 32, endpoint=False)
    pts = np.stack([axes[0] * np.cos(t), axes[1] * np.sin(t)], 1)
    return _rotate(pts, angle, (0.0, 0.0)) + centre


class _Canvas:
    """Supersampled drawing surface in animal units (length 1, origin at the centre)."""

    def __init__(self, look: PigletLook) -> None:
        self.scale = look.length_px * _SUPERSAMPLE
        self.w = int(np.ceil(look.length_px * 1.3 / 2)) * 2 * _SUPERSAMPLE
        self.h = int(np.ceil(look.length_px * 0.75 / 2)) * 2 * _SUPERSAMPLE

    def fill(self, polygon: npt.NDArray[np.float64]) -> npt.NDArray[np.uint8]:
        mask = np.zeros((self.h, self.w), np.uint8)
        pts = polygon * self.scale + (self.w / 2, self.h / 2)
        cv2.fillPoly(mask, [np.round(pts * 8).astype(np.int32)], 255, cv2.LINE_AA, shift=3)
        return mask

    def line(self, points: npt.NDArray[np.float64], width: float) -> npt.NDArray[np.uint8]:
        mask = np.zeros((self.h, self.w), np.uint8)
        pts = points * self.scale + (self.w / 2, self.h / 2)
        thick = max(1, round(width * self.scale))
        cv2.polylines(mask, [np.round(pts * 8).astype(np.int32)], False, 255, thick, cv2.LINE_AA, 3)
        return mask


def _legs(look: PigletLook, phase: int) -> list[npt.NDArray[np.float64]]:
    """Leg tips peeking out under the flanks; walking moves diagonal pairs together."""
    half_w = look.width_ratio / 2
    if phase == 0:
        return []  # standing: the legs are under the body, unseen from above
    swing = 0.06 * np.sin(2 * np.pi * phase / GAIT_PHASES + 0.5)
    legs = []
    for x, side, sign in ((0.2, 1, 1), (0.2, -1, -1), (-0.28, 1, -1), (-0.28, -1, 1)):
        centre = (x + sign * swing, side * (half_w * 0.9))
        legs.append(_ellipse_polygon(centre, (0.04, 0.03), 0.0))
    return legs


def _silhouettes(look: PigletLook, canvas: _Canvas) -> dict[str, npt.NDArray[np.uint8]]:
    half_w = look.width_ratio / 2
    trunk = _profile_polygon(-0.5, 0.24, half_w, 0.1, 2.8)
    neck = (0.18, 0.0)
    head = _rotate(_profile_polygon(0.1, 0.47, half_w * 0.72, 0.5, 2.3), look.head_yaw_rad, neck)
    snout_c = _rotate(np.array([[0.455, 0.0]]), look.head_yaw_rad, neck)[0]
    snout = _ellipse_polygon((snout_c[0], snout_c[1]), (0.03, half_w * 0.3), look.head_yaw_rad)
    ears = []
    for side in (1, -1):
        base = _rotate(np.array([[0.25, side * half_w * 0.55]]), look.head_yaw_rad, neck)[0]
        angle = look.head_yaw_rad + side * look.ear_spread_rad
        centre = base + 0.045 * np.array([np.cos(angle), np.sin(angle)])
        ears.append(_ellipse_polygon((centre[0], centre[1]), (0.075, 0.05), angle))
    parts = {
        "trunk": canvas.fill(trunk),
        "head": canvas.fill(head),
        "snout": canvas.fill(snout),
        "ears": np.maximum(canvas.fill(ears[0]), canvas.fill(ears[1])),
    }
    if look.tail:
        t = np.linspace(0, 1, 12)
        curl = np.stack([-0.49 - 0.07 * t, 0.03 * np.sin(t * 5 + look.seed % 7)], 1)
        parts["tail"] = canvas.line(curl, 0.018)
    return parts


def _noise(rng: np.random.Generator, shape: tuple[int, int], blur_px: float) -> FloatImage:
    """Smooth noise of unit standard deviation."""
    field = rng.normal(0, 1, shape).astype(np.float32)
    field = np.asarray(cv2.GaussianBlur(field, (0, 0), blur_px), np.float32)
    return field / max(float(field.std()), 1e-6)


def _skin(look: PigletLook, parts: dict[str, npt.NDArray[np.uint8]], scale: float) -> FloatImage:
    """Skin colour with shading: light along the spine, darker at the flanks and edges."""
    rng = np.random.default_rng(look.seed)
    body = np.maximum(parts["trunk"], parts["head"])
    h, w = body.shape
    dist = cv2.distanceTransform((body > 127).astype(np.uint8), cv2.DIST_L2, 5)
    rounded = np.sqrt(np.clip(dist / max(float(dist.max()), 1.0), 0, 1))
    shade = 0.68 + 0.36 * rounded + 0.03 * _noise(rng, (h, w), scale * 0.05)
    # the key light comes from one side of the barn: one flank a little brighter
    shade += np.linspace(0.03, -0.03, h, dtype=np.float32)[:, None]
    skin = np.array(look.skin_rgb, np.float32) / 255
    rgb = shade[..., None] * skin
    ears = parts["ears"].astype(np.float32)[..., None] / 255
    ear_rgb = skin * np.array([0.95, 0.84, 0.86], np.float32) * 0.92
    ear_edge = ears - cv2.erode(ears, np.ones((3, 3), np.uint8))[..., None] * 0.7
    rgb = rgb * (1 - ears) + ear_rgb * ears - 0.12 * np.clip(ear_edge, 0, 1)
    for name, factor in (("snout", (0.88, 0.7, 0.72)), ("tail", (0.85, 0.72, 0.72))):
        if name in parts:
            a = parts[name].astype(np.float32)[..., None] / 255
            rgb = rgb * (1 - a) + skin * np.array(factor, np.float32) * a
    return _marks(rgb.astype(np.float32), look, body, rng, scale)


def _marks(
    rgb: FloatImage,
    look: PigletLook,
    body: npt.NDArray[np.uint8],
    rng: np.random.Generator,
    scale: float,
) -> FloatImage:
    """Spray-paint marks of the farm and some dirt on the rump."""
    h, w = body.shape
    inside = body.astype(np.float32) / 255
    for _ in range(look.spray_marks):
        paint = np.zeros((h, w), np.float32)
        colour = np.array(_SPRAY_RGB[rng.integers(len(_SPRAY_RGB))], np.float32) / 255
        x = w / 2 + rng.uniform(-0.3, 0.15) * scale
        y = h / 2 + rng.uniform(-0.5, 0.5) * look.width_ratio * scale * 0.6
        length = rng.uniform(0.04, 0.12) * scale
        angle = rng.uniform(0, np.pi)
        dx, dy = np.cos(angle) * length / 2, np.sin(angle) * length / 2
        p0, p1 = (round(x - dx), round(y - dy)), (round(x + dx), round(y + dy))
        cv2.line(paint, p0, p1, 1.0, max(2, round(0.035 * scale)), cv2.LINE_AA)
        blurred = np.asarray(cv2.GaussianBlur(paint, (0, 0), 0.012 * scale), np.float32)
        paint = (blurred * inside).astype(np.float32)
        rgb = (rgb * (1 - 0.75 * paint[..., None]) + colour * 0.75 * paint[..., None]).astype(
            np.float32
        )
    if look.dirt > 0.05:
        grime = np.clip(_noise(rng, (h, w), 0.03 * scale) - 1.0, 0, None)
        ramp = np.clip(np.linspace(1.2, -0.6, w, dtype=np.float32), 0, 1)[None, :]
        grime = np.clip(grime * ramp * look.dirt, 0, 0.6) * inside
        dirt_rgb = np.array([0.45, 0.36, 0.26], np.float32)
        rgb = rgb * (1 - grime[..., None]) + dirt_rgb * grime[..., None]
    return rgb


def draw_piglet(look: PigletLook) -> list[Sprite]:
    """The sprites of `look`, one per gait phase (phase 0 is the standing pose)."""
    canvas = _Canvas(look)
    parts = _silhouettes(look, canvas)
    coverage = np.max(list(parts.values()), axis=0).astype(np.float32) / 255
    premultiplied = _skin(look, parts, canvas.scale) * coverage[..., None]
    leg_rgb = np.array(look.skin_rgb, np.float32) / 255 * np.array([0.78, 0.68, 0.68], np.float32)
    sprites = []
    for phase in range(GAIT_PHASES):
        shapes = _legs(look, phase)
        legs = np.max([canvas.fill(leg) for leg in shapes], axis=0) if shapes else coverage * 0
        under = legs.astype(np.float32) / 255 * (1 - coverage)  # legs show only beside the body
        sprites.append(
            _finish(canvas, premultiplied + leg_rgb * under[..., None], coverage + under)
        )
    return sprites


def _finish(canvas: _Canvas, premultiplied: FloatImage, coverage: FloatImage) -> Sprite:
    """Add the drop shadow and shrink the supersampled drawing to sprite size."""
    reach = max(1, round(0.02 * canvas.scale))
    solid = cv2.dilate(
        (coverage > 0.02).astype(np.uint8), np.ones((3, 3), np.uint8), iterations=reach
    )
    shadow = cv2.GaussianBlur(solid.astype(np.float32), (0, 0), reach * 1.5)
    # saturate the shadow at the body edge so BODY_ALPHA separates body from shadow exactly
    shadow = np.where(cv2.dilate(solid, np.ones((3, 3), np.uint8)) > 0, 1.0, shadow)
    alpha = coverage + SHADOW_OPACITY * shadow * (1 - coverage)
    rgba = np.dstack([premultiplied, alpha]).astype(np.float32)  # the shadow is black
    size = (canvas.w // _SUPERSAMPLE, canvas.h // _SUPERSAMPLE)
    small = np.asarray(cv2.resize(rgba, size, interpolation=cv2.INTER_AREA), np.float32)
    small[..., :3] /= np.maximum(small[..., 3:], 1e-6)
    rgba_u8 = np.clip(small * 255 + 0.5, 0, 255).astype(np.uint8)
    area = float(np.count_nonzero(rgba_u8[..., 3] >= BODY_ALPHA * 255))
    return Sprite(rgba=rgba_u8, body_area_px=area)


def to_infrared(rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """Grey night view under IR light: skin reflects near infrared strongly, paint barely shows."""
    src = rgb.astype(np.float32)
    grey = 0.62 * src[..., 0] + 0.3 * src[..., 1] + 0.08 * src[..., 2]
    grey = 255 * (grey / 255) ** 0.85
    out = np.clip(grey, 0, 255).astype(np.uint8)
    return np.repeat(out[..., None], 3, axis=-1)

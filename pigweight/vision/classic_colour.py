"""Which pixels look like pig skin: a scene-adaptive colour and lightness model.

Seen from above, a pig is one of the brightest things in a pen, and in daylight the only
pinkish one (Lab a* above b*): floors are green plastic, grey or brown concrete, yellow
slats or dark rubber; metal fittings are bright too but neutral. No fixed thresholds:
each channel is split by Otsu on the frame itself, so exposure and camera do not matter.
Lightness is measured against the floor around each place (a lamp lights one end of a
pen), near-white animals are taken as the brightest class even when barely pink, and
camera privacy masks (black) take no part in the statistics. Infrared and washed-out
frames carry no usable chroma and fall back to lightness alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from pigweight.domain import Image

FloatMap = npt.NDArray[np.float32]
Mask = npt.NDArray[np.uint8]
BoolMap = npt.NDArray[np.bool_]

# Below this spread of chroma (Lab a*, b* units) the frame is treated as greyscale (IR at
# night, or a colour camera so washed out that chroma is mostly JPEG noise).
_MIN_CHROMA_SPREAD = 3.0
# Lowest pinkness (Lab a* units, less half the yellow/blue cast) taken as skin.
_MIN_PINK = 1.0
# Metal, walls and paint read at or below this pinkness; the palest pig skin above it.
_NEUTRAL_PINK = -1.0
# Pinkness noise (Lab units) of a neutral surface: JPEG and sensor noise around 0.
_NEUTRAL_PINK_NOISE = 2.0
# Pig skin measures 8-14 on this scale in daylight; a threshold above this cuts skin.
_MAX_PINK_THRESHOLD = 6.0
# Local lightness spread (L* units, 5x5) that is always texture, never smooth skin.
_MIN_TEXTURE = 8.0


@dataclass(frozen=True, slots=True)
class SkinMap:
    """Per-pixel evidence for pig skin at working resolution."""

    mask: Mask  # (h, w) uint8 0/1: pixels taken as pig
    margin: FloatMap  # (h, w) >0 inside; how far above the thresholds, in channel spreads
    lightness: FloatMap  # (h, w) Lab L* 0-255, smoothed, for seams between animals
    uses_colour: bool  # False: greyscale / IR frame, lightness only


# Scene statistics (thresholds, spreads) need far fewer pixels than the frame holds; every
# _SAMPLE_STEP-th one keeps them stable and cuts their cost by that factor.
_SAMPLE_STEP = 7


def _sample(values: FloatMap) -> FloatMap:
    """Every _SAMPLE_STEP-th value of an array, flattened (a co-prime step avoids aliasing
    with row length and with periodic floors)."""
    return values.ravel()[::_SAMPLE_STEP]


def _otsu(channel: FloatMap) -> tuple[float, float]:
    """Otsu threshold of a float channel and its effectiveness (0-1)."""
    channel = _sample(channel)
    lo, hi = np.percentile(channel, (0.5, 99.5))
    if hi - lo < 1e-6:
        return float(hi), 0.0
    scaled = np.clip((channel - lo) * (255.0 / (hi - lo)), 0, 255).astype(np.uint8)
    level, _ = cv2.threshold(scaled, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    hist = np.bincount(scaled.ravel(), minlength=256).astype(np.float64)
    p = hist / hist.sum()
    bins = np.arange(256)
    w0 = p[: int(level) + 1].sum()
    w1 = 1.0 - w0
    total_var = float((p * (bins - (p * bins).sum()) ** 2).sum())
    if w0 <= 0 or w1 <= 0 or total_var <= 0:
        return float(lo + level * (hi - lo) / 255.0), 0.0
    m0 = (p[: int(level) + 1] * bins[: int(level) + 1]).sum() / w0
    m1 = (p[int(level) + 1 :] * bins[int(level) + 1 :]).sum() / w1
    effectiveness = w0 * w1 * (m0 - m1) ** 2 / total_var
    return float(lo + level * (hi - lo) / 255.0), float(effectiveness)


def _spread(channel: FloatMap) -> float:
    """Robust spread (inter-quartile range) with a floor so margins stay finite."""
    q1, q3 = np.percentile(_sample(channel), (25, 75))
    return max(float(q3 - q1), 1.0)


def _local_std(channel: npt.NDArray[np.uint8], window_px: int = 5) -> FloatMap:
    """Standard deviation of a channel over a small square window."""
    values = channel.astype(np.float32)
    mean = cv2.blur(values, (window_px, window_px))
    mean_sq = cv2.blur(values * values, (window_px, window_px))
    return np.sqrt(np.maximum(mean_sq - mean * mean, 0)).astype(np.float32)


# The floor's light level is estimated on a map this many pixels on its longest side, with
# an opening this fraction of it wide: wider than a huddle of animals, narrower than a
# lamp's light cone.
_FLOOR_MAP_PX = 64
_FLOOR_OPENING = 0.3
# Lightness (L* 0-255) below which a pixel is a camera's privacy mask or a dead corner:
# no scene there, so it takes no part in the scene's statistics.
_VOID_LIGHTNESS = 12.0


def _above_floor(channel: FloatMap, scene: BoolMap) -> FloatMap:
    """A channel with the floor's large-scale changes (lamp fall-off, vignetting, worn or
    wet patches) removed: the floor's own level reads as the scene's median.

    Animals are brighter (and pinker) than the floor around them, not than a fixed level:
    a lamp lights the near floor as bright as the animals at the far side of the pen.
    """
    lightness = channel
    height, width = lightness.shape
    typical = float(np.median(_sample(lightness[scene])))
    # Masked-out parts would pull the floor level down next to them: fill them first.
    filled = np.where(scene, lightness, typical).astype(np.float32)
    scale = _FLOOR_MAP_PX / max(height, width)
    small = cv2.resize(filled, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    # An opening wider than the animals replaces each of them with the floor around it.
    floor = cv2.morphologyEx(small, cv2.MORPH_OPEN, _ellipse(_FLOOR_OPENING * _FLOOR_MAP_PX))
    floor = cv2.GaussianBlur(floor, (0, 0), 0.1 * _FLOOR_MAP_PX)
    floor = cv2.resize(floor, (width, height), interpolation=cv2.INTER_LINEAR)
    return np.asarray(lightness - floor + float(np.median(floor)), np.float32)


def _ellipse(diameter_px: float) -> npt.NDArray[np.uint8]:
    size = max(3, round(diameter_px) | 1)
    return np.asarray(cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size)), np.uint8)


def _pinkness(lab: FloatMap, scene: BoolMap) -> FloatMap:
    """Red-green a* less half the yellow/blue cast, in Lab units (0 = neutral grey).

    Blue-white walls and yellow slats are as bright as pigs. b* is taken relative to the
    scene's median so a camera's colour cast (a yellow lamp) does not count against pigs.
    """
    blue_yellow = lab[..., 2] - float(np.median(_sample(lab[..., 2][scene])))
    return np.asarray((lab[..., 1] - 128.0) - 0.5 * np.abs(blue_yellow), np.float32)


def _warmth(lab: FloatMap, scene: BoolMap) -> FloatMap:
    """Pinkness that forgives a cream tint: near-white pigs are faintly red and yellowish
    (a* ~4, b* ~10), which the full yellow penalty would call neutral like paint."""
    blue_yellow = lab[..., 2] - float(np.median(_sample(lab[..., 2][scene])))
    return np.asarray((lab[..., 1] - 128.0) - 0.25 * np.abs(blue_yellow), np.float32)


def _colour_margin(
    flat: FloatMap, pink: FloatMap, warm: FloatMap, light_t: float, scene: BoolMap
) -> FloatMap:
    """Skin evidence of a colour frame: bright and pink, or the brightest and warm."""
    flat_spread = _spread(flat[scene])
    light_margin = (flat - light_t) / flat_spread
    bright = (flat > light_t) & scene
    # Among the bright things (pigs, metal, wet floor) the pigs are the pink ones. When
    # every bright thing is a pig, Otsu on them splits pink pigs from white ones; the split
    # between all pigs and the floor is then the lower, whole-scene one.
    pink_bright = pink[bright]
    pink_t = _otsu(pink_bright)[0] if pink_bright.size > 100 else np.inf
    pink_t = min(pink_t, _otsu(pink[scene])[0])
    # Skin is at least faintly red; Otsu must not cut through skin when all are pigs.
    pink_t = float(np.clip(pink_t, _MIN_PINK, _MAX_PINK_THRESHOLD))
    margin = np.minimum(light_margin, (pink - pink_t) / _spread(pink[scene]))
    # White pigs are barely pink: they count where they are the brighter class of the
    # bright things (a second Otsu split) and not green or blue (cream is fine).
    upper = flat[bright]
    white_t = _otsu(upper)[0] if upper.size > 100 else light_t
    white = np.minimum((flat - white_t) / flat_spread, (warm - _NEUTRAL_PINK) / _NEUTRAL_PINK_NOISE)
    return np.asarray(np.maximum(margin, white), np.float32)


def _texture_margin(rgb: Image) -> FloatMap:
    """>0 where the frame is smooth like skin; slats and grids are fine bright-dark stripes."""
    # Grey (luma) follows L* closely at this scale and costs a tenth of a Lab conversion.
    texture = _local_std(np.asarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), np.uint8))
    tex_t, _ = _otsu(texture)
    # Sensor noise and skin shading stay below this local spread (L* units) on any camera.
    tex_t = max(tex_t, _MIN_TEXTURE)
    return np.asarray((tex_t - texture) / _spread(texture), np.float32)


# Animals on a platform or pen floor cover at most this share of the scene; a skin mask
# covering more has taken in the floor.
_MAX_COVER = 0.6


def _margin(
    flat: FloatMap, chroma: tuple[FloatMap, FloatMap] | None, light_t: float, scene: BoolMap
) -> FloatMap:
    """Skin evidence from lightness and, in colour frames, (pinkness, warmth)."""
    if chroma is not None:
        return _colour_margin(flat, chroma[0], chroma[1], light_t, scene)
    return np.asarray((flat - light_t) / _spread(flat[scene]), np.float32)


# Chroma (Lab units from the frame's median colour) that JPEG noise and a washed-out
# camera do not reach; a frame with this share of such pixels has real colour in it (one
# pink animal on a grey floor moves the frame's chroma spread little).
_STRONG_CHROMA = 8.0
_MIN_CHROMATIC_SHARE = 0.003


def _has_colour(lab: FloatMap) -> bool:
    """Whether a frame carries usable chroma (not an IR or washed-out frame)."""
    a_star, b_star = _sample(lab[..., 1]), _sample(lab[..., 2])
    if float(np.hypot(np.std(a_star), np.std(b_star))) >= _MIN_CHROMA_SPREAD:
        return True
    chroma = np.hypot(a_star - np.median(a_star), b_star - np.median(b_star))
    return float((chroma > _STRONG_CHROMA).mean()) >= _MIN_CHROMATIC_SHARE


# Lightness alone parts animals from the floor when its Otsu split is this clean (between-
# class share of the variance): a pen of pale animals on a dark floor, not an empty floor.
_CLEAR_LIGHT_SPLIT = 0.69
# Pink skin reads 8-14; bright things of which nearly none reach this are not pink animals.
_PINK_BRIGHT_SHARE = 90.0


def _pink_uninformative(bright_pink: FloatMap, light_split: float, scene: BoolMap) -> bool:
    """Colour cannot part animals from fittings: the bright things are no pinker than paint
    (pale animals under a cold lamp, a weakly saturated camera), while lightness parts them
    cleanly from the floor. Pinkness would then keep only the pinkest patches of each animal.

    A bright class covering most of the scene is the floor itself (slats, a pale mat).
    """
    if bright_pink.size < 100 or light_split < _CLEAR_LIGHT_SPLIT:
        return False
    if bright_pink.size > _MAX_COVER * float(scene.sum()):
        return False
    return float(np.percentile(bright_pink, _PINK_BRIGHT_SHARE)) < _MAX_PINK_THRESHOLD


def skin_map(rgb: Image) -> SkinMap:
    """Pig-skin evidence of a working-size RGB frame."""
    smooth = cv2.GaussianBlur(rgb, (0, 0), 1.0)
    lab = cv2.cvtColor(smooth, cv2.COLOR_RGB2Lab).astype(np.float32)
    lightness = lab[..., 0]
    scene = lightness >= _VOID_LIGHTNESS
    if int(scene.sum()) < 100:
        scene = np.ones_like(scene)
    flat = _above_floor(lightness, scene)
    # A frame with any real chroma is a colour frame: there, skin must be pink, so a bare
    # green or grey floor yields nothing. Chroma-free (IR) frames use lightness alone, and
    # so do frames whose bright things are all about as pink as paint (pale animals under
    # a cold lamp) while lightness alone parts them cleanly from the floor.
    uses_colour = _has_colour(lab)
    pink = _pinkness(lab, scene) if uses_colour else None
    light_t, light_split = _otsu(flat[scene])
    bright = (flat > light_t) & scene
    if pink is not None and _pink_uninformative(pink[bright], light_split, scene):
        pink, uses_colour = None, False
    chroma = None if pink is None else (pink, _warmth(lab, scene))
    texture = _texture_margin(rgb)
    margin = np.minimum(_margin(flat, chroma, light_t, scene), texture)
    if float((margin[scene] > 0).mean()) > _MAX_COVER:
        # Otsu split the floor itself (a blotchy floor, few animals): the animals are the
        # brighter part of its bright class.
        light_t, _ = _otsu(flat[scene & (flat > light_t)])
        margin = np.minimum(_margin(flat, chroma, light_t, scene), texture)
    margin[~scene] = -1.0
    # Per-pixel decisions are noisy (sensor noise, JPEG blocks): a majority vote over
    # 5x5 pixels fills pinholes in skin and removes isolated specks on the floor.
    mask = np.asarray(cv2.medianBlur((margin > 0).astype(np.uint8), 5), np.uint8)
    return SkinMap(mask, margin.astype(np.float32), lightness, uses_colour)

"""Which pixels look like pig skin: a scene-adaptive colour and lightness model.

Seen from above, a pig is one of the brightest things in a pen, and in daylight the only
pinkish one (Lab a* above b*): floors are green plastic, grey or brown concrete, yellow
slats or dark rubber; metal fittings are bright too but neutral. No fixed thresholds:
each channel is split by Otsu on the frame itself, so exposure and camera do not matter.
Infrared and washed-out frames carry no usable chroma and fall back to lightness alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from pigweight.domain import Image

FloatMap = npt.NDArray[np.float32]
Mask = npt.NDArray[np.uint8]

# Below this spread of chroma (Lab a*, b* units) the frame is treated as greyscale (IR at
# night, or a colour camera so washed out that chroma is mostly JPEG noise).
_MIN_CHROMA_SPREAD = 3.0
# Lowest pinkness (Lab a* units, less half the yellow/blue cast) taken as skin.
_MIN_PINK = 1.5
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


def _otsu(channel: FloatMap) -> tuple[float, float]:
    """Otsu threshold of a float channel and its effectiveness (0-1)."""
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
    q1, q3 = np.percentile(channel, (25, 75))
    return max(float(q3 - q1), 1.0)


def _local_std(channel: npt.NDArray[np.uint8], window_px: int = 5) -> FloatMap:
    """Standard deviation of a channel over a small square window."""
    values = channel.astype(np.float32)
    mean = cv2.blur(values, (window_px, window_px))
    mean_sq = cv2.blur(values * values, (window_px, window_px))
    return np.sqrt(np.maximum(mean_sq - mean * mean, 0)).astype(np.float32)


def skin_map(rgb: Image) -> SkinMap:
    """Pig-skin evidence of a working-size RGB frame."""
    smooth = cv2.GaussianBlur(rgb, (0, 0), 1.0)
    lab = cv2.cvtColor(smooth, cv2.COLOR_RGB2Lab).astype(np.float32)
    lightness = lab[..., 0]
    # Pinkness: red-green a* up, any yellow or blue cast down (blue-white walls and
    # yellow slats are as bright as pigs). b* is taken relative to the frame's median so
    # a camera's colour cast (a yellow farrowing lamp) does not count against the pigs.
    blue_yellow = lab[..., 2] - float(np.median(lab[..., 2]))
    pink = (lab[..., 1] - 128.0) - 0.5 * np.abs(blue_yellow)
    light_t, _ = _otsu(lightness)
    light_margin = (lightness - light_t) / _spread(lightness)
    # Among the bright things (pigs, metal, wet floor) the pigs are the pink ones.
    bright = pink[lightness > light_t]
    pink_t, _ = _otsu(bright if bright.size > 100 else pink)
    # A frame with any real chroma is a colour frame: there, skin must be pink, so a bare
    # green or grey floor yields nothing. Only chroma-free (IR) frames use lightness alone.
    chroma_spread = float(np.hypot(np.std(lab[..., 1]), np.std(lab[..., 2])))
    uses_colour = chroma_spread >= _MIN_CHROMA_SPREAD
    if uses_colour:
        # Pig skin is at least faintly red (a* > 0 after the cast is removed); a neutral or
        # green floor never is, however Otsu splits it.
        # and Otsu must not cut through the skin itself when the bright set is all pigs.
        pink_t = float(np.clip(pink_t, _MIN_PINK, _MAX_PINK_THRESHOLD))
        pink_margin = (pink - pink_t) / _spread(pink)
        margin = np.minimum(light_margin, pink_margin)
    else:
        margin = light_margin
    # Skin is smooth; slatted floors and grids are bright-dark stripes at a fine scale.
    texture = _local_std(np.asarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab)[..., 0], np.uint8))
    tex_t, _ = _otsu(texture)
    # Sensor noise and skin shading stay below this local spread (L* units) on any camera.
    tex_t = max(tex_t, _MIN_TEXTURE)
    tex_margin = (tex_t - texture) / _spread(texture)
    margin = np.minimum(margin, tex_margin)
    # Per-pixel decisions are noisy (sensor noise, JPEG blocks): a majority vote over
    # 5x5 pixels fills pinholes in skin and removes isolated specks on the floor.
    mask = cv2.medianBlur((margin > 0).astype(np.uint8), 5)
    return SkinMap(mask, margin.astype(np.float32), lightness, uses_colour)

"""From a pig-skin mask to one region per animal.

Piglets lie side by side, so the skin mask joins them into clusters. The size of one
animal is read from the scene itself (the camera height differs per farm): the typical
half-width is the median distance-transform value along the blobs' spines, and the area
of one animal is the median area of the blobs that look like a single pig. Clusters are
cut along dark seams, then by watershed from h-maxima of the distance transform; a
region still much larger than one animal is divided by area.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt
from skimage.morphology import h_maxima
from skimage.segmentation import watershed

Labels = npt.NDArray[np.int32]
Mask = npt.NDArray[np.uint8]
FloatMap = npt.NDArray[np.float32]

# Seen from above a lying piglet is ~4 times longer than wide (with the head); area in
# units of the squared spine half-width, measured on weaner pens; the scene refines it.
_AREA_PER_HALF_WIDTH_SQ = 12.0
_MIN_HALF_WIDTH_PX = 3.0


@dataclass(frozen=True, slots=True)
class AnimalSize:
    """The size of one animal in the current scene, in working pixels."""

    half_width_px: float
    area_px: float


def _disk(radius_px: float) -> npt.NDArray[np.uint8]:
    size = max(1, round(radius_px) * 2 + 1)
    return np.asarray(cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size)), np.uint8)


def estimate_size(mask: Mask) -> AnimalSize | None:
    """Typical animal size from the blobs of a skin mask; None when there are none."""
    dist = np.asarray(cv2.distanceTransform(mask, cv2.DIST_L2, 5), np.float32)
    # An animal narrower than 1.2 % of the frame would be too small to count reliably.
    smallest = max(_MIN_HALF_WIDTH_PX, 0.006 * max(mask.shape))
    floor = max(smallest, 0.3 * float(dist.max()))
    ridge = (dist >= floor) & (dist >= cv2.dilate(dist, _disk(1)))
    if int(ridge.sum()) < 5:
        return None
    # Spines of single animals dominate the ridge pixels: a cluster adds few, wider
    # ones; specks and legs are below the floor. The median is robust to both.
    half_width = float(np.median(dist[ridge]))
    return AnimalSize(half_width, _single_area(mask, dist, half_width))


def _single_area(mask: Mask, dist: FloatMap, half_width: float) -> float:
    """Median area of the blobs shaped like one animal, else the ellipse prior."""
    prior = _AREA_PER_HALF_WIDTH_SQ * half_width**2
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if count <= 1:
        return prior
    peak = np.zeros(count, np.float32)
    np.maximum.at(peak, np.asarray(labels, np.intp).ravel(), dist.ravel())
    areas = stats[:, cv2.CC_STAT_AREA].astype(np.float64)
    single = (
        (peak > 0.75 * half_width)
        & (peak < 1.4 * half_width)
        & (areas > 0.5 * prior)
        & (areas < 1.6 * prior)
    )
    single[0] = False
    if int(single.sum()) < 2:
        return prior
    return float(np.median(areas[single]))


def clean_mask(mask: Mask, size: AnimalSize) -> Mask:
    """Drop legs, tails, bars and specks thinner than a fraction of an animal."""
    opened = cv2.morphologyEx(mask, cv2.MORPH_OPEN, _disk(0.4 * size.half_width_px))
    _count, labels, stats, _ = cv2.connectedComponentsWithStats(opened, connectivity=8)
    keep = stats[:, cv2.CC_STAT_AREA] >= 0.25 * size.area_px
    keep[0] = False
    return keep[labels].astype(np.uint8)


def cut_seams(mask: Mask, lightness: FloatMap, size: AnimalSize) -> Mask:
    """Remove the dark creases between animals lying against each other."""
    width = max(3, round(0.5 * size.half_width_px) | 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (width, width))
    crease = cv2.morphologyEx(lightness, cv2.MORPH_BLACKHAT, kernel)
    inside = crease[mask > 0]
    if inside.size == 0:
        return mask
    # A crease is much darker than the skin's own shading (dirt spots, hair, ribs).
    q1, q3 = np.percentile(inside, (25, 75))
    level = max(10.0, float(q3 + 3.0 * (q3 - q1)))
    dark = ((crease >= level) & (mask > 0)).astype(np.uint8)
    # Only long dark lines part animals; spots (ear tags, spray marks) are short.
    _count, labels, stats, _ = cv2.connectedComponentsWithStats(dark, connectivity=8)
    extent = np.maximum(stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT])
    long_line = extent >= 1.0 * size.half_width_px
    long_line[0] = False
    return (mask > 0).astype(np.uint8) & (~long_line[labels]).astype(np.uint8)


def split_regions(mask: Mask, size: AnimalSize) -> Labels:
    """Label image with one region per animal (0 = background)."""
    dist = cv2.distanceTransform(mask, cv2.DIST_L2, 5)
    peaks = h_maxima(dist, 0.3 * size.half_width_px)
    peaks &= (dist > 0.5 * size.half_width_px).astype(peaks.dtype)
    n_peaks, markers = cv2.connectedComponents(peaks.astype(np.uint8), connectivity=8)
    # A blob without a clear peak (flat, or thinner than the peak floor) is still one
    # region: seed it whole rather than lose it.
    blobs, blob_labels = cv2.connectedComponents((mask > 0).astype(np.uint8), connectivity=8)
    seeded = np.zeros(blobs, bool)
    seeded[blob_labels[markers > 0]] = True
    unseeded = ~seeded[blob_labels] & (blob_labels > 0)
    markers[unseeded] = blob_labels[unseeded] + n_peaks
    labels = watershed(-dist, markers, mask=mask > 0).astype(np.int32)
    labels = _merge_fragments(labels, size)
    labels = _merge_cut_bodies(labels, size)
    labels = _divide_oversized(labels, size)
    areas = np.bincount(labels.ravel())
    too_small = areas < 0.3 * size.area_px
    too_small[0] = False
    labels[too_small[labels]] = 0
    return labels


def _merge_fragments(labels: Labels, size: AnimalSize) -> Labels:
    """Join regions far smaller than one animal to the neighbour they touch most."""
    out = labels.copy()
    areas = np.bincount(out.ravel())
    for region in np.argsort(areas)[:]:
        if region == 0 or areas[region] == 0 or areas[region] >= 0.45 * size.area_px:
            continue
        own = (out == region).astype(np.uint8)
        ring = cv2.dilate(own, _disk(1)) & (own == 0)
        touching = out[(ring > 0) & (out > 0)]
        if touching.size == 0:
            continue
        target = int(np.bincount(touching).argmax())
        out[own > 0] = target
        areas[target] += areas[region]
        areas[region] = 0
    return out


def _shared_borders(labels: Labels) -> dict[tuple[int, int], int]:
    """Length in pixels of the border between each pair of touching regions."""
    pairs: dict[tuple[int, int], int] = {}
    for a, b in ((labels[:, :-1], labels[:, 1:]), (labels[:-1, :], labels[1:, :])):
        touch = (a != b) & (a > 0) & (b > 0)
        lo = np.minimum(a[touch], b[touch]).astype(np.int64)
        hi = np.maximum(a[touch], b[touch]).astype(np.int64)
        keys, counts = np.unique(lo * (int(labels.max()) + 1) + hi, return_counts=True)
        for key, n in zip(keys.tolist(), counts.tolist(), strict=True):
            pair = divmod(key, int(labels.max()) + 1)
            pairs[pair] = pairs.get(pair, 0) + n
    return pairs


def _merge_cut_bodies(labels: Labels, size: AnimalSize) -> Labels:
    """Rejoin one animal that the watershed cut across its body (shoulder vs hip peak).

    Two neighbours are one animal when together they are no bigger than a large one, and the
    border between them is as wide as a body; two animals touch over a short border.
    """
    areas = np.bincount(labels.ravel()).astype(np.float64)
    parent = np.arange(len(areas))

    def root(i: int) -> int:
        while parent[i] != i:
            i = int(parent[i])
        return i

    borders = sorted(_shared_borders(labels).items(), key=lambda kv: -kv[1])
    for (a, b), border_px in borders:
        ra, rb = root(a), root(b)
        if ra == rb or border_px < 1.2 * size.half_width_px:
            continue
        if areas[ra] + areas[rb] > 1.8 * size.area_px:
            continue
        parent[rb] = ra
        areas[ra] += areas[rb]
    lookup = np.array([root(i) for i in range(len(areas))], np.int32)
    return lookup[labels]


def _divide_oversized(labels: Labels, size: AnimalSize) -> Labels:
    """Divide a region holding several animals into that many compact parts."""
    out = labels.copy()
    next_label = int(out.max()) + 1
    areas = np.bincount(out.ravel())
    for region in range(1, len(areas)):
        # Lens distortion and growth make animals of one pen differ by +-30 % in area,
        # so a region needs 1.85 animals' worth of pixels before it is divided.
        parts = int(areas[region] / size.area_px + 0.15)
        if parts < 2:
            continue
        ys, xs = np.nonzero(out == region)
        points = np.column_stack([xs, ys]).astype(np.float32)
        criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 0.5)
        # Fixed initial centres (KMEANS_PP with a fixed RNG seed) keep frames deterministic.
        cv2.setRNGSeed(region)
        _, assign, _ = cv2.kmeans(
            points, parts, np.zeros((len(points), 1), np.int32), criteria, 2, cv2.KMEANS_PP_CENTERS
        )
        assign = assign.ravel()
        for part in range(1, parts):
            sel = assign == part
            out[ys[sel], xs[sel]] = next_label
            next_label += 1
    return out

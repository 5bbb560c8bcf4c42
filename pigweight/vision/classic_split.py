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

from pigweight.vision.classic_shape import region_moments, shaped_like_one, typical_axes_px

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


def estimate_size(mask: Mask) -> tuple[AnimalSize, Mask] | None:
    """Typical animal size from the blobs of a skin mask, and the mask without legs, tails
    and bars (opened by a disk of 0.4 half-widths); None when there are no blobs."""
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
    bodies = np.asarray(cv2.morphologyEx(mask, cv2.MORPH_OPEN, _disk(0.4 * half_width)), np.uint8)
    return AnimalSize(half_width, _single_area(bodies, dist, half_width)), bodies


# A blob this convex (area over its convex hull's) is one animal lying or standing
# alone; two animals end to end, or in an L, are less convex.
_MIN_SINGLE_SOLIDITY = 0.85


def _single_area(bodies: Mask, dist: FloatMap, half_width: float) -> float:
    """Median body area of the blobs shaped like one animal, else the ellipse prior.

    Bodies are measured without legs and tails (the same opening as `clean_mask`), so the
    area compares with the regions that splitting produces.
    """
    prior = _AREA_PER_HALF_WIDTH_SQ * half_width**2
    count, labels, stats, _ = cv2.connectedComponentsWithStats(bodies, connectivity=8)
    if count <= 1:
        return prior
    areas = stats[:, cv2.CC_STAT_AREA].astype(np.float64)
    single = []
    for blob in range(1, count):
        # Not a speck, not a whole huddle.
        if not 0.4 * prior < areas[blob] < 4.0 * prior:
            continue
        box = _box(stats[blob])
        inside = labels[box] == blob
        # One spine about as wide as the scene's typical one.
        peak = float(dist[box][inside].max())
        if 0.75 * half_width < peak < 2.0 * half_width and (
            _solidity(inside) >= _MIN_SINGLE_SOLIDITY
        ):
            single.append(float(areas[blob]))
    # Three agreeing are animals. One or two may be parts (a head behind a bar), which are
    # smaller than an animal: they never lower the estimate below the prior, but whole
    # animals larger than it raise it. Falling back to the prior alone made the estimate
    # jump by 2x between two frames that differ by a few pixels (one blob's solidity just
    # under the cut), and the count with it.
    if not single:
        return prior
    if len(single) < 3:
        return max(prior, float(np.median(single)))
    return float(np.median(single))


def _box(stat: npt.NDArray[np.int32]) -> tuple[slice, slice]:
    x, y, w, h = (int(v) for v in stat[:4])
    return slice(y, y + h), slice(x, x + w)


def _solidity(blob: npt.NDArray[np.bool_]) -> float:
    """Area of a blob over the area of its convex hull (1 for a convex shape)."""
    contours, _ = cv2.findContours(
        blob.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE
    )
    if not contours:
        return 0.0
    points = np.concatenate(contours)
    hull_area = float(cv2.contourArea(cv2.convexHull(points)))
    return float(blob.sum()) / hull_area if hull_area > 0 else 0.0


def clean_mask(opened: Mask, size: AnimalSize) -> Mask:
    """Drop the specks left in the opened mask of `estimate_size` (under 1/4 animal)."""
    _count, labels, stats, _ = cv2.connectedComponentsWithStats(opened, connectivity=8)
    keep = stats[:, cv2.CC_STAT_AREA] >= 0.25 * size.area_px
    keep[0] = False
    return keep[labels].astype(np.uint8)


# A crease between animals is darker (L* units, black-hat) than this, and darker than the
# skin's own texture (hair, dirt, ribs), which this percentile of the skin pixels bounds:
# creases are thin lines, a few per cent of an animal's pixels at most.
_MIN_CREASE = 6.0
_SKIN_TEXTURE_SHARE = 95.0


def cut_seams(mask: Mask, lightness: FloatMap, size: AnimalSize) -> Mask:
    """Remove the dark creases between animals lying against each other."""
    width = max(3, round(0.5 * size.half_width_px) | 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (width, width))
    crease = cv2.morphologyEx(lightness, cv2.MORPH_BLACKHAT, kernel)
    inside = crease[mask > 0]
    if inside.size == 0:
        return mask
    # A crease is much darker than the skin's own shading (dirt spots, hair, ribs).
    q1, q3, texture = np.percentile(inside, (25, 75, _SKIN_TEXTURE_SHARE))
    level = max(_MIN_CREASE, float(q3 + 3.0 * (q3 - q1)), float(texture))
    dark = ((crease >= level) & (mask > 0)).astype(np.uint8)
    # Only long dark lines part animals; spots (ear tags, spray marks) are short.
    _count, labels, stats, _ = cv2.connectedComponentsWithStats(dark, connectivity=8)
    extent = np.maximum(stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT])
    long_line = extent >= 1.0 * size.half_width_px
    long_line[0] = False
    return (mask > 0).astype(np.uint8) & (~long_line[labels]).astype(np.uint8)


# Splitting runs on the mask shrunk until an animal's spine half-width is about this many
# pixels: enough to place the borders between animals, and the cost falls with the square
# of the factor. The outlines are restored at full size afterwards (classic_refine).
_SPLIT_HALF_WIDTH_PX = 12.0


def split_regions(mask: Mask, size: AnimalSize) -> Labels:
    """Label image with one region per animal (0 = background)."""
    factor = max(1, int(size.half_width_px / _SPLIT_HALF_WIDTH_PX))
    if factor == 1:
        return _drop_specks(_split_at_scale(mask, size), size)
    height, width = mask.shape
    small = cv2.resize(
        mask.astype(np.float32), None, fx=1 / factor, fy=1 / factor, interpolation=cv2.INTER_AREA
    )
    small_size = AnimalSize(size.half_width_px / factor, size.area_px / factor**2)
    labels = _split_at_scale((small > 0.5).astype(np.uint8), small_size)
    full = cv2.resize(labels, (width, height), interpolation=cv2.INTER_NEAREST)
    return _drop_specks(np.where(mask > 0, full, 0).astype(np.int32), size)


def _flood(dist: FloatMap, markers: Labels, mask: Mask, size: AnimalSize) -> Labels:
    """Watershed of the distance map from the seeds, at half size where animals are large.

    The borders it draws run along the distance map's valleys, which are many pixels wide;
    every mask pixel then takes the label of the nearest flooded one.
    """
    if size.half_width_px < 2 * _PEAK_HALF_WIDTH_PX:
        return np.asarray(watershed(-dist, markers, mask=mask > 0), np.int32)
    # Seeds are single pixels: max-pool them so that none falls between the kept pixels.
    pooled = cv2.dilate(markers.astype(np.float32), np.ones((2, 2), np.uint8), anchor=(0, 0))
    small = np.asarray(
        watershed(-dist[::2, ::2], pooled[::2, ::2].astype(np.int32), mask=mask[::2, ::2] > 0),
        np.int32,
    )
    height, width = mask.shape
    full = cv2.resize(small, (width, height), interpolation=cv2.INTER_NEAREST)
    flooded = full > 0
    if not flooded.any():
        return np.zeros((height, width), np.int32)
    _dist, nearest = cv2.distanceTransformWithLabels(
        (~flooded).astype(np.uint8), cv2.DIST_L2, 3, labelType=cv2.DIST_LABEL_PIXEL
    )
    # DIST_LABEL_PIXEL numbers the zero pixels (the flooded ones) in raster order.
    owner = full[flooded][np.asarray(nearest, np.intp) - 1]
    return np.where(mask > 0, owner, 0).astype(np.int32)


def _split_at_scale(mask: Mask, size: AnimalSize) -> Labels:
    dist = np.asarray(cv2.distanceTransform(mask, cv2.DIST_L2, 5), np.float32)
    n_peaks, markers = _peak_markers(dist, size)
    # A blob without a clear peak (flat, or thinner than the peak floor) is still one
    # region: seed it whole rather than lose it.
    blobs, blob_labels = cv2.connectedComponents((mask > 0).astype(np.uint8), connectivity=8)
    seeded = np.zeros(blobs, bool)
    seeded[blob_labels[markers > 0]] = True
    unseeded = ~seeded[blob_labels] & (blob_labels > 0)
    markers[unseeded] = blob_labels[unseeded] + n_peaks
    labels = _flood(dist, markers, mask, size)
    labels = _merge_fragments(labels, size)
    labels = _merge_cut_bodies(labels, size)
    return _divide_oversized(labels, size)


def _drop_specks(labels: Labels, size: AnimalSize) -> Labels:
    """Remove regions under a third of an animal: bits of legs, heads behind bars."""
    areas = np.bincount(labels.ravel())
    too_small = areas < 0.3 * size.area_px
    too_small[0] = False
    return np.where(too_small[labels], 0, labels).astype(np.int32)


# Peaks are found on a distance map shrunk until an animal is this many pixels across its
# half-width: the map is smooth at that scale, and h-maxima costs grow with the pixel count.
_PEAK_HALF_WIDTH_PX = 6.0


def _peak_markers(dist: FloatMap, size: AnimalSize) -> tuple[int, Labels]:
    """Seeds for the watershed: one per distance-map peak that stands out by h."""
    factor = max(1, int(size.half_width_px / _PEAK_HALF_WIDTH_PX))
    height, width = dist.shape
    small = dist[::factor, ::factor] if factor > 1 else dist
    peaks = h_maxima(small, 0.3 * size.half_width_px)
    peaks &= (small > 0.5 * size.half_width_px).astype(peaks.dtype)
    n_peaks, small_markers = cv2.connectedComponents(peaks.astype(np.uint8), connectivity=8)
    markers = np.zeros((height, width), np.int32)
    # Each seed goes back as its single pixel (not a block): a block could reach over the
    # skin's edge or into the neighbour across a thin seam.
    ys, xs = np.nonzero(small_markers)
    markers[ys * factor, xs * factor] = small_markers[ys, xs]
    return n_peaks - 1 if n_peaks > 0 else 0, markers


class _Merges:
    """Which regions were merged into which (a union-find over region labels)."""

    def __init__(self, n: int) -> None:
        self.parent = np.arange(n)  # parent[r] = r: r stands for itself

    def root(self, i: int) -> int:
        """The region `i` now belongs to."""
        while self.parent[i] != i:
            i = int(self.parent[i])
        return i

    def relabel(self, labels: Labels) -> Labels:
        """`labels` with every region replaced by the region it was merged into."""
        lookup = np.array([self.root(i) for i in range(len(self.parent))], np.int32)
        return lookup[labels]


def _merge_fragments(labels: Labels, size: AnimalSize) -> Labels:
    """Join regions far smaller than one animal to the neighbour they touch most."""
    areas = np.bincount(labels.ravel()).astype(np.float64)
    regions = _Merges(len(areas))
    root = regions.root
    borders = _shared_borders(labels)
    for region in np.argsort(areas).tolist():
        if region == 0 or areas[region] == 0 or areas[region] >= 0.45 * size.area_px:
            continue
        own = root(region)
        # Borders are summed over everything already merged on either side.
        touching: dict[int, int] = {}
        for (a, b), border_px in borders.items():
            ra, rb = root(a), root(b)
            if ra != rb and own in (ra, rb):
                other = rb if ra == own else ra
                touching[other] = touching.get(other, 0) + border_px
        if not touching:
            continue
        target = max(touching, key=lambda k: touching[k])
        regions.parent[own] = target
        areas[target] += areas[own]
        areas[own] = 0
    return regions.relabel(labels)


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


# Animals of one pen differ by about +-30 % in area.
_ONE_ANIMAL_AREA = 1.3


def _merge_cut_bodies(labels: Labels, size: AnimalSize) -> Labels:
    """Rejoin one animal that the watershed cut across its body (shoulder vs hip peak).

    Two neighbours are one animal when together they are no bigger than a large one, and the
    border between them is as wide as a body; two animals touch over a short border.
    """
    areas = np.bincount(labels.ravel()).astype(np.float64)
    regions = _Merges(len(areas))
    root = regions.root
    moments = region_moments(labels)
    typical = typical_axes_px(moments, size.area_px)
    borders = sorted(_shared_borders(labels).items(), key=lambda kv: -kv[1])
    for (a, b), border_px in borders:
        ra, rb = root(a), root(b)
        if ra == rb or not shaped_like_one(moments, ra, rb, typical):
            continue
        together = (areas[ra] + areas[rb]) / size.area_px
        # Two pieces that make up only one animal's worth are one animal even where they
        # touch over a narrow waist: two animals of one pen are not half-size each.
        one_body = together <= 1.8 and border_px >= 1.2 * size.half_width_px
        one_animal = together <= _ONE_ANIMAL_AREA and border_px >= 0.5 * size.half_width_px
        if not (one_body or one_animal):
            continue
        regions.parent[rb] = ra
        areas[ra] += areas[rb]
        moments.add(ra, rb)
    return regions.relabel(labels)


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

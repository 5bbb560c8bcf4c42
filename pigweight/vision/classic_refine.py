"""Give each animal back the pixels that splitting trimmed: legs, ears, rims and marks.

Splitting works on a mask opened to the animals' bodies, so its regions lack legs, ears,
snouts, the soft rim of the skin and the spray marks on the back. Each skin pixel (and each
enclosed hole) near a region is handed to the nearest region.
"""

from __future__ import annotations

import cv2
import numpy as np
from scipy import ndimage

from pigweight.vision.classic_split import AnimalSize, Labels, Mask

# Legs, ears and tails reach about this far (in spine half-widths) from the opened body.
_REACH_HALF_WIDTHS = 0.8
# Blur and the median vote shave about this much (working pixels) off every outline.
_RIM_PX = 1.5


def _fill_holes(labels: Labels) -> Labels:
    """Each region with its own enclosed holes (spray marks, dirt, ear shadows) filled.

    Only holes inside one region: floor seen in a gap between several animals stays floor.
    """
    out = labels.copy()
    for region, box in enumerate(ndimage.find_objects(labels), start=1):
        if box is None:
            continue
        own = (labels[box] == region).astype(np.uint8)
        height, width = own.shape
        flood = np.zeros((height + 4, width + 4), np.uint8)
        flood[2:-2, 2:-2] = own
        # Flood the outside from the box's margin; what stays unreached is a hole.
        cv2.floodFill(flood, None, (0, 0), 1)
        holes = flood[2:-2, 2:-2] == 0
        out[box][holes & (labels[box] == 0)] = region
    return out


def grow_to_skin(labels: Labels, skin: Mask, size: AnimalSize) -> Labels:
    """Labels extended over the nearby skin pixels, each to its nearest region."""
    inside = labels > 0
    if not inside.any():
        return labels
    dist, nearest = cv2.distanceTransformWithLabels(
        (~inside).astype(np.uint8), cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_PIXEL
    )
    # DIST_LABEL_PIXEL numbers the zero pixels (the labelled ones) in raster order.
    owner = labels[inside][np.asarray(nearest, np.intp) - 1]
    reach_px = _REACH_HALF_WIDTHS * size.half_width_px
    grown = ((skin > 0) & (dist <= reach_px)) | (dist <= _RIM_PX)
    return _fill_holes(np.where(grown, owner, 0).astype(np.int32))

"""Instance masks from YOLO prototypes, computed only where each animal is.

mask_i = sigmoid(coeffs_i @ protos) lives on the prototype grid (input / 4). Instead of
building every (H/4, W/4) mask, upsampling it to the input, cutting the padding and
resizing again to the frame (three full-frame passes per animal), each mask is evaluated
on the few prototype cells under its box and warped in one bilinear step straight onto
the frame pixels of that box. Outside its box a mask is empty (Ultralytics crops masks to
their box the same way; here the crop is at frame resolution, as its `retina_masks`).
"""

from __future__ import annotations

import math
import mmap

import cv2
import numpy as np
import numpy.typing as npt

from pigweight.vision.yolo_letterbox import Letterbox

LOGIT_LIMIT = 60.0  # sigmoid is 0 or 1 in float32 long before; keeps exp() from overflowing


def masks_in_frame(
    coeffs: npt.NDArray[np.float32],
    protos: npt.NDArray[np.float32],
    boxes_frame: npt.NDArray[np.float32],
    box: Letterbox,
) -> npt.NDArray[np.bool_]:
    """(N, H, W) bool masks at frame size from (N, M) coeffs and (M, mh, mw) protos."""
    frame_h, frame_w = box.frame_hw
    masks = zeroed_masks(len(coeffs), frame_h, frame_w)
    ax, bx, ay, by = _frame_to_proto(box, protos.shape[1:])
    for i, (x1, y1, x2, y2) in enumerate(boxes_frame.tolist()):
        # Frame pixels whose index lies in [x1, x2): Ultralytics' crop_mask rule.
        fx0, fx1 = _pixel_span(x1, x2, frame_w)
        fy0, fy1 = _pixel_span(y1, y2, frame_h)
        if fx0 >= fx1 or fy0 >= fy1:
            continue
        px0, px1 = _proto_span(fx0, fx1, ax, bx, protos.shape[2])
        py0, py1 = _proto_span(fy0, fy1, ay, by, protos.shape[1])
        window = protos[:, py0:py1, px0:px1]
        logits = (coeffs[i] @ window.reshape(len(window), -1)).reshape(py1 - py0, px1 - px0)
        prob = _sigmoid(logits)
        # dst(u, v) = prob(ax * u + ox, ay * v + oy): inverse map, frame box -> window.
        matrix = np.array(
            [[ax, 0.0, ax * fx0 + bx - px0], [0.0, ay, ay * fy0 + by - py0]], np.float64
        )
        warped = cv2.warpAffine(
            prob,
            matrix,
            (fx1 - fx0, fy1 - fy0),
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_REPLICATE,
        )
        np.greater(warped, 0.5, out=masks[i, fy0:fy1, fx0:fx1])
    return masks


def zeroed_masks(count: int, height: int, width: int) -> npt.NDArray[np.bool_]:
    """An all-False (count, H, W) array whose pages the kernel zeroes only where written.

    np.zeros asks for transparent huge pages above 4 MB, so the first pixel a mask sets
    makes the kernel clear 2 MB; 60 piglets at 1280x720 then cost ~5 ms of page clearing
    for ~7 MB of mask boxes. A plain anonymous mapping clears 4 KB pages: half the time.
    """
    size = count * height * width
    if size < 1 << 22:
        return np.zeros((count, height, width), dtype=bool)
    buffer = mmap.mmap(-1, size)  # anonymous: zero-filled, freed with the array
    return np.frombuffer(buffer, dtype=bool).reshape(count, height, width)


def _frame_to_proto(box: Letterbox, proto_hw: tuple[int, ...]) -> tuple[float, ...]:
    """(ax, bx, ay, by): proto index = a * frame index + b, pixel centres aligned."""
    input_h, input_w = box.input_hw
    kx, ky = proto_hw[1] / input_w, proto_hw[0] / input_h
    sx, sy = box.scale_xy
    ax, ay = sx * kx, sy * ky
    bx = (0.5 * sx + box.pad_left) * kx - 0.5
    by = (0.5 * sy + box.pad_top) * ky - 0.5
    return ax, bx, ay, by


def _pixel_span(lo: float, hi: float, size: int) -> tuple[int, int]:
    return max(0, math.ceil(lo)), min(size, math.ceil(hi))


def _proto_span(f0: int, f1: int, a: float, b: float, size: int) -> tuple[int, int]:
    """Proto cells a bilinear sample over frame pixels [f0, f1) can touch."""
    first = math.floor(a * f0 + b)
    last = math.floor(a * (f1 - 1) + b) + 1
    lo = min(max(0, first), size - 1)
    return lo, max(lo + 1, min(size, last + 1))


def _sigmoid(logits: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    x = np.clip(logits, -LOGIT_LIMIT, LOGIT_LIMIT).astype(np.float32, copy=False)
    np.negative(x, out=x)
    np.exp(x, out=x)
    x += 1
    np.reciprocal(x, out=x)
    return x

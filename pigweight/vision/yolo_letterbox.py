"""Letterboxing exactly as Ultralytics does it, and the way back to frame pixels.

A frame is scaled to fit the network input keeping its aspect, centred, and the rest is
filled with grey 114. For a dynamic-shape model whose batch frames share one shape the
padding is cut down to the next multiple of the stride (Ultralytics' `auto` letterbox):
a 1280x720 frame at imgsz 640 runs as 640x384 instead of 640x640, 40 % less work.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from pigweight.domain import Image

PAD_VALUE = np.float32(114) / np.float32(255)


@dataclass(frozen=True, slots=True)
class Letterbox:
    """Where one frame sits inside the network input."""

    frame_hw: tuple[int, int]  # (H, W) of the original frame
    input_hw: tuple[int, int]  # (H, W) of the network input, padding included
    gain: float  # input pixels per frame pixel
    resized_hw: tuple[int, int]  # (H, W) of the scaled frame inside the input
    pad_top: int
    pad_left: int

    @property
    def scale_xy(self) -> tuple[float, float]:
        """Exact per-axis scale of the resize (the gain after rounding to whole pixels)."""
        return self.resized_hw[1] / self.frame_hw[1], self.resized_hw[0] / self.frame_hw[0]


def plan_letterbox(
    frame_hw: tuple[int, int], target_hw: tuple[int, int], stride: int, minimal_pad: bool
) -> Letterbox:
    """Ultralytics `LetterBox(center=True, auto=minimal_pad)` for one frame shape."""
    h, w = frame_hw
    gain = min(target_hw[0] / h, target_hw[1] / w)
    new_w, new_h = round(w * gain), round(h * gain)
    pad_w, pad_h = target_hw[1] - new_w, target_hw[0] - new_h
    if minimal_pad:
        pad_w, pad_h = pad_w % stride, pad_h % stride
    # Ultralytics splits odd padding with round(x -/+ 0.1): the extra pixel goes last.
    left, top = round(pad_w / 2 - 0.1), round(pad_h / 2 - 0.1)
    return Letterbox(
        frame_hw=(h, w),
        input_hw=(new_h + pad_h, new_w + pad_w),
        gain=gain,
        resized_hw=(new_h, new_w),
        pad_top=top,
        pad_left=left,
    )


def plan_batch(
    frames_hw: Sequence[tuple[int, int]],
    target_hw: tuple[int, int],
    stride: int,
    fixed_input: bool,
) -> list[Letterbox]:
    """Letterboxes that share one input shape, so the frames can run as one batch."""
    minimal_pad = not fixed_input and len(set(frames_hw)) == 1
    return [plan_letterbox(hw, target_hw, stride, minimal_pad) for hw in frames_hw]


def write_input(dst: npt.NDArray[np.float32], image: Image, box: Letterbox) -> None:
    """Fill `dst` (3, H_in, W_in) with the letterboxed frame, RGB 0-1."""
    new_h, new_w = box.resized_hw
    top, left = box.pad_top, box.pad_left
    resized = image
    if image.shape[:2] != (new_h, new_w):
        resized = np.asarray(cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR))
    # Only the grey borders are painted: filling the whole input first costs a full pass.
    dst[:, :top, :] = PAD_VALUE
    dst[:, top + new_h :, :] = PAD_VALUE
    dst[:, top : top + new_h, :left] = PAD_VALUE
    dst[:, top : top + new_h, left + new_w :] = PAD_VALUE
    inner = dst[:, top : top + new_h, left : left + new_w]
    np.divide(resized.transpose(2, 0, 1), np.float32(255), out=inner, dtype=np.float32)


def boxes_to_frame(boxes_in: npt.NDArray[np.float32], box: Letterbox) -> npt.NDArray[np.float32]:
    """xyxy boxes in input pixels -> frame pixels, clipped to the frame (Ultralytics)."""
    out = boxes_in.astype(np.float32, copy=True)
    out[:, [0, 2]] -= box.pad_left
    out[:, [1, 3]] -= box.pad_top
    out /= np.float32(box.gain)
    h, w = box.frame_hw
    out[:, [0, 2]] = np.clip(out[:, [0, 2]], 0, w)
    out[:, [1, 3]] = np.clip(out[:, [1, 3]], 0, h)
    return out

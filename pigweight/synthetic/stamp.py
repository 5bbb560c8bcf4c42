"""The camera's date overlay, drawn from a fixed bitmap font.

Drawn by hand rather than with OpenCV's `putText`: its glyph outlines changed between
OpenCV 5.0 and 5.1, and with them every pixel the encoder spends on a synthetic clip,
so a test clip (and the counts measured on it) would move with the OpenCV release.
These 5x7 cells are what a camera's on-screen display uses anyway.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from pigweight.domain import Image

# 5x7 glyphs, one string per row, "#" = ink.
_GLYPHS: dict[str, tuple[str, ...]] = {
    "0": (" ### ", "#   #", "#  ##", "# # #", "##  #", "#   #", " ### "),
    "1": ("  #  ", " ##  ", "  #  ", "  #  ", "  #  ", "  #  ", " ### "),
    "2": (" ### ", "#   #", "    #", "   # ", "  #  ", " #   ", "#####"),
    "3": ("#####", "   # ", "  #  ", "   # ", "    #", "#   #", " ### "),
    "4": ("   # ", "  ## ", " # # ", "#  # ", "#####", "   # ", "   # "),
    "5": ("#####", "#    ", "#### ", "    #", "    #", "#   #", " ### "),
    "6": ("  ## ", " #   ", "#    ", "#### ", "#   #", "#   #", " ### "),
    "7": ("#####", "    #", "   # ", "  #  ", " #   ", " #   ", " #   "),
    "8": (" ### ", "#   #", "#   #", " ### ", "#   #", "#   #", " ### "),
    "9": (" ### ", "#   #", "#   #", " ####", "    #", "   # ", " ##  "),
    "-": ("     ", "     ", "     ", " ### ", "     ", "     ", "     "),
    ":": ("     ", "  #  ", "  #  ", "     ", "  #  ", "  #  ", "     "),
    " ": ("     ",) * 7,
}
_CELL_H = 7  # rows of a glyph; each glyph is followed by one blank column


def _bitmap(text: str) -> npt.NDArray[np.bool_]:
    """(7, 6 * len(text)) ink of `text`; characters the font lacks are blank."""
    blank = _GLYPHS[" "]
    rows = [
        "".join((_GLYPHS.get(char, blank)[row] + " ") for char in text) for row in range(_CELL_H)
    ]
    return np.array([[c == "#" for c in row] for row in rows], bool)


def draw_stamp(image: Image, text: str, left_px: int, top_px: int, height_px: int) -> None:
    """White text with a black outline, `height_px` tall, drawn into `image` in place."""
    scale = max(1, height_px // _CELL_H)
    ink = np.kron(_bitmap(text), np.ones((scale, scale), bool))
    # The outline: the ink grown by one cell pixel in every direction.
    padded = np.pad(ink, scale)
    outline = np.zeros_like(padded)
    for dy in (-scale, 0, scale):
        for dx in (-scale, 0, scale):
            outline |= np.roll(np.roll(padded, dy, 0), dx, 1)
    top, left = top_px - scale, left_px - scale
    height = min(outline.shape[0], image.shape[0] - top)
    width = min(outline.shape[1], image.shape[1] - left)
    if top < 0 or left < 0 or height <= 0 or width <= 0:
        return
    region = image[top : top + height, left : left + width]
    region[outline[:height, :width]] = 0
    region[padded[:height, :width]] = 255

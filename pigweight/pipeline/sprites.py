"""Timeline previews of an archive video: JPEG sprite sheets and the WebVTT that maps them
(the player's scrub bar shows the tile under the pointer)."""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np
from PIL import Image as PILImage

from pigweight.domain import Image
from pigweight.durable import replace_file
from pigweight.media.images import encode_jpeg
from pigweight.media.probe import VideoInfo

logger = logging.getLogger(__name__)

# Timeline previews: one 160 px tile per 10 s, 10 x 10 tiles per JPEG sprite sheet.
THUMB_EVERY_S = 10.0
THUMB_WIDTH = 160
SPRITE_SIDE = 10


class SpriteSheets:
    """Timeline thumbnails of one video: sprite_N.jpg sheets and thumbs.vtt that maps them.

    The sheet being filled stays in memory and is rewritten after each tile (~10 ms per
    10 s of video), so a kill loses at most the batch in hand's tile, and tiles are not
    re-encoded from a decoded JPEG again and again (only once, on resume).
    """

    def __init__(self, folder: Path, info: VideoInfo) -> None:
        self.folder = folder
        self.info = info
        aspect = info.height / info.width if info.width else 9 / 16
        self.tile_w = THUMB_WIDTH
        self.tile_h = max(2, round(THUMB_WIDTH * aspect / 2) * 2)
        self.tiles = max(1, int(info.duration_s // THUMB_EVERY_S) + 1)
        self._sheet_index = -1
        self._sheet: Image | None = None

    def sheet_path(self, n: int) -> Path:
        return self.folder / f"sprite_{n}.jpg"

    def write_vtt(self) -> None:
        """WebVTT cues for every tile, `sprite_N.jpg#xywh=x,y,w,h` (relative to the VTT)."""
        lines = ["WEBVTT", ""]
        per_sheet = SPRITE_SIDE * SPRITE_SIDE
        for tile in range(self.tiles):
            t0 = tile * THUMB_EVERY_S
            t1 = min(t0 + THUMB_EVERY_S, self.info.duration_s)
            if t1 <= t0:
                break
            n, cell = divmod(tile, per_sheet)
            y, x = divmod(cell, SPRITE_SIDE)
            lines += [
                f"{_vtt_time(t0)} --> {_vtt_time(t1)}",
                f"sprite_{n}.jpg#xywh={x * self.tile_w},{y * self.tile_h},"
                f"{self.tile_w},{self.tile_h}",
                "",
            ]
        self.folder.mkdir(parents=True, exist_ok=True)
        replace_file(self.folder / "thumbs.vtt", "\n".join(lines).encode())

    def add(self, t: float, image: Image) -> None:
        """Put the frame at t in its tile and rewrite that sheet."""
        tile = int(t // THUMB_EVERY_S + 1e-9)
        n, cell = divmod(tile, SPRITE_SIDE * SPRITE_SIDE)
        sheet = self._load(n)
        y, x = divmod(cell, SPRITE_SIDE)
        small = cv2.resize(image, (self.tile_w, self.tile_h), interpolation=cv2.INTER_AREA)
        sheet[y * self.tile_h : (y + 1) * self.tile_h, x * self.tile_w : (x + 1) * self.tile_w] = (
            small
        )
        replace_file(self.sheet_path(n), encode_jpeg(sheet, quality=80))

    def _load(self, n: int) -> Image:
        if self._sheet is not None and self._sheet_index == n:
            return self._sheet
        shape = (SPRITE_SIDE * self.tile_h, SPRITE_SIDE * self.tile_w, 3)
        sheet = np.full(shape, 32, np.uint8)
        path = self.sheet_path(n)
        if path.is_file():
            try:
                with PILImage.open(path) as old:
                    loaded = np.asarray(old.convert("RGB"), dtype=np.uint8)
                if loaded.shape == shape:
                    sheet = loaded.copy()
            except OSError:
                logger.warning("%s is unreadable; it is drawn again", path)
        self._sheet_index, self._sheet = n, sheet
        return sheet


def _vtt_time(t: float) -> str:
    ms = round(t * 1000)
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"

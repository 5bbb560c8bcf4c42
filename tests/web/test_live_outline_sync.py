"""What the operator sees is the frame that was counted: in the live view an animal walking
across the platform carries its outline on every picture shown, never a step behind it.

Measured as the operator sees it, on screenshots of the live picture. An outline tints the
animal it was counted on; an outline a step behind a walking animal leaves a strip of its
body untinted at the front. The width of that strip, in frames of motion, is the offset.
"""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from playwright.sync_api import Browser, expect

from tests.api.conftest import make_settings
from tests.web.server import serving

pytestmark = pytest.mark.browser

WIDTH, HEIGHT, FPS = 640, 360, 25
STEP_PX = 8  # the animal walks this far each frame
FLOOR = (60, 70, 60)
# A dark pink animal: no outline tint (a pastel, mixed in at 45 %) leaves it near this colour.
BODY = (130, 70, 70)
ROW = 180


def walking_animal(path: Path, seconds: float = 8.0) -> Path:
    """A clip of one animal walking left to right across a plain floor, again and again."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.options = {"crf": "18", "g": str(FPS)}
        for i in range(round(seconds * FPS)):
            image = np.full((HEIGHT, WIDTH, 3), FLOOR, np.uint8)
            x = 90 + (i * STEP_PX) % (WIDTH - 180)
            cv2.ellipse(image, (x, ROW), (60, 32), 0, 0, 360, BODY, -1)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def offset_frames(png: bytes, px_per_frame: float) -> float | None:
    """How far (in frames of motion) the outline is behind the animal on one screenshot of
    the picture: the untinted part of its body, per row; None when no outline is on it."""
    bgr = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    image = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    h = image.shape[0]
    band = image[int(0.3 * h) : int(0.7 * h)].astype(int)  # its rows, not the count label
    off_floor = np.abs(band - np.array(FLOOR)).sum(axis=2) > 60
    bare_body = np.abs(band - np.array(BODY)).sum(axis=2) < 40
    tinted = off_floor & ~bare_body
    rows = int(off_floor.any(axis=1).sum())
    if rows < 10 or tinted.sum() < 200:
        return None
    return float(bare_body.sum() / rows / px_per_frame)


def test_outlines_sit_on_the_animal_they_were_counted_on(browser: Browser, tmp_path: Path) -> None:
    clip = walking_animal(tmp_path / "walk.mp4")
    cameras = tmp_path / "cameras.yaml"
    cameras.write_text(f"cameras:\n  - {{id: walk, name: Проход, url: '{clip}'}}\n")
    settings = make_settings(tmp_path, cameras_file=cameras, auto_start_cam=True, fps=FPS)
    with serving(settings) as url:
        page = browser.new_page(viewport={"width": 1366, "height": 768})
        page.goto(url)
        expect(page.locator("#live-transport")).to_contain_text("WebRTC", timeout=15_000)
        video = page.locator("#live-video")
        page.wait_for_function("document.getElementById('live-video').currentTime > 1")
        box = video.bounding_box()
        assert box is not None
        px_per_frame = STEP_PX * box["width"] / WIDTH
        offsets = []
        for _ in range(40):
            found = offset_frames(video.screenshot(), px_per_frame)
            if found is not None:
                offsets.append(found)
            if len(offsets) >= 12:
                break
            page.wait_for_timeout(150)
        page.close()
    assert len(offsets) >= 12, f"the walking animal was outlined on {len(offsets)} pictures"
    print("outline offsets, frames:", [round(o, 2) for o in offsets])
    assert max(offsets) <= 1.0, offsets

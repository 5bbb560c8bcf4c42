from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

from pigweight.errors import ImageTooLarge, InvalidImage
from pigweight.media.images import load_image


def jpeg_bytes(w: int = 64, h: int = 48, mode: str = "RGB") -> bytes:
    buf = io.BytesIO()
    PILImage.new(mode, (w, h), 200 if mode == "L" else (200, 120, 130)).save(buf, "JPEG")
    return buf.getvalue()


def test_colour_jpeg_is_rgb() -> None:
    image = load_image(jpeg_bytes())
    assert image.shape == (48, 64, 3) and image.dtype == np.uint8
    r, g, b = image[10, 10]
    assert r > g and r > b  # channel order is RGB, not BGR


def test_greyscale_becomes_three_channels() -> None:
    image = load_image(jpeg_bytes(mode="L"))
    assert image.shape == (48, 64, 3)


def test_png_with_alpha(tmp_path: Path) -> None:
    path = tmp_path / "a.png"
    PILImage.new("RGBA", (10, 8), (255, 0, 0, 255)).save(path)
    assert load_image(path)[0, 0].tolist() == [255, 0, 0]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"this is a text file, not a photo\n", "not an image"),
        (jpeg_bytes(640, 480)[:400], "damaged or truncated"),
    ],
)
def test_bad_files_have_clear_errors(data: bytes, message: str) -> None:
    with pytest.raises(InvalidImage, match=message):
        load_image(data)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidImage, match="no such file"):
        load_image(tmp_path / "nope.jpg")


def test_pixel_limit_is_named() -> None:
    with pytest.raises(ImageTooLarge, match=r"limit is 0.001 \(MAX_IMAGE_MEGAPIXELS\)"):
        load_image(jpeg_bytes(64, 48), max_megapixels=0.001)


def test_fifty_megapixels_are_processed() -> None:
    buf = io.BytesIO()
    PILImage.new("L", (8660, 5780), 90).save(buf, "PNG")  # 50.1 MP, compresses to ~50 KB
    image = load_image(buf.getvalue(), max_megapixels=60)
    assert image.shape == (5780, 8660, 3)

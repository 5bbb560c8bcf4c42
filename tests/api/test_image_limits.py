"""A damaged photo is a 422 that says so, never a count of 0; a photo whose header claims
more pixels than MAX_IMAGE_MEGAPIXELS is refused from the header, before any decoding."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable

import numpy as np
import pytest
from PIL import ImageFile

from tests.api.conftest import MakeClient
from tests.api.photos import noisy_jpeg

URL = "/api/count_image"


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(width: int, height: int, pixels: bytes) -> bytes:
    """An RGB PNG of `width` x `height` whose one IDAT holds `pixels` (filter bytes included)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(pixels, 9))
        + png_chunk(b"IEND", b"")
    )


def noisy_png(side_px: int = 128) -> bytes:
    rng = np.random.default_rng(3)
    rows = [b"\x00" + rng.integers(0, 256, side_px * 3, dtype=np.uint8).tobytes()] * side_px
    return png(side_px, side_px, b"".join(rows))


def _idat_middle(data: bytes) -> int:
    start = data.index(b"IDAT") + 4
    return start + (len(data) - start - 12) // 2


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1 :]


def _jpeg_sof(data: bytes) -> int:
    """Offset of the JPEG's SOF0 marker (the frame header with the size)."""
    return data.index(b"\xff\xc0")


def _jpeg_claiming(width: int, height: int) -> bytes:
    """A small real JPEG whose frame header says `width` x `height`."""
    data = noisy_jpeg(64)
    at = _jpeg_sof(data) + 5  # marker (2), length (2), precision (1), then height, width
    return data[:at] + struct.pack(">HH", height, width) + data[at + 4 :]


DAMAGED: dict[str, Callable[[], bytes]] = {
    "png-cut-in-pixels": lambda: noisy_png()[: _idat_middle(noisy_png())],
    "png-cut-after-header": lambda: noisy_png()[:33],
    "png-without-end": lambda: noisy_png()[:-12],
    "png-flipped-pixel-byte": lambda: _flip(noisy_png(), _idat_middle(noisy_png())),
    "png-flipped-header-byte": lambda: _flip(noisy_png(), 20),
    "jpeg-cut-in-half": lambda: noisy_jpeg()[: len(noisy_jpeg()) // 2],
    "jpeg-without-end": lambda: noisy_jpeg()[:-2],
    "jpeg-cut-in-header": lambda: noisy_jpeg()[: _jpeg_sof(noisy_jpeg()) + 6],
    "jpeg-zero-size": lambda: _jpeg_claiming(0, 0),
}


@pytest.mark.parametrize("case", list(DAMAGED))
def test_a_damaged_photo_is_a_422_not_a_count(make_client: MakeClient, case: str) -> None:
    client = make_client()
    response = client.post(URL, files={"file": (f"{case}.img", DAMAGED[case](), "image/png")})
    assert response.status_code == 422, (response.status_code, response.text[:200])
    answer = response.json()
    assert answer["code"] == "invalid_image"
    assert answer["detail"].startswith(f"{case}.img: "), answer["detail"]


# (photo, MAX_IMAGE_MEGAPIXELS, the size the answer names)
BOMBS: dict[str, tuple[Callable[[], bytes], float, str]] = {
    "png-7000x7000-small-limit": (lambda: png(7000, 7000, b"\x00" * 300), 40.0, "7000x7000"),
    "png-100000x100000": (lambda: png(100_000, 100_000, b"\x00" * 300), 60.0, "100000x100000"),
    "png-65535x3000": (lambda: png(65_535, 3000, b"\x00" * 300), 60.0, "65535x3000"),
    "jpeg-60000x60000": (lambda: _jpeg_claiming(60_000, 60_000), 60.0, "60000x60000"),
    "jpeg-9000x9000-small-limit": (lambda: _jpeg_claiming(9000, 9000), 50.0, "9000x9000"),
}


@pytest.mark.parametrize("case", list(BOMBS))
def test_a_photo_claiming_too_many_pixels_is_refused_from_its_header(
    make_client: MakeClient, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    photo, limit_mp, size = BOMBS[case]
    decoded: list[object] = []
    real_load = ImageFile.ImageFile.load

    def spy_load(self: ImageFile.ImageFile) -> object:
        decoded.append(self)
        return real_load(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", spy_load)
    client = make_client(max_image_megapixels=limit_mp)
    response = client.post(URL, files={"file": ("bomb.png", photo(), "image/png")})
    assert response.status_code == 413, (response.status_code, response.text[:200])
    answer = response.json()
    assert answer["code"] == "image_too_large"
    assert size in answer["detail"] and "MAX_IMAGE_MEGAPIXELS" in answer["detail"], answer
    assert f"the limit is {limit_mp:g}" in answer["detail"]
    assert decoded == [], "the pixels were decoded before the size was checked"

"""Tiny photos drawn in the tests: a green floor with pink, well-separated piglets."""

from __future__ import annotations

import cv2
import numpy as np

FLOOR_BGR = (60, 120, 70)
PIG_BGR = (170, 160, 235)


def pigs_on_floor(centres: list[tuple[int, int]], size: tuple[int, int] = (1280, 720)) -> bytes:
    """JPEG of ellipses about 160 x 70 px (one per centre) on a plain green floor."""
    width, height = size
    image = np.zeros((height, width, 3), np.uint8)
    image[:] = FLOOR_BGR
    for i, (cx, cy) in enumerate(centres):
        cv2.ellipse(image, (cx, cy), (80, 35), 20 * i, 0, 360, PIG_BGR, -1, cv2.LINE_AA)
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 92])
    assert ok
    return encoded.tobytes()


THREE_PIGS = [(300, 250), (700, 450), (1000, 200)]


def noisy_jpeg(side_px: int = 256) -> bytes:
    """An incompressible JPEG, so that cutting it in half cuts the picture data."""
    rng = np.random.default_rng(7)
    image = rng.integers(0, 256, (side_px, side_px, 3), dtype=np.uint8)
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 95])
    assert ok
    return encoded.tobytes()


def plain_jpeg(width: int, height: int) -> bytes:
    """A uniform JPEG: any size, only a few bytes per block."""
    image = np.full((height, width, 3), FLOOR_BGR, np.uint8)
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 50])
    assert ok
    return encoded.tobytes()


def grey_png(width: int = 640, height: int = 480) -> bytes:
    """A one-channel (greyscale) PNG with a bright blob."""
    image = np.full((height, width), 40, np.uint8)
    cv2.ellipse(image, (width // 2, height // 2), (80, 35), 0, 0, 360, 220, -1)
    ok, encoded = cv2.imencode(".png", image)
    assert ok
    return encoded.tobytes()

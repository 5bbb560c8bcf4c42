"""POST /api/count_image with real photos drawn in the test, and every kind of bad upload."""

from __future__ import annotations

import base64
import io
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image as PILImage

from tests.api.conftest import MakeClient
from tests.api.photos import THREE_PIGS, grey_png, noisy_jpeg, pigs_on_floor, plain_jpeg

URL = "/api/count_image"


def post_photo(client: TestClient, data: bytes, name: str = "photo.jpg") -> dict[str, Any]:
    response = client.post(URL, files={"file": (name, data, "image/jpeg")})
    body = response.json()
    body["_status"] = response.status_code
    return body


def decode_overlay(data_url: str) -> PILImage.Image:
    prefix = "data:image/jpeg;base64,"
    assert data_url.startswith(prefix)
    return PILImage.open(io.BytesIO(base64.b64decode(data_url[len(prefix) :])))


def test_counts_three_pigs_and_returns_overlay(client: TestClient) -> None:
    body = post_photo(client, pigs_on_floor(THREE_PIGS))

    assert body["_status"] == 200
    assert (body["width"], body["height"]) == (1280, 720)
    assert body["segmenter"] == "classic"
    assert 0.0 <= body["confidence"] <= 1.0
    assert body["ms"] > 0
    overlay = decode_overlay(body["overlay"])
    assert overlay.format == "JPEG"
    assert overlay.size == (1280, 720)
    # Needs the real classic segmenter (pigweight/vision/classic.py); the placeholder finds 0.
    assert body["count"] == 3
    assert len(body["outlines"]) == 3
    for polygon in body["outlines"]:
        assert len(polygon) >= 3
        assert all(0.0 <= x <= 1.0 and 0.0 <= y <= 1.0 for x, y in polygon)


def test_greyscale_photo_is_counted(client: TestClient) -> None:
    body = post_photo(client, grey_png(640, 480), "grey.png")

    assert body["_status"] == 200
    assert (body["width"], body["height"]) == (640, 480)
    assert decode_overlay(body["overlay"]).mode == "RGB"


def test_fifty_megapixel_photo_is_processed(client: TestClient) -> None:
    body = post_photo(client, plain_jpeg(8660, 5800), "big.jpg")

    assert body["_status"] == 200
    assert (body["width"], body["height"]) == (8660, 5800)
    # The overlay is sized for a screen, not a 50 MP copy in base64.
    assert max(decode_overlay(body["overlay"]).size) <= 1600


BAD_PHOTOS = [
    pytest.param(b"weight 512 kg, 20 pigs\n", "not an image", id="text-named-jpg"),
    pytest.param(noisy_jpeg()[:3000], "damaged or truncated", id="truncated-jpeg"),
    pytest.param(b"", "empty", id="zero-bytes"),
]


@pytest.mark.parametrize(("data", "says"), BAD_PHOTOS)
def test_bad_photo_is_refused_with_what_to_fix(client: TestClient, data: bytes, says: str) -> None:
    body = post_photo(client, data, "C:\\pen 7\\photo.jpg")

    assert body["_status"] == 422
    assert body["code"] == "invalid_image"
    assert says in body["detail"]
    # The message names the file the operator chose, never a path from their machine.
    assert body["detail"].startswith("photo.jpg: ")
    assert "Traceback" not in body["detail"]


def test_image_over_megapixel_limit_names_the_limit(make_client: MakeClient) -> None:
    client = make_client(max_image_megapixels=1)
    body = post_photo(client, plain_jpeg(2000, 1000))

    assert body["_status"] == 413
    assert body["code"] == "image_too_large"
    assert "2000x1000" in body["detail"]
    assert "MAX_IMAGE_MEGAPIXELS" in body["detail"]


def chunked_multipart(total_bytes: int) -> Iterator[bytes]:
    """A multipart body sent without Content-Length, as a streaming client would."""
    yield b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n\r\n'
    for _ in range(total_bytes // 16384):
        yield b"\xff" * 16384
    yield b"\r\n--xyz--\r\n"


@pytest.mark.parametrize(
    "send",
    [
        pytest.param(lambda c: c.post(URL, files={"file": ("a.jpg", b"\xff" * 60_000)}), id="file"),
        pytest.param(
            lambda c: c.post(URL, files={"file": ("a.jpg", b"\xff" * 1_000_000)}), id="body"
        ),
        pytest.param(
            lambda c: c.post(
                URL,
                content=chunked_multipart(400_000),
                headers={"content-type": "multipart/form-data; boundary=xyz"},
            ),
            id="chunked",
        ),
    ],
)
def test_oversize_upload_is_refused_naming_the_limit(
    make_client: MakeClient, send: Callable[[TestClient], Any]
) -> None:
    client = make_client(max_upload_mb=0.05)  # 52 KB
    response = send(client)

    assert response.status_code == 413
    assert response.json()["code"] == "upload_too_large"
    assert "0.05 MB" in response.json()["detail"]
    assert "MAX_UPLOAD_MB" in response.json()["detail"]


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"files": {"photo": ("a.jpg", b"x")}}, id="wrong-field-name"),
        pytest.param({"data": {"file": "not a file"}}, id="text-field"),
        pytest.param({}, id="no-body"),
    ],
)
def test_missing_file_field_says_how_to_send_it(client: TestClient, kwargs: dict[str, Any]) -> None:
    response = client.post(URL, **kwargs)

    assert response.status_code == 422
    assert response.json()["code"] == "missing_file"
    assert "'file'" in response.json()["detail"]

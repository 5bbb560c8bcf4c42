"""A video's name survives the raw upload in any script: X-Filename as percent-encoded
UTF-8, as RFC 8187's `UTF-8''…`, or as the raw UTF-8 bytes curl sends."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from pigweight.synthetic import write_demo_video

pytestmark = pytest.mark.slow

DEMO = "демо.mp4"
DEMO_PERCENT = "%D0%B4%D0%B5%D0%BC%D0%BE.mp4"  # encodeURIComponent("демо.mp4")
assert quote(DEMO) == DEMO_PERCENT


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("clip") / "clip.mp4"
    return write_demo_video(path, seconds=3, width=160, height=96).read_bytes()


@pytest.fixture(scope="module")
def module_client(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    from pigweight.app import create_app
    from tests.api.conftest import make_settings

    work = tmp_path_factory.mktemp("names")
    settings = make_settings(work, demo_video_seconds=0)
    with TestClient(create_app(settings)) as client:
        yield client  # type: ignore[misc]


# (X-Filename as sent on the wire, the name the archive lists)
NAMES = {
    "percent-encoded": (DEMO_PERCENT.encode(), DEMO),
    "rfc8187": (b"UTF-8''" + DEMO_PERCENT.encode(), DEMO),
    "rfc8187-lowercase": (b"utf-8''" + DEMO_PERCENT.encode(), DEMO),
    "raw-utf8": (DEMO.encode(), DEMO),
    "percent-with-space": (quote("Свинарник 2.mp4").encode(), "Свинарник 2.mp4"),
    "plain-ascii": (b"pen 4.mp4", "pen 4.mp4"),
    # Not an escape: kept as written (and then `%` becomes `_`, as in any stored name).
    "ascii-with-percent": (b"100%.mp4", "100_.mp4"),
}


@pytest.mark.parametrize("case", list(NAMES))
def test_the_uploaded_name_is_listed_as_the_user_wrote_it(
    module_client: TestClient, clip: bytes, case: str
) -> None:
    header, shown = NAMES[case]
    response = module_client.post(
        "/api/video_file/upload", content=clip, headers={"X-Filename": header}
    )
    assert response.status_code == 201, response.text[:200]
    video = response.json()
    stem, suffix = shown.rsplit(".", 1)
    # A second upload of one name gets `name-1.mp4`: the name is unique in its folder.
    assert video["name"] == shown or (
        video["name"].startswith(f"{stem}-") and video["name"].endswith(f".{suffix}")
    ), video["name"]
    listed = {v["id"]: v["name"] for v in module_client.get("/api/video_file").json()}
    assert listed[video["id"]] == video["name"]


def test_an_rfc8187_name_that_is_not_utf8_is_refused_with_the_reason(
    module_client: TestClient, clip: bytes
) -> None:
    response = module_client.post(
        "/api/video_file/upload", content=clip, headers={"X-Filename": b"UTF-8''%FF%FE.mp4"}
    )
    assert response.status_code == 422, response.text[:200]
    assert response.json()["code"] == "invalid_filename"
    assert "UTF-8" in response.json()["detail"]


def test_the_resumable_upload_keeps_the_name_of_its_json(
    module_client: TestClient, clip: bytes
) -> None:
    created = module_client.post(
        "/api/video_file/uploads", json={"filename": DEMO, "size": len(clip)}
    ).json()
    assert created["filename"] == DEMO

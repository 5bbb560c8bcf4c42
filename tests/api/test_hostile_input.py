"""Hostile paths and bodies get a clear 4xx: nothing outside its root is served, nothing
oversize is read whole, and a malformed form is the client's error, not the server's."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import MakeClient

# Each percent-encoded form reaches the app decoded (as `../`, `\`, NUL), as from a real server.
HOSTILE_NAMES = [
    "..%2F..%2F..%2Fpigweight%2Fsettings.py",
    "%2E%2E%2F%2E%2E%2Fpyproject.toml",
    "..%5C..%5Cpigweight%5Csettings.py",
    "%2Fetc%2Fpasswd",
    "%2F%2Fserver%2Fshare%2Fx",
    "%5C%5Cserver%5Cshare%5Cx",
    "C:%5CWindows%5Cwin.ini",
    "C:%2FWindows%2Fwin.ini",
    "a%00b",
    "1%00",
]
ROUTES = [
    "/static/{}",
    "/static/js/{}",
    "/api/video_file/{}",
    "/api/video_file/{}/raw",
    "/api/video_file/{}/frame.jpg?t=0",
    "/api/video_file/stream_hls/{}",
    "/api/video_file/stream_hls/1/{}.ts",
    "/api/video_file/stream_hls/{}/0.ts",
    "/api/video_file/{}/thumbs.vtt",
    "/api/video_file/1/sprite_{}.jpg",
    "/api/video_file/uploads/{}",
    "/api/weight/records/{}/snapshot.jpg",
    "/api/weight/records/{}/evidence",
    "/api/cameras/{}/snapshot.jpg",
    "/api/cameras/{}/status",
    "/api/scales/{}",
]
# Text of files a traversal would reach; none may come back.
LEAKS = ("BaseSettings", "[build-system]", "root:", "[fonts]")


@pytest.fixture(scope="module")
def module_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    from pigweight.app import create_app
    from tests.api.conftest import make_settings

    settings = make_settings(tmp_path_factory.mktemp("hostile"), demo_video_seconds=0)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


@pytest.mark.parametrize("route", ROUTES)
def test_hostile_path_parameters_are_refused_with_4xx(
    module_client: TestClient, route: str
) -> None:
    for name in HOSTILE_NAMES:
        response = module_client.get(route.format(name))
        assert 400 <= response.status_code < 500, (route.format(name), response.status_code)
        assert not any(leak in response.text for leak in LEAKS), route.format(name)


def test_json_bodies_over_the_limit_are_refused_before_being_read(
    make_client: MakeClient,
) -> None:
    client = make_client(max_json_body_bytes=4096)
    big = b'{"path": "' + b"a" * 8192 + b'"}'
    chunks = (big[i : i + 1024] for i in range(0, len(big), 1024))  # no Content-Length
    answers = [
        client.post(
            "/api/weight/average", content=big, headers={"content-type": "application/json"}
        ),
        client.post("/api/video_file/register", content=big),  # was not capped at all
        client.post("/api/video_file/uploads", content=big, headers={"content-type": "text/plain"}),
        client.request("DELETE", "/api/weight/records/1", content=big),
        client.post("/api/video_file/register", content=chunks),
    ]
    for response in answers:
        assert response.status_code == 413
        body = response.json()
        assert body["code"] == "body_too_large"
        assert "4096 bytes" in body["detail"] and "MAX_JSON_BODY_BYTES" in body["detail"]
    # A small request still goes through to its own validation.
    small = client.post("/api/video_file/register", json={"path": "../x"})
    assert small.status_code == 403


def test_form_fields_are_bounded(make_client: MakeClient) -> None:
    client = make_client()
    many = {f"f{i}": "x" for i in range(40)}
    response = client.post(
        "/api/count_image", data=many, files={"file": ("a.jpg", b"\xff\xd8\xff")}
    )
    assert response.status_code == 400 and "fields" in response.json()["detail"].lower()
    long_field = client.post(
        "/api/count_image", data={"note": "x" * 100_000}, files={"file": ("a.jpg", b"\xff")}
    )
    assert long_field.status_code == 400


def _multipart(parts: list[tuple[str, bytes]], boundary: str = "xyz") -> bytes:
    out = b""
    for name, data in parts:
        filename = '; filename="a.mp4"' if name == "file" else ""
        out += (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"{filename}\r\n\r\n'
            ).encode()
            + data
            + b"\r\n"
        )
    return out + f"--{boundary}--\r\n".encode()


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"garbage, not a form\r\n\r\n", 422, "bad_multipart"),
        (b"--xyz\r\nno colon in this header\r\n\r\nabc\r\n--xyz--\r\n", 422, "bad_multipart"),
        (
            _multipart([(f"f{i}", b"x") for i in range(40)] + [("file", b"x")]),
            413,
            "form_too_large",
        ),
        (_multipart([("note", b"x" * 2_000_000), ("file", b"x")]), 413, "form_too_large"),
        (
            b'--xyz\r\nContent-Disposition: form-data; name="f"; x="' + b"a" * 40_000,
            422,
            "bad_multipart",
        ),
    ],
    ids=["not-multipart", "bad-header", "many-fields", "big-field", "endless-header"],
)
def test_the_streamed_video_form_refuses_malformed_and_endless_forms(
    module_client: TestClient, body: bytes, status: int, code: str
) -> None:
    response = module_client.post(
        "/api/video_file/upload",
        content=body,
        headers={"content-type": "multipart/form-data; boundary=xyz"},
    )
    assert response.status_code == status, response.text
    assert response.json()["code"] == code

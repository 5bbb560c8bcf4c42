"""Every 4xx the service itself answers has the documented body `{detail, code}`: a bad
Range on a recording, a segment or a page file, malformed JSON, a malformed query, a wrong
method. Nothing comes back as Starlette's plain text."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from pigweight.synthetic import write_demo_video

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Served:
    client: TestClient
    video_id: int
    raw_size: int


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    from pigweight.app import create_app
    from tests.api.conftest import make_settings

    work = tmp_path_factory.mktemp("errors")
    clip = write_demo_video(work / "clip.mp4", seconds=3, width=160, height=96).read_bytes()
    settings = make_settings(work, demo_video_seconds=0)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        video = client.post(
            "/api/video_file/upload", content=clip, headers={"X-Filename": "pen.mp4"}
        )
        assert video.status_code == 201, video.text
        yield Served(client, video.json()["id"], len(clip))


def _file_urls(served: Served) -> dict[str, str]:
    """Every kind of file answer that honours Range: the recording, a segment, a page file."""
    return {
        "raw": f"/api/video_file/{served.video_id}/raw",
        "segment": f"/api/video_file/stream_hls/{served.video_id}/0.ts",
        "static": "/static/js/app.js",
    }


MALFORMED_RANGES = [
    "bytes=abc",
    "bytes=9-1",
    "bytes=-",
    "bytes=",
    "bytes",
    "items=0-1",
    "bytes=a-b,c-d",
]
UNSATISFIABLE_RANGES = ["bytes=99999999999-", "bytes=99999999999-99999999999"]


def assert_error_body(response: Any, status: int, code: str) -> dict[str, str]:
    """The answer is `status` with the JSON body `{detail, code}` of this `code`."""
    assert response.status_code == status, (response.status_code, response.text[:200])
    content_type = response.headers["content-type"]
    assert content_type.startswith("application/json"), (content_type, response.text[:200])
    body: dict[str, str] = response.json()
    assert body["code"] == code, body
    assert body["detail"].strip(), body
    return body


@pytest.mark.parametrize("where", ["raw", "segment", "static"])
@pytest.mark.parametrize("header", MALFORMED_RANGES)
def test_a_malformed_range_is_a_400_bad_range(served: Served, where: str, header: str) -> None:
    response = served.client.get(_file_urls(served)[where], headers={"Range": header})
    body = assert_error_body(response, 400, "bad_range")
    assert "Range" in body["detail"]


@pytest.mark.parametrize("where", ["raw", "segment", "static"])
@pytest.mark.parametrize("header", UNSATISFIABLE_RANGES)
def test_a_range_past_the_end_is_a_416_with_the_size(
    served: Served, where: str, header: str
) -> None:
    url = _file_urls(served)[where]
    size = len(served.client.get(url).content)
    response = served.client.get(url, headers={"Range": header})
    body = assert_error_body(response, 416, "range_not_satisfiable")
    assert response.headers["content-range"] == f"bytes */{size}"
    assert str(size) in body["detail"]


def test_a_good_range_still_gets_its_bytes(served: Served) -> None:
    part = served.client.get(
        f"/api/video_file/{served.video_id}/raw", headers={"Range": "bytes=10-19"}
    )
    assert part.status_code == 206 and len(part.content) == 10
    assert part.headers["content-range"] == f"bytes 10-19/{served.raw_size}"


COUNT_AT = "/api/video_file/count_at_time"
# (method, url, request options, status, code)
MALFORMED_REQUESTS: dict[str, tuple[str, str, dict[str, Any], int, str]] = {
    "json-syntax": (
        "POST",
        "/api/weight/average",
        {"content": b'{"total_weight_kg": 1,', "headers": {"content-type": "application/json"}},
        422,
        "invalid_request",
    ),
    "json-not-utf8": (
        "POST",
        "/api/weight/average",
        {"content": b'{"a": "\xff"}', "headers": {"content-type": "application/json"}},
        422,
        "invalid_request",
    ),
    "query-bad-escape": ("GET", f"{COUNT_AT}?id=%ZZ&t=1", {}, 422, "invalid_request"),
    "query-not-utf8": ("GET", f"{COUNT_AT}?id=%FF&t=1", {}, 422, "invalid_request"),
    "query-nan": ("GET", f"{COUNT_AT}?id=1&t=nan", {}, 422, "invalid_request"),
    "wrong-method": ("DELETE", "/api/cameras", {}, 405, "http_405"),
    "wrong-method-static": ("POST", "/static/js/app.js", {}, 405, "http_405"),
    "unknown-route": ("GET", "/api/nothing-here", {}, 404, "http_404"),
    "unknown-static": ("GET", "/static/js/nothing.js", {}, 404, "http_404"),
}


@pytest.mark.parametrize("case", list(MALFORMED_REQUESTS))
def test_a_malformed_request_gets_the_error_body(served: Served, case: str) -> None:
    method, url, options, status, code = MALFORMED_REQUESTS[case]
    response = served.client.request(method, url, **options)
    assert_error_body(response, status, code)


# --- requests uvicorn itself refuses, before the app: `pigweight serve` in a subprocess -----

NOT_HTTP = {
    "garbage-line": b"GARBAGE\r\n\r\n",
    "header-without-colon": b"GET /healthz HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n",
    "space-in-header-name": b"GET /healthz HTTP/1.1\r\nHost: x\r\nBad Name: 1\r\n\r\n",
    "nul-in-target": b"GET /heal\x00thz HTTP/1.1\r\nHost: x\r\n\r\n",
    "bad-chunk-size": (
        b"POST /api/weight/average HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        b"Content-Type: application/json\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"
    ),
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def serve_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """`pigweight serve` as an operator starts it, on a free port of 127.0.0.1."""
    root = tmp_path_factory.mktemp("serve")
    port = _free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "DATA_DIR": str(root / "data"),
        "RECORDS_DIR": str(root / "records"),
        "LOG_DIR": str(root / "logs"),
        "AUTO_START_CAM": "false",
        "PRELOAD_MODEL": "false",
        "DEMO_VIDEO_SECONDS": "0",
    }
    with (root / "server.log").open("ab") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "pigweight", "serve"], cwd=root, env=env, stdout=log, stderr=log
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline and server.poll() is None, "serve did not start"
            time.sleep(0.1)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=30)


def _raw_exchange(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(request)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    return answer


def _assert_bad_http_answer(answer: bytes) -> None:
    """A 400 with the one error body, `{detail, code}`, and the connection closed after it."""
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    assert lines[0] == "HTTP/1.1 400 Bad Request", answer[:200]
    fields = (line.partition(":") for line in lines[1:])
    headers = {name.strip().lower(): value.strip() for name, _, value in fields}
    assert headers["content-type"].startswith("application/json"), answer[:300]
    assert headers["content-length"] == str(len(body)) and headers["connection"] == "close"
    error = json.loads(body)
    assert sorted(error) == ["code", "detail"]
    assert error["code"] == "bad_http_request"
    assert error["detail"].startswith("the request is not valid HTTP/1.1 (")
    assert error["detail"].endswith("); check the request line and the headers the client sends")


@pytest.mark.parametrize("case", list(NOT_HTTP))
def test_a_request_that_is_not_http_gets_the_error_body(serve_port: int, case: str) -> None:
    _assert_bad_http_answer(_raw_exchange(serve_port, NOT_HTTP[case]))


def test_the_h11_fallback_answers_the_same_body() -> None:
    """Where httptools is not installed uvicorn parses with h11: its 400 is JSON as well."""
    import threading

    import uvicorn
    from starlette.applications import Starlette

    from pigweight.api.http_protocol import JsonErrorH11Protocol

    port = _free_port()
    config = uvicorn.Config(
        Starlette(), host="127.0.0.1", port=port, http=JsonErrorH11Protocol, log_level="error"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        for request in NOT_HTTP.values():
            _assert_bad_http_answer(_raw_exchange(port, request))
    finally:
        server.should_exit = True
        thread.join(timeout=30)

"""Every operation of the OpenAPI schema fuzzed with schemathesis: no 5xx, no hang, and the
answers that the schema documents match it.

One app for the module (its lifespan run by Starlette's TestClient), with the demo camera on
a 1-second clip, a media root holding one short recording that is registered, indexed and
weighed from first, and no network. Each operation gets valid data (positive), invalid data
(negative), and valid data aimed at things that exist (the demo camera, video 1, record 1,
an open upload), as an admin behind the access gate. Examples are derandomized: a failure
comes back run after run, with the curl command that reproduces it.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from pigweight.app import create_app
from pigweight.synthetic import write_demo_video
from tests.api.conftest import make_settings
from tests.api.test_video_files import wait_indexed

pytestmark = pytest.mark.slow

EXAMPLES = 15  # per operation, derandomized (30 until CI neared its 20 minutes)
REQUEST_TIMEOUT_S = 10.0  # a hang is a bug: a real client would give up
BASE_URL = "http://testserver"
ADMIN_NAME = "fuzz-admin"
# Left out, and why:
# - the MJPEG stream never ends by design (the live page reads it until it leaves);
#   tests/api/test_cameras.py reads its first parts.
EXCLUDED = {"GET /api/cameras/{camera_id}/mjpeg"}
# Bounded rather than left out: uploads get the small bodies schemathesis makes (the video cap
# is MAX_VIDEO_UPLOAD_GB=0.01 here); starting the demo camera renders a 1 s, 160 px clip;
# registering finds one 2 s recording. Users and tokens go last, logging out at the very end:
# it ends the fuzzer's own session.
LAST = ("/api/users", "/api/tokens")
VERY_LAST = "POST /api/auth/logout"
# Known 5xx in code owned elsewhere; strict: the test says so once it is fixed.
KNOWN_BUGS: dict[str, str] = {}  # "METHOD /path": why it fails (an xfail that must fail)


@dataclass(frozen=True)
class Fuzzed:
    client: TestClient
    schema: Any
    known: dict[str, Any]  # path parameter -> a value that exists


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzzed]:
    work = tmp_path_factory.mktemp("fuzz")
    nvr = work / "nvr"
    nvr.mkdir()
    write_demo_video(nvr / "cam1.mp4", seconds=2, width=320, height=180)
    settings = make_settings(
        work,
        media_roots=[nvr],
        demo_video_seconds=1,
        demo_video_width=160,
        max_video_upload_gb=0.01,
        index_interval_s=1.0,
        webrtc_hosts=["127.0.0.1"],
        demo_scale=False,
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        (video,) = client.post("/api/video_file/register", json={"path": "cam1.mp4"}).json()
        wait_indexed(client, video["id"])
        weighed = client.post(
            f"/api/video_file/{video['id']}/weighing", json={"t": 0.5, "total_weight_kg": 40}
        )
        upload = client.post("/api/video_file/uploads", json={"filename": "a.mp4", "size": 10})
        schema = schemathesis.openapi.from_dict(client.get("/openapi.json").json())
        known = {
            "camera_id": "demo",
            "video_id": video["id"],
            "record_id": weighed.json()["id"],
            "upload_id": upload.json()["upload_id"],
            "n": 0,
        }
        # Behind the gate as an admin, so that every route is reached, not answered 401.
        # A session, not a token: the fuzzed DELETE /api/tokens/1 would revoke that.
        login = {"name": ADMIN_NAME, "password": "fuzz-admin-password"}
        assert client.post("/api/users", json=login | {"role": "admin"}).status_code == 201
        assert client.post("/api/auth/login", json=login).status_code == 200
        yield Fuzzed(client, schema, known)


def _operation_labels() -> list[str]:
    with tempfile.TemporaryDirectory() as tmp:  # the app is built, never started
        app = create_app(make_settings(Path(tmp), demo_video_seconds=0))
        loaded = schemathesis.openapi.from_dict(app.openapi())
    labels = [r.ok().label for r in loaded.get_all_operations() if r.ok().label not in EXCLUDED]

    def order(label: str) -> tuple[bool, bool]:
        return label == VERY_LAST, label.split(" ", 1)[1].startswith(LAST)

    return sorted(labels, key=order)


def _params() -> list[Any]:
    return [
        pytest.param(x, marks=pytest.mark.xfail(reason=KNOWN_BUGS[x], strict=True))
        if x in KNOWN_BUGS
        else x
        for x in _operation_labels()
    ]


def no_server_error(ctx: Any, response: Any, case: Any) -> bool | None:
    """not_a_server_error, but for the 503s the API documents: a JSON {detail, code} that says
    what is not ready (a camera with no frame yet, WebRTC off, no model), not a crash."""
    if response.status_code == 503:
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and {"detail", "code"} <= body.keys():
            return None
    return not_a_server_error(ctx, response, case)


@pytest.fixture(scope="module")
def sender() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(1, thread_name_prefix="fuzz-request") as pool:
        yield pool


def _strategies(operation: Any, known: dict[str, Any]) -> Any:
    """Valid data, invalid data, and valid data about things that exist."""
    names = re.findall(r"\{(\w+)\}", operation.path)
    path = {name: known[name] for name in names if name in known}
    query: dict[str, Any] = {}
    if any(p.name == "id" for p in operation.iter_parameters()):
        # `?id=` is a video under /api/video_file, a camera elsewhere.
        video = operation.path.startswith("/api/video_file")
        query["id"] = known["video_id"] if video else known["camera_id"]
    strategies = [
        operation.as_strategy(),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    ]
    if path or query:  # first: Hypothesis leans to the first branch
        strategies.insert(0, operation.as_strategy(path_parameters=path, query=query))
    return st.one_of(strategies)


def _send(client: TestClient, pool: ThreadPoolExecutor, case: Any) -> Any:
    """The case sent through the app, given up after REQUEST_TIMEOUT_S (then the test fails)."""
    kwargs = case.as_transport_kwargs(base_url=BASE_URL)
    prepared = requests.Request(
        method=kwargs["method"],
        url=kwargs["url"],
        headers=kwargs.get("headers"),
        params=kwargs.get("params"),
        cookies=kwargs.get("cookies"),
        json=kwargs.get("json"),
        data=kwargs.get("data"),
        files=kwargs.get("files"),
    ).prepare()
    body = prepared.body.encode() if isinstance(prepared.body, str) else prepared.body
    future = pool.submit(
        client.request,
        str(prepared.method),
        str(prepared.url),
        headers=dict(prepared.headers),
        content=body or b"",
    )
    try:
        return future.result(timeout=REQUEST_TIMEOUT_S)
    except FutureTimeout:
        pytest.fail(f"no answer within {REQUEST_TIMEOUT_S:g} s: {case.as_curl_command()}")


@pytest.mark.parametrize("label", _params())
def test_operation_survives_fuzzing(label: str, fuzzed: Fuzzed, sender: ThreadPoolExecutor) -> None:
    method, path = label.split(" ", 1)
    operation = fuzzed.schema[path][method]

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=_strategies(operation, fuzzed.known))
    def run(case: Any) -> None:
        response = _send(fuzzed.client, sender, case)
        case.validate_response(response, checks=[no_server_error, response_schema_conformance])

    run()

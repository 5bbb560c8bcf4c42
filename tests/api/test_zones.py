"""Platform zones per camera: the cameras file's, the page's (kept across restarts), and what
live and photo counting make of them."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from pigweight.cameras import CameraConfigError
from pigweight.synthetic import write_demo_video
from tests.api.conftest import MakeClient
from tests.api.photos import THREE_PIGS, pigs_on_floor
from tests.api.test_auth import PASSWORD, add_users

FILE_ZONE = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]
PAGE_ZONE = [[0.1, 0.1], [0.9, 0.1], [0.9, 0.9], [0.1, 0.9]]
# A corner no animal of the synthetic platform stands in: everyone is outside.
CORNER = [[0.0, 0.0], [0.04, 0.0], [0.04, 0.04], [0.0, 0.04]]
LEFT_HALF = [[0.0, 0.0], [0.5, 0.0], [0.5, 1.0], [0.0, 1.0]]


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_demo_video(
        tmp_path_factory.mktemp("clip") / "clip.mp4", seconds=2, width=320, height=180
    )


def cameras_file(tmp_path: Path, clip: Path, zone: str = json.dumps(FILE_ZONE)) -> Path:
    path = tmp_path / "cameras.yaml"
    path.write_text(
        "cameras:\n"
        f"  - {{id: pen1, url: '{clip}', target_fps: 10, zone: {zone}}}\n"
        f"  - {{id: pen2, url: '{clip}', target_fps: 10}}\n"
    )
    return path


def cameras(client: TestClient) -> dict[str, dict[str, Any]]:
    return {c["id"]: c for c in client.get("/api/cameras").json()}


def test_the_cameras_file_zone_is_shown(
    make_client: MakeClient, tmp_path: Path, clip: Path
) -> None:
    client = make_client(cameras_file=cameras_file(tmp_path, clip))
    listed = cameras(client)
    assert listed["pen1"]["zone"] == FILE_ZONE and listed["pen1"]["zone_source"] == "file"
    assert listed["pen2"]["zone"] is None and listed["pen2"]["zone_source"] is None


def test_a_bad_zone_in_the_cameras_file_names_the_camera(
    make_client: MakeClient, tmp_path: Path, clip: Path
) -> None:
    path = cameras_file(tmp_path, clip, zone="[[0, 0], [1, 0]]")
    with pytest.raises(CameraConfigError, match=r"camera pen1: zone: .*at least 3"):
        make_client(cameras_file=path)


def test_a_page_zone_overrides_the_file_and_survives_a_restart(
    make_client: MakeClient, tmp_path: Path, clip: Path
) -> None:
    path = cameras_file(tmp_path, clip)
    client = make_client(cameras_file=path)
    r = client.put("/api/cameras/pen1/zone", json={"zone": PAGE_ZONE})
    assert r.status_code == 200, r.text
    assert r.json() == {"zone": PAGE_ZONE, "zone_source": "page"}
    assert client.put("/api/cameras/pen2/zone", json={"zone": CORNER}).status_code == 200
    assert json.loads((tmp_path / "data" / "zones.json").read_text()) == {
        "pen1": PAGE_ZONE,
        "pen2": CORNER,
    }

    again = make_client(cameras_file=path)  # a second app on the same DATA_DIR: a restart
    listed = cameras(again)
    assert (listed["pen1"]["zone"], listed["pen1"]["zone_source"]) == (PAGE_ZONE, "page")
    assert (listed["pen2"]["zone"], listed["pen2"]["zone_source"]) == (CORNER, "page")

    r = again.put("/api/cameras/pen1/zone", json={"zone": None})
    assert r.json() == {"zone": FILE_ZONE, "zone_source": "file"}  # the file's applies again
    r = again.put("/api/cameras/pen2/zone", json={"zone": None})
    assert r.json() == {"zone": None, "zone_source": None}
    assert cameras(make_client(cameras_file=path))["pen1"]["zone_source"] == "file"


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"zone": [[0, 0], [1, 0]]}, "at least 3"),
        ({"zone": [[0, 0], [1, 0], [1, 1.2]]}, "point 3 y: must be in 0-1"),
        ({"zone": [[0, 0], [0.5, 0.5], [1, 1]]}, "no area"),
        ({"zone": "left half"}, "write it as [[x, y], ...]"),
        ({}, "zone: is required"),
    ],
)
def test_a_bad_zone_is_refused_with_the_reason(
    make_client: MakeClient, tmp_path: Path, clip: Path, body: dict[str, Any], says: str
) -> None:
    client = make_client(cameras_file=cameras_file(tmp_path, clip))
    r = client.put("/api/cameras/pen1/zone", json=body)
    assert r.status_code == 422 and says in r.json()["detail"], r.text
    assert cameras(client)["pen1"]["zone_source"] == "file"  # nothing changed
    assert not (tmp_path / "data" / "zones.json").exists()


def test_an_unknown_camera_is_404(make_client: MakeClient, tmp_path: Path, clip: Path) -> None:
    client = make_client(cameras_file=cameras_file(tmp_path, clip))
    r = client.put("/api/cameras/pen9/zone", json={"zone": PAGE_ZONE})
    assert r.status_code == 404 and "pen1" in r.json()["detail"]


def test_only_an_admin_sets_a_zone(make_client: MakeClient, tmp_path: Path, clip: Path) -> None:
    client = make_client(cameras_file=cameras_file(tmp_path, clip))
    add_users(client)
    for name, status in (("vera", 403), ("oleg", 403), ("anna", 200)):
        client.post("/api/auth/login", json={"name": name, "password": PASSWORD})
        r = client.put("/api/cameras/pen2/zone", json={"zone": PAGE_ZONE})
        assert r.status_code == status, (name, r.text)
        assert client.get("/api/cameras").status_code == 200  # everyone sees the zone


def _messages(
    client: TestClient, camera: str, ok: Callable[[dict[str, Any]], bool], timeout_s: float = 20
) -> dict[str, Any]:
    """The first live message of `camera` for which `ok` holds."""
    deadline = time.monotonic() + timeout_s
    seen: dict[str, Any] = {}
    with client.websocket_connect(f"/ws/count?id={camera}") as ws:
        while time.monotonic() < deadline:
            seen = ws.receive_json()
            if ok(seen):
                return seen
    raise AssertionError(f"no live message of {camera} matched; the last: {seen}")


def test_live_counting_follows_a_new_zone_without_a_restart(
    make_client: MakeClient, tmp_path: Path, clip: Path
) -> None:
    client = make_client(cameras_file=cameras_file(tmp_path, clip))
    assert client.post("/api/cameras/pen2/start").status_code == 200
    before = _messages(client, "pen2", lambda m: bool(m["count"]))
    assert before["zone"] is None and before["outside_outlines"] == []
    assert len(before["outlines"]) == before["count"]

    assert client.put("/api/cameras/pen2/zone", json={"zone": CORNER}).status_code == 200
    after = _messages(client, "pen2", lambda m: m["zone"] == CORNER and bool(m["outside_outlines"]))
    assert after["count"] == 0 and after["outlines"] == []  # seen, greyed, not counted
    snapshot = client.get("/api/cameras/pen2/snapshot.jpg")
    assert snapshot.status_code == 200 and snapshot.content[:2] == b"\xff\xd8"

    # Half the platform: some animals count, the others are seen and left out.
    assert client.put("/api/cameras/pen2/zone", json={"zone": LEFT_HALF}).status_code == 200
    half = _messages(
        client,
        "pen2",
        lambda m: m["zone"] == LEFT_HALF and bool(m["outlines"] and m["outside_outlines"]),
    )
    assert half["count"] == len(half["outlines"])
    assert all(_centre_x(o) < 0.55 for o in half["outlines"])
    assert all(_centre_x(o) > 0.45 for o in half["outside_outlines"])

    assert client.put("/api/cameras/pen2/zone", json={"zone": None}).status_code == 200
    back = _messages(client, "pen2", lambda m: m["zone"] is None and bool(m["count"]))
    assert back["outside_outlines"] == []


def _centre_x(outline: list[list[float]]) -> float:
    """x of the polygon's area centroid (what the zone rule uses, up to the outline's detail)."""
    pts = list(zip(outline, outline[1:] + outline[:1], strict=True))
    cross = [x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in pts]
    area = sum(cross) / 2
    if abs(area) < 1e-9:
        return sum(x for x, _ in outline) / len(outline)
    return sum((x0 + x1) * c for ((x0, _), (x1, _)), c in zip(pts, cross, strict=True)) / (6 * area)


def _count_photo(client: TestClient, **form: str) -> Any:
    photo = pigs_on_floor(THREE_PIGS)
    return client.post("/api/count_image", files={"file": ("pen.jpg", photo)}, data=form)


def test_a_photo_is_counted_inside_its_zone(client: TestClient) -> None:
    whole = _count_photo(client).json()
    assert (whole["count"], whole["outside"], whole["outside_outlines"]) == (3, 0, [])
    # THREE_PIGS stand at x = 300, 700, 1000 of 1280: a left half holds only the first.
    r = _count_photo(client, zone=json.dumps(LEFT_HALF))
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["count"], body["outside"]) == (1, 2)
    assert len(body["outlines"]) == 1 and len(body["outside_outlines"]) == 2
    assert all(x < 0.5 for x, _ in body["outlines"][0])


@pytest.mark.parametrize(
    ("zone", "says"), [("[[0,0],[1,0]]", "at least 3"), ("left half", "not valid JSON")]
)
def test_a_photo_with_a_bad_zone_is_422(client: TestClient, zone: str, says: str) -> None:
    r = _count_photo(client, zone=zone)
    assert r.status_code == 422 and says in r.json()["detail"], r.text
    assert r.json()["code"] == "invalid_zone"

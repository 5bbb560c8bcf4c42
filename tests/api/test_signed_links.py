"""Signed links on a real app, a real SQLite file and a real key file: only media can be
signed, for no longer than the signer's role allows, and a link lives no longer than its
signer's role and the key it was signed with."""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pigweight.auth import signing
from pigweight.auth.users import Role
from tests.api.conftest import MakeClient
from tests.media.videos import write_clip

PASSWORD = "correct horse battery"
USERS: dict[str, Role] = {"anna": "admin", "boris": "admin", "oleg": "operator", "vera": "viewer"}
HOUR, DAY = 3600, 86400


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_clip(tmp_path_factory.mktemp("clip") / "pen.mp4", seconds=3, gop_s=1.0)


def add_users(client: TestClient) -> dict[str, dict[str, str]]:
    """The users of USERS, each with an API token: name -> Authorization header."""
    state = client.app.state.auth  # type: ignore[attr-defined]
    headers = {}
    for name, role in USERS.items():
        state.book.add(name, role, PASSWORD)
        token = state.book.add_token(name, "signed links")[1]
        headers[name] = {"Authorization": f"Bearer {token}"}
    state.forget()  # the gate asks "any users?" again at once instead of within 5 s
    return headers


def upload(client: TestClient, clip: Path) -> int:
    r = client.post(
        "/api/video_file/upload", content=clip.read_bytes(), headers={"X-Filename": "a.mp4"}
    )
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def sign(client: TestClient, auth: dict[str, str], path: str, ttl_s: float = 600) -> str:
    r = client.post("/api/auth/signed_url", json={"path": path, "ttl_s": ttl_s}, headers=auth)
    assert r.status_code == 200, r.text
    return str(r.json()["url"])


@pytest.fixture
def client(make_client: MakeClient) -> TestClient:
    return make_client(demo_scale=False)


@pytest.mark.parametrize(
    "path",
    [
        "/api/",  # every read route at once
        "/api/weight/records.csv",  # the whole export
        "/api/weight/records",
        "/api/weight/records/1",
        "/api/weight/records/1/evidence",
        "/api/weight/records/1/",
        "/api/weight/records/1/snapshot.jpg/",
        "/api/weight/records/x/snapshot.jpg",
        "/api/video_file/stream_hls/1/",
        "/api/video_file/1/frame.jpg",
        "/api/video_file/1",
        "/api/video_file/1/raw/../../../weight/records.csv",
        "/api/video_file/1/raw?scope=/api/",
        "/api/cameras/demo/mjpeg",
        "/api/users",
        "/metrics",
        "/ws/count",
        "/ws/",
        "/",
        "api/video_file/1/raw",
    ],
)
def test_only_media_can_be_signed(client: TestClient, path: str) -> None:
    headers = add_users(client)
    r = client.post("/api/auth/signed_url", json={"path": path}, headers=headers["anna"])
    assert r.status_code == 422, f"{path} was signed: {r.text}"
    body = r.json()
    assert body["code"] and "snapshot.jpg" in body["detail"] and "/raw" in body["detail"]
    assert "stream_hls" in body["detail"]  # it says what can be signed


@pytest.mark.parametrize(
    "path",
    [
        "/api/weight/records/12/snapshot.jpg",
        "/api/video_file/7/raw",
        "/api/video_file/stream_hls/7",
        "/api/video_file/stream_hls/7/3.ts",
    ],
)
def test_media_can_be_signed_by_a_viewer(client: TestClient, path: str) -> None:
    headers = add_users(client)
    url = sign(client, headers["vera"], path)
    assert url.startswith(path + "?")


@pytest.mark.parametrize(
    ("name", "ttl_s", "allowed"),
    [
        ("vera", HOUR, True),
        ("vera", HOUR + 1, False),
        ("vera", 7 * DAY, False),
        ("oleg", DAY, True),
        ("oleg", DAY + 1, False),
        ("anna", 7 * DAY, True),
        ("anna", 7 * DAY + 1, False),
    ],
)
def test_a_link_lasts_no_longer_than_the_signers_role_allows(
    client: TestClient, name: str, ttl_s: int, allowed: bool
) -> None:
    headers = add_users(client)
    path = "/api/video_file/1/raw"
    r = client.post(
        "/api/auth/signed_url", json={"path": path, "ttl_s": ttl_s}, headers=headers[name]
    )
    if allowed:
        assert r.status_code == 200, r.text
        assert abs(r.json()["expires_ts"] - (time.time() + ttl_s)) < 60
    else:
        assert r.status_code == 422, f"a {USERS[name]} signed a link for {ttl_s} s"
        assert str(signing.MAX_TTL_S[USERS[name]]) in r.json()["detail"]  # says the limit


@pytest.mark.parametrize(
    ("signer", "change"),
    [
        ("oleg", None),  # deleted
        ("oleg", "viewer"),  # demoted
        ("boris", "operator"),  # an admin demoted
        ("vera", None),  # a viewer deleted
    ],
)
def test_a_link_dies_with_its_signers_account_or_role(
    client: TestClient, clip: Path, signer: str, change: str | None
) -> None:
    video_id = upload(client, clip)
    headers = add_users(client)
    url = sign(client, headers[signer], f"/api/video_file/{video_id}/raw", ttl_s=HOUR)
    assert client.get(url).content == clip.read_bytes()
    if change is None:
        assert client.delete(f"/api/users/{signer}", headers=headers["anna"]).status_code == 204
    else:
        r = client.patch(f"/api/users/{signer}", json={"role": change}, headers=headers["anna"])
        assert r.status_code == 200, r.text
    r = client.get(url)
    assert r.status_code == 401, f"the link still works after its signer became {change}"
    assert r.json()["code"] == "unauthorized"


def test_a_link_stays_dead_when_its_signers_id_goes_to_a_new_user(
    client: TestClient, clip: Path
) -> None:
    video_id = upload(client, clip)
    headers = add_users(client)
    url = sign(client, headers["vera"], f"/api/video_file/{video_id}/raw")
    vera = client.app.state.auth.book.get("vera")  # type: ignore[attr-defined]
    assert client.delete("/api/users/vera", headers=headers["anna"]).status_code == 204
    r = client.post(
        "/api/users",
        json={"name": "ivan", "role": "viewer", "password": PASSWORD},
        headers=headers["anna"],
    )
    assert r.status_code == 201
    assert client.app.state.auth.book.get("ivan").id == vera.id  # type: ignore[attr-defined]
    assert client.get(url).status_code == 401, "vera's link opened on ivan's account"


def test_a_link_survives_its_signers_promotion(client: TestClient, clip: Path) -> None:
    video_id = upload(client, clip)
    headers = add_users(client)
    url = sign(client, headers["oleg"], f"/api/video_file/{video_id}/raw")
    r = client.patch("/api/users/oleg", json={"role": "admin"}, headers=headers["anna"])
    assert r.status_code == 200
    assert client.get(url).content == clip.read_bytes()


@pytest.mark.parametrize("how", ["delete", "replace"])
def test_a_link_dies_with_the_key_file_without_a_restart(
    client: TestClient, clip: Path, how: str
) -> None:
    video_id = upload(client, clip)
    headers = add_users(client)
    path = f"/api/video_file/{video_id}/raw"
    url = sign(client, headers["anna"], path)
    assert client.get(url).status_code == 200
    key_file = client.app.state.settings.server.data_dir / signing.KEY_FILE  # type: ignore[attr-defined]
    if how == "delete":
        key_file.unlink()
    else:  # a new key put in place the way an admin would: a new file renamed over it
        new = key_file.with_suffix(".new")
        new.write_text(secrets.token_bytes(32).hex())
        os.replace(new, key_file)
    assert client.get(url).status_code == 401, f"the link outlived its key ({how}d)"
    fresh = sign(client, headers["anna"], path)  # a deleted key is made again on first use
    assert client.get(fresh).content == clip.read_bytes()
    assert client.get(url).status_code == 401


@pytest.mark.slow
def test_signed_media_links_open_the_recording_playlist_segments_and_snapshot(
    client: TestClient, clip: Path
) -> None:
    video_id = upload(client, clip)
    r = client.post(
        f"/api/video_file/{video_id}/weighing",
        json={"t": 1.0, "total_weight_kg": 120.0, "count": 10, "at": "2026-12-01T08:00:00"},
    )
    assert r.status_code == 201, r.text
    snapshot = r.json()["snapshot_url"]
    headers = add_users(client)
    assert client.get(snapshot).status_code == 401  # no login, no link

    picture = client.get(sign(client, headers["vera"], snapshot))
    assert picture.status_code == 200 and picture.content.startswith(b"\xff\xd8")
    raw = client.get(sign(client, headers["vera"], f"/api/video_file/{video_id}/raw"))
    assert raw.content == clip.read_bytes()

    playlist = f"/api/video_file/stream_hls/{video_id}"
    text = client.get(sign(client, headers["vera"], playlist)).text
    uris = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert uris and all("sig=" in u for u in uris)
    for uri in uris:
        segment = client.get(f"{playlist}/{uri.split('/', 1)[1]}")
        assert segment.status_code == 200 and segment.headers["content-type"] == "video/mp2t"
    bare = uris[0].split("?")[0].split("/", 1)[1]
    assert client.get(f"{playlist}/{bare}").status_code == 401  # the segment needs the link
    # A link opens only what it was signed for: not the other recording, not the export.
    other = sign(client, headers["vera"], f"/api/video_file/{video_id}/raw")
    query = other.split("?", 1)[1]
    assert client.get(f"/api/video_file/{video_id + 1}/raw?{query}").status_code == 401
    assert client.get(f"/api/weight/records.csv?{query}").status_code == 401

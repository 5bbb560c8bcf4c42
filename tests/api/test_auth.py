"""Access control on a real app and a real SQLite file: open while no user exists; then
sessions, roles, API tokens, login rate limiting, signed media links and WebSockets."""

from __future__ import annotations

import io
import sqlite3
import sys
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from pigweight import cli
from pigweight.api.errors import refusal_response
from pigweight.auth import signing
from pigweight.auth.gate import Forbidden, NotSignedIn
from pigweight.store.db import DB_FILE_NAME
from pigweight.synthetic import write_demo_video
from tests.api.conftest import MakeClient

PASSWORD = "correct horse battery"
WEIGHING = {"camera_id": "demo", "total_weight_kg": 120.0, "count": 10}


def add_users(client: TestClient) -> None:
    state = client.app.state.auth  # type: ignore[attr-defined]
    for name, role in (("anna", "admin"), ("oleg", "operator"), ("vera", "viewer")):
        state.book.add(name, role, PASSWORD)
    state.forget()  # the gate asks "any users?" again at once instead of within 5 s


def login(client: TestClient, name: str, password: str = PASSWORD) -> Any:
    return client.post("/api/auth/login", json={"name": name, "password": password})


@pytest.fixture
def client(make_client: MakeClient) -> TestClient:
    return make_client(demo_scale=False)


def test_with_no_user_the_service_is_open_as_before(client: TestClient) -> None:
    assert client.get("/api/cameras").status_code == 200
    assert client.post("/api/weight/average", json=WEIGHING).status_code == 201
    assert client.get("/api/auth/me").json() == {"user": None, "login_required": False}


def test_once_a_user_exists_everything_but_the_login_needs_one(client: TestClient) -> None:
    add_users(client)
    r = client.get("/api/cameras")
    assert r.status_code == 401 and "log in first" in r.json()["detail"]
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert client.post("/api/weight/average", json=WEIGHING).status_code == 401
    assert client.get("/metrics").status_code == 401
    page = client.get("/", headers={"Accept": "text/html"}, follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/login?next=%2F"
    assert "Вход" in client.get("/login").text
    assert client.get("/static/css/app.css").status_code == 200
    assert client.get("/healthz").status_code == 200
    assert client.get("/api/auth/me").json() == {"user": None, "login_required": True}


LOGIN_FIRST = (
    "log in first: open /login in the browser, or send 'Authorization: Bearer <token>' "
    "(an admin makes tokens with `pigweight users token NAME`)"
)


def test_the_gate_answers_as_every_error_does(client: TestClient) -> None:
    """Its 401 and 403 are the body, code and headers the page and scripts read, made by
    api/errors.py from the gate's refusals like every other error's (not written apart)."""
    add_users(client)
    r = client.post("/api/weight/average", json=WEIGHING)
    assert (r.status_code, r.json()) == (401, {"detail": LOGIN_FIRST, "code": "unauthorized"})
    assert r.headers["www-authenticate"] == 'Bearer realm="pigweight"'
    assert r.headers["content-type"] == "application/json"
    assert r.content == refusal_response(NotSignedIn()).body
    login(client, "vera")
    r = client.post("/api/weight/average", json=WEIGHING)
    forbidden = "vera is a viewer; this needs an operator: ask an admin for the role"
    assert (r.status_code, r.json()) == (403, {"detail": forbidden, "code": "forbidden"})
    assert "www-authenticate" not in r.headers
    assert r.headers["content-type"] == "application/json"
    vera = client.app.state.auth.book.get("vera")  # type: ignore[attr-defined]
    assert r.content == refusal_response(Forbidden(vera, "operator")).body


def test_a_session_cookie_is_httponly_samesite_and_ends_with_logout(client: TestClient) -> None:
    add_users(client)
    assert login(client, "oleg", "wrong password!").status_code == 401
    assert login(client, "nobody", PASSWORD).status_code == 401
    r = login(client, "oleg")
    assert r.status_code == 200 and r.json() == {"name": "oleg", "role": "operator"}
    cookie = r.headers["set-cookie"]
    assert "pigweight_session=" in cookie and "HttpOnly" in cookie
    assert "SameSite=strict" in cookie and "Path=/" in cookie
    assert client.get("/api/cameras").status_code == 200
    assert client.get("/api/auth/me").json()["user"] == {"name": "oleg", "role": "operator"}
    client.post("/api/auth/logout")
    assert client.get("/api/cameras").status_code == 401
    # Only hashes are stored: the database opens nothing.
    db = sqlite3.connect(client.app.state.settings.server.data_dir / DB_FILE_NAME)  # type: ignore[attr-defined]
    hashes = [h for (h,) in db.execute("SELECT password_hash FROM users")]
    db.close()
    assert all(h.startswith("$argon2id$") and PASSWORD not in h for h in hashes)


@pytest.mark.parametrize(
    ("user", "method", "path", "body", "allowed"),
    [
        ("vera", "GET", "/api/weight/records", None, True),
        ("vera", "POST", "/api/weight/average", WEIGHING, False),
        ("oleg", "POST", "/api/weight/average", WEIGHING, True),
        ("oleg", "POST", "/api/cameras/demo/stop", None, False),
        ("anna", "POST", "/api/cameras/demo/stop", None, True),
        ("oleg", "GET", "/api/users", None, False),
        ("anna", "GET", "/api/users", None, True),
        ("oleg", "POST", "/api/video_file/register", {"path": "/x.mp4"}, False),
    ],
)
def test_roles_nest_viewer_operator_admin(
    client: TestClient, user: str, method: str, path: str, body: Any, allowed: bool
) -> None:
    add_users(client)
    login(client, user)
    r = client.request(method, path, json=body)
    if allowed:
        assert r.status_code < 400, r.text
    else:
        assert r.status_code == 403 and "ask an admin" in r.json()["detail"], r.text


def test_failed_logins_are_rate_limited(client: TestClient) -> None:
    add_users(client)
    for _ in range(5):
        assert login(client, "oleg", "guess guess guess").status_code == 401
    r = login(client, "oleg")  # even the right password waits now
    assert r.status_code == 429 and 0 < int(r.headers["retry-after"]) <= 60
    assert "too many failed logins" in r.json()["detail"]
    assert login(client, "vera").status_code == 200  # another name is not locked out


def test_api_tokens_work_until_revoked(client: TestClient) -> None:
    add_users(client)
    login(client, "anna")
    made = client.post("/api/tokens", json={"user": "oleg", "label": "erp sync"}).json()
    assert made["token"].startswith("pw_") and made["user"] == "oleg"
    listed = client.get("/api/tokens").json()
    assert [t["label"] for t in listed] == ["erp sync"] and "token" not in listed[0]
    client.post("/api/auth/logout")
    bearer = {"Authorization": f"Bearer {made['token']}"}
    assert client.post("/api/weight/average", json=WEIGHING, headers=bearer).status_code == 201
    wrong = {"Authorization": "Bearer pw_made_up"}
    assert client.get("/api/cameras", headers=wrong).status_code == 401
    login(client, "anna")
    assert client.delete(f"/api/tokens/{made['id']}").status_code == 204
    client.post("/api/auth/logout")
    assert client.get("/api/cameras", headers=bearer).status_code == 401


def test_users_are_managed_by_an_admin_and_the_last_admin_stays(client: TestClient) -> None:
    add_users(client)
    login(client, "anna")
    r = client.post("/api/users", json={"name": "ivan", "role": "operator", "password": "short"})
    assert r.status_code == 422 and "too short" in r.json()["detail"]
    r = client.post("/api/users", json={"name": "ivan", "role": "boss", "password": PASSWORD})
    assert r.status_code == 422 and "unknown" in r.json()["detail"]
    r = client.post("/api/users", json={"name": "ivan", "role": "operator", "password": PASSWORD})
    assert r.status_code == 201
    r = client.patch("/api/users/vera", json={"role": "operator"})
    assert r.json() == {"name": "vera", "role": "operator"}
    assert client.delete("/api/users/anna").status_code == 422  # not oneself
    r = client.patch("/api/users/anna", json={"role": "viewer"})
    assert r.status_code == 422 and "last admin" in r.json()["detail"]
    assert client.delete("/api/users/nobody").status_code == 404


def test_a_signed_link_opens_one_path_for_a_while(client: TestClient) -> None:
    record = client.post("/api/weight/average", json=WEIGHING).json()
    add_users(client)
    login(client, "vera")
    path = f"/api/weight/records/{record['id']}/snapshot.jpg"
    r = client.post("/api/auth/signed_url", json={"path": path, "ttl_s": 60})
    assert r.status_code == 200, r.text
    url = r.json()["url"]
    r = client.post("/api/auth/signed_url", json={"path": "/api/../etc/passwd"})
    assert r.status_code == 422
    client.post("/api/auth/logout")
    opened = client.get(url)  # past the gate; the record has no picture (no camera ran)
    assert opened.status_code == 404 and opened.json()["code"] != "unauthorized"
    assert client.get(url.replace("sig=", "sig=0")).status_code == 401  # tampered
    other = path.replace(f"/{record['id']}/", f"/{record['id']}0/")
    assert client.get(url.replace(path, other)).status_code == 401  # another record
    assert client.post(url, json={}).status_code in (401, 405)  # reading only
    state = client.app.state.auth  # type: ignore[attr-defined]
    vera = state.book.get("vera")
    expired = signing.sign(state.keys.current(), path, -1, vera)
    query = "&".join(f"{k}={v}" for k, v in expired.items())
    assert client.get(f"{path}?{query}").status_code == 401


@pytest.mark.slow
def test_a_signed_playlist_opens_its_segments(make_client: MakeClient, tmp_path: Path) -> None:
    clip = write_demo_video(tmp_path / "clip.mp4", seconds=4, width=320, height=180)
    client = make_client(demo_scale=False, index_interval_s=1.0)
    r = client.post(
        "/api/video_file/upload", content=clip.read_bytes(), headers={"X-Filename": "a.mp4"}
    )
    video_id = r.json()["id"]
    add_users(client)
    login(client, "vera")
    playlist = f"/api/video_file/stream_hls/{video_id}"
    url = client.post("/api/auth/signed_url", json={"path": playlist}).json()["url"]
    client.post("/api/auth/logout")
    assert client.get(playlist).status_code == 401
    text = client.get(url).text
    uris = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert uris and all("sig=" in u for u in uris)
    segment = client.get(f"/api/video_file/stream_hls/{uris[0]}")
    assert segment.status_code == 200 and segment.headers["content-type"] == "video/mp2t"
    bare = uris[0].split("?")[0]
    assert client.get(f"/api/video_file/stream_hls/{bare}").status_code == 401


def test_websockets_need_a_user_too(client: TestClient) -> None:
    add_users(client)
    with pytest.raises(WebSocketDisconnect), client.websocket_connect("/ws/count?camera=demo"):
        pass
    login(client, "vera")
    cookie = client.cookies.get("pigweight_session")
    with client.websocket_connect(
        "/ws/count?camera=demo", headers={"cookie": f"pigweight_session={cookie}"}
    ) as ws:
        assert ws.receive_json()


def test_the_cli_adds_users_and_serve_refuses_the_network_without_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env of the repo
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    assert cli.main(["serve", "--host", "0.0.0.0", "--port", "8999"]) == 2
    error = capsys.readouterr().err
    assert "pigweight users add NAME --role admin" in error and "0.0.0.0" in error
    monkeypatch.setattr(sys, "stdin", io.StringIO(PASSWORD + "\n"))
    assert cli.main(["users", "add", "anna", "--role", "admin", "--password-stdin"]) == 0
    monkeypatch.setattr(sys, "stdin", io.StringIO("short\n"))
    assert cli.main(["users", "add", "ivan", "--role", "operator", "--password-stdin"]) == 2
    assert "too short" in capsys.readouterr().err
    assert cli.main(["users", "token", "anna", "--label", "backup"]) == 0
    token = capsys.readouterr().out.strip()
    assert token.startswith("pw_")
    assert cli.main(["users", "list"]) == 0
    assert capsys.readouterr().out.strip() == "anna\tadmin"
    started: list[str] = []
    monkeypatch.setattr("uvicorn.run", lambda app, host, **_: started.append(host))
    assert cli.main(["serve", "--host", "0.0.0.0", "--port", "8999"]) == 0
    assert started == ["0.0.0.0"]

"""GET /healthz, /api/config, the page at `/`, and what happens while the model is missing."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from pigweight import __version__
from tests.api.conftest import MakeClient
from tests.api.photos import THREE_PIGS, pigs_on_floor


def test_healthz_is_not_ready_until_the_first_photo_loads_the_segmenter(
    client: TestClient,
) -> None:
    before = client.get("/healthz").json()
    client.post("/api/count_image", files={"file": ("a.jpg", pigs_on_floor(THREE_PIGS))})
    after = client.get("/healthz").json()

    assert before == {
        "status": "ok",
        "ready": False,
        "segmenter": "classic",
        "version": __version__,
    }
    assert after["ready"] is True


def test_preload_model_makes_the_server_ready_before_the_first_request(
    make_client: MakeClient,
) -> None:
    client = make_client(preload_model=True)

    assert client.get("/healthz").json()["ready"] is True


def test_missing_model_answers_503_and_still_judges_the_photo(
    make_client: MakeClient, tmp_path: Path
) -> None:
    missing = tmp_path / "no_such_model.onnx"
    client = make_client(segmenter="yolo_onnx", model_path=missing, preload_model=True)

    health = client.get("/healthz").json()
    photo = client.post("/api/count_image", files={"file": ("a.jpg", pigs_on_floor(THREE_PIGS))})
    not_photo = client.post("/api/count_image", files={"file": ("a.jpg", b"hello")})

    assert health["ready"] is False
    assert photo.status_code == 503
    assert photo.json()["code"] == "model_unavailable"
    assert "no_such_model.onnx" in photo.json()["detail"]
    # A bad file is reported as such, even while the model cannot be loaded.
    assert not_photo.status_code == 422


def test_config_tells_the_page_its_defaults(make_client: MakeClient) -> None:
    client = make_client(ui_language="en", max_upload_mb=12)

    config = client.get("/api/config").json()

    assert config["ui_language"] == "en"
    assert config["max_upload_mb"] == 12
    assert config["webrtc_enabled"] is True and config["webrtc_stun"] == []


def test_config_gives_the_page_stun_servers_but_no_turn_secret(make_client: MakeClient) -> None:
    client = make_client(
        webrtc_ice_servers=["stun:stun.farm.lan:3478", "turn:turn.farm.lan:3478"],
        webrtc_turn_username="farm",
        webrtc_turn_password="s3cret-turn",
    )
    r = client.get("/api/config")
    assert r.json()["webrtc_stun"] == ["stun:stun.farm.lan:3478"]
    assert "s3cret-turn" not in r.text and "turn.farm.lan" not in r.text


def test_page_is_served_with_the_default_language(make_client: MakeClient) -> None:
    ru = make_client().get("/")
    en = make_client(ui_language="en", max_upload_mb=7).get("/")

    assert ru.status_code == 200
    assert "<title>PigWeight</title>" in ru.text
    assert 'lang="ru"' in ru.text
    assert 'data-default-lang="en"' in en.text
    assert 'data-max-upload-mb="7"' in en.text
    assert "__UI_LANGUAGE__" not in ru.text


def test_page_assets_are_served_locally(client: TestClient) -> None:
    page = client.get("/").text

    for asset in ["/static/css/app.css", "/static/js/app.js", "/static/favicon.svg"]:
        assert asset in page
        assert client.get(asset).status_code == 200
    for module in ["i18n.js", "api.js"]:
        assert client.get(f"/static/js/{module}").status_code == 200
    assert "http://" not in page and "https://" not in page


def test_no_page_that_needs_the_internet(make_client: MakeClient) -> None:
    client = make_client()
    # Swagger UI would load its scripts from a CDN: off, the schema is served instead.
    assert client.get("/docs").status_code == 404
    assert client.get("/openapi.json").json()["info"]["title"] == "PigWeight"

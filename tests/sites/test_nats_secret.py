"""A NATS password (`Barn2-Secret`, planted) reaches no log line, no answer and no page: a
site and the central each log in with it to a real nats-server that refuses it, with every
logger at DEBUG, and then every answer they give about their link is read."""

from __future__ import annotations

import base64
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pigweight.app import create_app
from tests.api.conftest import make_settings
from tests.natsd import Hub, Leaf
from tests.sites.conftest import LogLines

pytestmark = pytest.mark.timeout(60)

PLANTED = "Barn2-Secret"
FORMS = (PLANTED.lower(), base64.b64encode(f"barn2:{PLANTED}".encode()).decode().lower())


def _leaks(text: str) -> list[str]:
    return [form for form in FORMS if form in text.lower()]


def test_the_nats_password_is_never_shown(tmp_path: Path, hub: Hub, every_log: LogLines) -> None:
    barn2 = Leaf(tmp_path, "barn2", hub)
    barn2.start()
    site_settings = make_settings(
        tmp_path / "barn2",
        site_id="barn2",
        nats_url=barn2.url,
        nats_user="barn2",
        nats_password=PLANTED,  # not barn2's: refused
        nats_monitor_url=f"http://127.0.0.1:{barn2.monitor_port}",
    )
    central_settings = make_settings(
        tmp_path / "central",
        central=True,
        central_sites=["barn2"],
        nats_url=hub.url,
        nats_user="central",
        nats_password=PLANTED,
    )
    try:
        with (
            TestClient(create_app(site_settings)) as site,
            TestClient(create_app(central_settings)) as central,
        ):
            deadline = time.monotonic() + 20
            while not (
                site.get("/api/health").json()["site_link"]["last_error"]
                and central.get("/api/health").json()["central"]["last_error"]
            ):
                assert time.monotonic() < deadline, "neither was refused by its nats-server"
                time.sleep(0.1)
            answers = [
                client.get(path).text
                for client in (site, central)
                for path in ("/api/health", "/", "/api/config", "/healthz", "/api/central/sites")
            ]
    finally:
        barn2.stop()
    assert "authorization" in " ".join(answers).lower()  # the refusal itself is shown
    for text in [*answers, *every_log.lines]:
        assert not _leaks(text), text
    for path in tmp_path.rglob("*"):
        if path.is_file() and path.suffix != ".conf":
            assert not _leaks(path.read_bytes().decode("utf-8", "replace")), path

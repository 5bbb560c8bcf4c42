"""The whole app, twice: a site (SITE_ID, NATS_* to its leaf nats-server) and the central
(--central, PostgreSQL, the hub), with real nats-servers between them. A weighing typed at
the site is in the central's API; the site's /api/health says the link is up and nothing
waits; each page knows what it is."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from pigweight.app import create_app
from tests.api.conftest import make_settings
from tests.natsd import CENTRAL_PASSWORD, Hub, Leaf, site_password

pytestmark = pytest.mark.timeout(120)


def wait_for(read: Callable[[], Any], limit_s: float, what: str) -> Any:
    """The first truthy `read()`; fails after `limit_s`."""
    deadline = time.monotonic() + limit_s
    while not (value := read()):
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {limit_s} s")
        time.sleep(0.1)
    return value


def test_a_weighing_at_a_site_is_seen_on_the_central(
    tmp_path: Path, hub: Hub, barn1: Leaf, postgres: Any
) -> None:
    name = postgres.create_database()
    central_settings = make_settings(
        tmp_path / "central",
        central=True,
        central_sites=["barn1", "barn2"],
        nats_url=hub.url,
        nats_user="central",
        nats_password=CENTRAL_PASSWORD,
        database_url=postgres.url(name),
    )
    site_settings = make_settings(
        tmp_path / "barn1",
        site_id="barn1",
        nats_url=barn1.url,
        nats_user="barn1",
        nats_password=site_password("barn1"),
        nats_monitor_url=f"http://127.0.0.1:{barn1.monitor_port}",
    )
    try:
        with (
            TestClient(create_app(central_settings)) as central,
            TestClient(create_app(site_settings)) as site,
        ):
            weighing = {"camera_id": "demo", "total_weight_kg": 212.5, "count": 17}
            assert site.post("/api/weight/average", json=weighing).status_code == 201
            page = wait_for(
                lambda: central.get("/api/central/records").json()["records"],
                20,
                "the weighing at the central",
            )
            (record,) = page
            assert (record["site"], record["camera"], record["count"]) == ("barn1", "demo", 17)
            assert record["total_weight_kg"] == 212.5 and record["avg_weight_kg"] == 12.5
            sites = {s["site"]: s for s in central.get("/api/central/sites").json()["sites"]}
            assert sites["barn1"]["online"] and sites["barn1"]["records_today"] == 1
            assert not sites["barn2"]["online"] and sites["barn2"]["last_heard_ts"] is None
            assert sites["barn1"]["ingest"]["taken"] >= 1

            def link() -> dict[str, Any] | None:
                status: dict[str, Any] = site.get("/api/health").json()["site_link"]
                sent = status["link_up"] and not status["waiting"] and status["last_sent_ts"]
                return status if sent else None

            status = wait_for(link, 20, "the site's link up with nothing waiting")
            assert status["site"] == "barn1" and status["connected"]
            health = central.get("/api/health").json()
            assert health["role"] == "central" and health["central"]["connected"]
            assert 'data-role="central"' in central.get("/").text
            assert 'data-role="site"' in site.get("/").text
            # the site is no central
            assert site.get("/api/central/sites").json()["code"] == "not_central"
    finally:
        postgres.drop_database(name)

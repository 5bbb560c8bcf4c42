"""What the farm office reads of its sites: /api/central/* on the central (its tables filled
as the ingest fills them, through central_apply.apply), a 404 that says why elsewhere, and
/api/health's part of a site and of the central."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from pigweight.app import create_app
from pigweight.sites import wire
from pigweight.sites.central_apply import Outcome, apply
from pigweight.store.db import open_database
from tests.api.conftest import make_settings
from tests.sites.test_wire import RECORD

BATCH = "9a1e1c1a-0c55-4b7e-8f0a-2b3c4d5e6f71"
# nothing listens there: the ingest backs off, the tables are what the test wrote
CLOSED_NATS = "nats://127.0.0.1:9"


def _uuid(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


def fill_central(data_dir: Path) -> None:
    """barn1 heard now: two cameras (one streaming), three weighings of a batch, one of them
    corrected and one deleted; barn2 heard an hour ago with one weighing."""
    engine = open_database(data_dir)
    now = time.time()
    day = time.strftime("%Y%m%d", time.localtime(now))
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(now))
    base = replace(RECORD, ts=now, local_time=f"{stamp}+03:00", local_date=day, timezone="UTC")
    bodies: list[tuple[str, wire.Body, float]] = [
        (
            "barn1",
            wire.BatchBody(BATCH, "Загон 3", "cam1", 100, 14.0, "", now - 60, None, now),
            now,
        ),
        ("barn1", wire.CameraBody("cam1", "streaming", now), now),
        ("barn1", wire.CameraBody("cam2", "reconnecting", now), now),
        (
            "barn1",
            replace(
                base,
                uuid=_uuid(1),
                count=30,
                total_weight_kg=420.0,
                avg_weight_kg=14.0,
                batch_uuid=BATCH,
            ),
            now,
        ),
        (
            "barn1",
            replace(
                base,
                uuid=_uuid(2),
                count=20,
                total_weight_kg=300.0,
                avg_weight_kg=15.0,
                batch_uuid=BATCH,
                ts=now + 1,
            ),
            now,
        ),
        # a correction of the second: 25 head, not 20
        (
            "barn1",
            replace(
                base,
                uuid=_uuid(3),
                corrects_uuid=_uuid(2),
                count=25,
                total_weight_kg=300.0,
                avg_weight_kg=12.0,
                batch_uuid=BATCH,
                ts=now + 2,
            ),
            now,
        ),
        (
            "barn1",
            replace(
                base,
                uuid=_uuid(4),
                count=10,
                total_weight_kg=100.0,
                avg_weight_kg=10.0,
                batch_uuid=BATCH,
                ts=now + 3,
            ),
            now,
        ),
        ("barn1", wire.DeletionBody(_uuid(4), now + 4, "typed twice"), now),
        ("barn2", replace(base, uuid=_uuid(5), camera="scale", ts=now - 3600), now - 3600),
    ]
    with engine.begin() as conn:
        for n, (site, body, heard) in enumerate(bodies):
            envelope = wire.Envelope(site, _uuid(100 + n), body)
            assert (
                apply(conn, site, envelope.subject, wire.encode(envelope), heard) is Outcome.TAKEN
            )
    engine.dispose()


def _central(tmp_path: Path) -> TestClient:
    settings = make_settings(
        tmp_path, central=True, central_sites=["barn1", "barn2", "barn3"], nats_url=CLOSED_NATS
    )
    fill_central(settings.server.data_dir)
    return TestClient(create_app(settings))


def test_the_central_shows_each_site_its_records_batches_and_days(tmp_path: Path) -> None:
    with _central(tmp_path) as client:
        sites = client.get("/api/central/sites").json()
        by_name = {s["site"]: s for s in sites["sites"]}
        assert list(by_name) == ["barn1", "barn2", "barn3"]  # CENTRAL_SITES' order
        barn1, barn2, barn3 = by_name.values()
        assert (barn1["online"], barn2["online"], barn3["online"]) == (True, False, False)
        assert barn3["last_heard_ts"] is None and barn3["ingest"]["taken"] == 0
        assert [(c["camera"], c["online"]) for c in barn1["cameras"]] == [
            ("cam1", True),
            ("cam2", False),
        ]
        assert barn1["cameras_online"] == 1
        assert (barn1["records"], barn1["records_today"]) == (2, 2)  # corrected, deleted: out
        assert barn1["last_record"]["uuid"] == _uuid(3)
        assert barn2["last_heard_ts"] < barn1["last_heard_ts"] - 3000

        page = client.get("/api/central/records").json()
        assert [r["uuid"] for r in page["records"]] == [_uuid(3), _uuid(1), _uuid(5)]
        assert page["records"][0]["local_time"].endswith("+03:00")  # as recorded at the site
        assert page["records"][0]["site"] == "barn1"
        one = client.get("/api/central/records", params={"site": "barn2"}).json()
        assert [r["uuid"] for r in one["records"]] == [_uuid(5)] and one["total"] == 1
        every = client.get("/api/central/records", params={"status": "all", "limit": 2}).json()
        assert every["total"] == 5 and len(every["records"]) == 2
        old = client.get("/api/central/records", params={"to_date": "2001-01-01"}).json()
        assert old["total"] == 0

        (batch,) = client.get("/api/central/batches").json()["batches"]
        # 30 head at 14 kg and 25 at 12 kg (the correction's): 720 kg / 55 head
        assert (batch["site"], batch["weighings"], batch["animals"]) == ("barn1", 2, 55)
        assert batch["avg_weight_kg"] == round(720 / 55, 3)
        assert batch["remaining"] == 45 and batch["open"] is True
        assert batch["cv_percent"] is not None and batch["cv_percent"] > 0
        assert client.get("/api/central/batches", params={"state": "closed"}).json() == {
            "batches": []
        }

        days = client.get("/api/central/days", params={"site": "barn1"}).json()["days"]
        assert [(d["camera"], d["weighings"], d["animals"]) for d in days] == [("cam1", 2, 55)]

        health = client.get("/api/health").json()
        assert health["role"] == "central" and health["site_link"] is None
        assert set(health["central"]["sites"]) == {"barn1", "barn2", "barn3"}


def test_bad_filters_are_a_422_that_says_what_to_fix(tmp_path: Path) -> None:
    with _central(tmp_path) as client:
        for params in ({"site": "Barn 1"}, {"from_date": "yesterday"}, {"limit": 0}):
            answer = client.get("/api/central/records", params=params)
            assert answer.status_code == 422, params


def _code(answer: Any) -> tuple[int, str]:
    return answer.status_code, answer.json()["code"]


def test_elsewhere_the_central_api_is_a_404_that_says_why(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    with TestClient(create_app(settings)) as client:
        for path in ("sites", "records", "batches", "days"):
            answer = client.get(f"/api/central/{path}")
            assert _code(answer) == (404, "not_central")
            assert "pigweight serve --central" in answer.json()["detail"]
        health = client.get("/api/health").json()
        assert (health["role"], health["site_link"], health["central"]) == (
            "standalone",
            None,
            None,
        )
        assert 'data-role="standalone"' in client.get("/").text

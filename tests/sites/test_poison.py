"""A message the central's database refuses (a value too long for its column) is set aside:
the site's other messages, and every other site's, are still taken."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from pathlib import Path
from typing import Any

import nats
import pytest
from sqlalchemy import select

from pigweight.settings import Settings
from pigweight.sites import streams, wire
from pigweight.sites.central import CentralIngest
from pigweight.store.db import central_records, open_database
from tests.natsd import CENTRAL_PASSWORD, Hub, Leaf, site_password
from tests.postgres import PostgresServer

pytestmark = pytest.mark.timeout(120)


def _record(site: str, note: str, local_date: str) -> wire.Envelope:
    now = time.time()
    body = wire.RecordBody(
        uuid=wire.new_event_id(), corrects_uuid=None, ts=now, created_ts=now, timezone="UTC",
        local_time="2026-12-07T12:00:00+00:00", local_date=local_date, camera="cam1", count=20,
        count_source="manual", confidence=None, total_weight_kg=240.0, avg_weight_kg=12.0,
        note=note, weight_source="manual", batch_uuid=None,
    )  # fmt: skip
    return wire.Envelope(site, wire.new_event_id(), body)


async def _publish(leaf: Leaf, envelopes: list[wire.Envelope]) -> None:
    nc = await nats.connect(leaf.url, user=leaf.site, password=site_password(leaf.site))
    js = nc.jetstream()
    await streams.ensure_site_stream(js, leaf.site)
    for e in envelopes:
        await js.publish(e.subject, wire.encode(e), headers={"Nats-Msg-Id": e.event_id})
    await nc.close()


def test_a_message_the_database_refuses_stops_no_one(
    tmp_path: Path, hub: Hub, barn1: Leaf, postgres: PostgresServer
) -> None:
    barn2 = Leaf(tmp_path, "barn2", hub)
    barn2.start()
    name = postgres.create_database()
    engine = open_database(tmp_path / "central", postgres.url(name))
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        central=True,
        central_sites=["barn1", "barn2"],
        nats_url=hub.url,
        nats_user="central",
        nats_password=CENTRAL_PASSWORD,
    )
    try:
        good = _record("barn1", "first", "20261207")
        bad = _record("barn1", "bad day", "2026-12-07 and more")  # local_date is 8 characters
        after = _record("barn1", "after", "20261207")
        other = _record("barn2", "the other site", "20261207")

        async def run() -> dict[str, Any]:
            await _publish(barn1, [good, bad, after])
            await _publish(barn2, [other])
            ingest = CentralIngest(settings.sites)
            await ingest.start(engine)
            try:
                for _ in range(1000):
                    status = {s.site: s for s in ingest.status()}
                    if (
                        status["barn1"].taken + status["barn1"].refused >= 3
                        and status["barn2"].taken
                    ):
                        break
                    await asyncio.sleep(0.02)
                return {s.site: dataclasses.asdict(s) for s in ingest.status()} | {
                    "error": ingest.last_error
                }
            finally:
                await ingest.stop()

        status = asyncio.run(run())
        with engine.connect() as conn:
            notes = set(conn.execute(select(central_records.c.note)).scalars())
        assert notes == {"first", "after", "the other site"}, status
        assert status["barn1"]["refused"] == 1 and status["barn1"]["taken"] == 2, status
        assert status["error"] is None
    finally:
        engine.dispose()
        postgres.drop_database(name)
        barn2.stop()

"""SiteJournal: a site's changes to records and batches, written into its outbox in their own
transaction (RecordBook calls it; see weighing/journal.py), then handed to the publisher."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, select

from pigweight.sites import wire
from pigweight.store import outbox
from pigweight.store.db import (
    batches,
    weight_record_confirmations,
    weight_record_deletions,
    weight_records,
)


class SiteJournal:
    """Writes each change as a wire message into `site_outbox`; `wake` is called after each
    commit (the publisher's event), from whatever thread committed."""

    def __init__(self, site: str, clock: Callable[[], float] = time.time) -> None:
        self.site = wire.check_site(site)
        self._clock = clock
        self._wake: Callable[[], None] | None = None
        self._lock = threading.Lock()

    def on_commit(self, wake: Callable[[], None] | None) -> None:
        with self._lock:
            self._wake = wake

    def committed(self) -> None:
        with self._lock:
            wake = self._wake
        if wake is not None:
            wake()

    def record_written(self, conn: Connection, record_id: int) -> None:
        row = _row(conn, weight_records, record_id)
        corrects = row["corrects_id"]
        batch_id = row["batch_id"]
        body = wire.RecordBody(
            uuid=row["uuid"],
            corrects_uuid=None if corrects is None else _uuid(conn, weight_records, corrects),
            ts=row["ts"],
            created_ts=row["created_ts"],
            timezone=row["timezone"],
            local_time=row["local_time"],
            local_date=row["local_date"],
            camera=row["camera"],
            count=row["count"],
            count_source=row["count_source"],
            confidence=row["confidence"],
            total_weight_kg=row["total_weight_kg"],
            avg_weight_kg=row["avg_weight_kg"],
            note=row["note"],
            weight_source=row["weight_source"],
            batch_uuid=None if batch_id is None else _uuid(conn, batches, batch_id),
        )
        self._add(conn, body)

    def record_deleted(self, conn: Connection, record_id: int) -> None:
        d = weight_record_deletions.c
        ts, reason = conn.execute(select(d.ts, d.reason).where(d.record_id == record_id)).one()
        uuid = _uuid(conn, weight_records, record_id)
        self._add(conn, wire.DeletionBody(record_uuid=uuid, ts=ts, reason=reason))

    def record_confirmed(self, conn: Connection, record_id: int) -> None:
        c = weight_record_confirmations.c
        ts = conn.execute(select(c.ts).where(c.record_id == record_id)).scalar_one()
        uuid = _uuid(conn, weight_records, record_id)
        self._add(conn, wire.ConfirmationBody(record_uuid=uuid, ts=ts))

    def batch_changed(self, conn: Connection, batch_id: int) -> None:
        row = _row(conn, batches, batch_id)
        body = wire.BatchBody(
            uuid=row["uuid"],
            name=row["name"],
            camera=row["camera"],
            expected_head=row["expected_head"],
            target_avg_kg=row["target_avg_kg"],
            note=row["note"],
            started_ts=row["started_ts"],
            closed_ts=row["closed_ts"],
            changed_ts=self._clock(),
        )
        self._add(conn, body)

    def _add(self, conn: Connection, body: wire.Body) -> None:
        envelope = wire.Envelope(self.site, wire.new_event_id(), body)
        payload = wire.encode(envelope).decode()
        outbox.add(conn, envelope.event_id, envelope.subject, payload, self._clock())


def _row(conn: Connection, table: Any, row_id: int) -> Any:
    return conn.execute(select(table).where(table.c.id == row_id)).mappings().one()


def _uuid(conn: Connection, table: Any, row_id: int) -> str:
    return str(conn.execute(select(table.c.uuid).where(table.c.id == row_id)).scalar_one())

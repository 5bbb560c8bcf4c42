"""Repository of a site's outbox (SQLAlchemy Core): messages written with the change they
report, read oldest first by the publisher and deleted once JetStream acknowledged them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, delete, func, insert, select

from pigweight.store.db import site_outbox


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    event_id: str
    subject: str
    payload: str
    created_ts: float


def add(conn: Connection, event_id: str, subject: str, payload: str, ts: float) -> None:
    """Queue one message (the caller's transaction commits it with its change)."""
    conn.execute(
        insert(site_outbox).values(
            event_id=event_id, subject=subject, payload=payload, created_ts=ts
        )
    )


def oldest(conn: Connection, limit: int) -> list[OutboxRow]:
    """The first `limit` messages in the order they were written."""
    rows = conn.execute(select(site_outbox).order_by(site_outbox.c.id).limit(limit)).mappings()
    return [OutboxRow(**row) for row in rows]


def remove(conn: Connection, ids: Sequence[int]) -> None:
    if ids:
        conn.execute(delete(site_outbox).where(site_outbox.c.id.in_(list(ids))))


def pending(conn: Connection) -> tuple[int, float | None]:
    """How many messages wait, and when the oldest was written."""
    count, first = conn.execute(
        select(func.count(), func.min(site_outbox.c.created_ts)).select_from(site_outbox)
    ).one()
    return int(count), None if first is None else float(first)

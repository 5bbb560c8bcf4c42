"""Repository of live count samples: what `GET /api/count_series` reads."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, delete, insert, select

from pigweight.store.db import count_samples


@dataclass(frozen=True, slots=True)
class CountRow:
    """One inference of one camera, as stored."""

    camera: str
    ts: float  # seconds since the epoch
    count: int
    stable_count: int | None
    confidence: float


def add_samples(conn: Connection, rows: Sequence[CountRow]) -> None:
    """Insert rows (the caller commits)."""
    if rows:
        conn.execute(
            insert(count_samples),
            [
                {
                    "camera": r.camera,
                    "ts": r.ts,
                    "count": r.count,
                    "stable_count": r.stable_count,
                    "confidence": r.confidence,
                }
                for r in rows
            ],
        )


def count_series(conn: Connection, camera: str, since_ts: float) -> list[CountRow]:
    """The camera's samples from since_ts on, oldest first."""
    query = (
        select(count_samples)
        .where(count_samples.c.camera == camera, count_samples.c.ts >= since_ts)
        .order_by(count_samples.c.ts)
    )
    rows = conn.execute(query).mappings()
    return [
        CountRow(r["camera"], r["ts"], r["count"], r["stable_count"], r["confidence"]) for r in rows
    ]


def purge_before(conn: Connection, ts: float) -> int:
    """Delete samples older than ts; returns how many went."""
    result = conn.execute(delete(count_samples).where(count_samples.c.ts < ts))
    return int(result.rowcount or 0)

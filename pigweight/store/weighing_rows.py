"""Repository of weighing records (SQLAlchemy Core): append-only rows, read with their fate.

A record's fate (replaced by a correction, deleted with a reason) lives in other rows, so
every read joins them; "active" means neither.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

from sqlalchemy import Connection, Select, and_, func, insert, select
from sqlalchemy.sql.elements import ColumnElement

from pigweight.domain import WeightRecord
from pigweight.store.db import (
    batches,
    weight_record_confirmations,
    weight_record_deletions,
    weight_records,
)

_replacement = weight_records.alias("replacement")
_deletion = weight_record_deletions
_confirmation = weight_record_confirmations


@dataclass(frozen=True, slots=True)
class RecordFilter:
    """Which records a query returns; None means no bound."""

    since_ts: float | None = None
    until_ts: float | None = None  # exclusive
    camera: str | None = None
    active_only: bool = True
    batch_id: int | None = None


@dataclass(frozen=True, slots=True)
class DaySummary:
    """Weighings of one camera on one local day (active records only)."""

    local_date: str
    camera: str
    weighings: int
    animals: int
    total_weight_kg: float
    min_avg_weight_kg: float
    max_avg_weight_kg: float


def insert_record(conn: Connection, values: dict[str, Any]) -> int:
    """Insert one record row (the caller commits); returns its id."""
    result = conn.execute(insert(weight_records).values(**values))
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def add_deletion(conn: Connection, record_id: int, ts: float, reason: str) -> None:
    """Mark a record deleted (the caller commits)."""
    conn.execute(insert(_deletion).values(record_id=record_id, ts=ts, reason=reason))


def add_confirmation(conn: Connection, record_id: int, ts: float) -> None:
    """Mark a record confirmed by the operator (the caller commits)."""
    conn.execute(insert(_confirmation).values(record_id=record_id, ts=ts))


def get_record(conn: Connection, record_id: int) -> WeightRecord | None:
    """One record with its fate, or None."""
    row = conn.execute(_select().where(weight_records.c.id == record_id)).mappings().first()
    return None if row is None else _to_record(row)


def find_by_key(conn: Connection, key: str) -> tuple[WeightRecord, str | None] | None:
    """The record written for an idempotency key and the hash of that request."""
    query = _select().add_columns(weight_records.c.request_hash)
    row = conn.execute(query.where(weight_records.c.idempotency_key == key)).mappings().first()
    return None if row is None else (_to_record(row), row["request_hash"])


def query_records(
    conn: Connection, where: RecordFilter, limit: int, offset: int
) -> tuple[list[WeightRecord], int]:
    """A page of records, newest first, and how many match in all."""
    condition = _condition(where)
    total = conn.execute(select(func.count()).select_from(_joined()).where(condition)).scalar_one()
    rows = conn.execute(
        _select()
        .where(condition)
        .order_by(weight_records.c.ts.desc(), weight_records.c.id.desc())
        .limit(limit)
        .offset(offset)
    ).mappings()
    return [_to_record(r) for r in rows], int(total)


def records_in_order(conn: Connection, where: RecordFilter) -> list[WeightRecord]:
    """Every matching record, oldest first (the order of a CSV file)."""
    query = _select().where(_condition(where))
    rows = conn.execute(query.order_by(weight_records.c.ts, weight_records.c.id)).mappings()
    return [_to_record(r) for r in rows]


def day_records(conn: Connection, local_date: str) -> list[WeightRecord]:
    """The active records of one local day, oldest first: that day's CSV lines."""
    query = _select().where(_active(), weight_records.c.local_date == local_date)
    rows = conn.execute(query.order_by(weight_records.c.ts, weight_records.c.id)).mappings()
    return [_to_record(r) for r in rows]


def local_dates_since(conn: Connection, first_date: str) -> list[str]:
    """Local days (YYYYMMDD) from first_date on that have any record."""
    query = (
        select(weight_records.c.local_date)
        .where(weight_records.c.local_date >= first_date)
        .distinct()
        .order_by(weight_records.c.local_date)
    )
    return [str(d) for d in conn.execute(query).scalars()]


def summarize(conn: Connection, where: RecordFilter) -> list[DaySummary]:
    """Per camera and local day: weighings, animals, total kg, min and max average."""
    r = weight_records.c
    query = (
        select(
            r.local_date,
            r.camera,
            func.count(),
            func.sum(r.count),
            func.sum(r.total_weight_kg),
            func.min(r.avg_weight_kg),
            func.max(r.avg_weight_kg),
        )
        .select_from(_joined())
        .where(_condition(replace(where, active_only=True)))
        .group_by(r.local_date, r.camera)
        .order_by(r.local_date, r.camera)
    )
    return [
        DaySummary(str(d), str(c), int(n), int(a), float(t), float(lo), float(hi))
        for d, c, n, a, t, lo, hi in conn.execute(query)
    ]


def batch_weighings(
    conn: Connection, batch_ids: Sequence[int]
) -> dict[int, list[tuple[int, float, float]]]:
    """(count, total kg, average kg) of each active record of these batches, by batch: one
    query for a whole page of batches."""
    if not batch_ids:
        return {}
    r = weight_records.c
    query = (
        select(r.batch_id, r.count, r.total_weight_kg, r.avg_weight_kg)
        .select_from(_joined())
        .where(_active(), r.batch_id.in_(list(batch_ids)))
        .order_by(r.batch_id, r.ts, r.id)
    )
    found: dict[int, list[tuple[int, float, float]]] = {}
    for batch_id, n, total, avg in conn.execute(query):
        found.setdefault(int(batch_id), []).append((int(n), float(total), float(avg)))
    return found


def _joined() -> Any:
    return weight_records.outerjoin(
        _replacement, _replacement.c.corrects_id == weight_records.c.id
    ).outerjoin(_deletion, _deletion.c.record_id == weight_records.c.id)


def _with_confirmation() -> Any:
    return (
        _joined()
        .outerjoin(_confirmation, _confirmation.c.record_id == weight_records.c.id)
        .outerjoin(batches, batches.c.id == weight_records.c.batch_id)
    )


def _select() -> Select[Any]:
    return select(
        weight_records,
        _replacement.c.id.label("corrected_by"),
        _deletion.c.reason.label("deleted_reason"),
        _deletion.c.ts.label("deleted_ts"),
        _confirmation.c.ts.label("confirmed_ts"),
        batches.c.name.label("batch_name"),
    ).select_from(_with_confirmation())


def _active() -> ColumnElement[bool]:
    return and_(_replacement.c.id.is_(None), _deletion.c.record_id.is_(None))


def _condition(where: RecordFilter) -> ColumnElement[bool]:
    parts: list[ColumnElement[bool]] = []
    if where.active_only:
        parts.append(_active())
    if where.since_ts is not None:
        parts.append(weight_records.c.ts >= where.since_ts)
    if where.until_ts is not None:
        parts.append(weight_records.c.ts < where.until_ts)
    if where.camera is not None:
        parts.append(weight_records.c.camera == where.camera)
    if where.batch_id is not None:
        parts.append(weight_records.c.batch_id == where.batch_id)
    return and_(True, *parts)


_FIELDS: Sequence[str] = [f.name for f in fields(WeightRecord)]


def _to_record(row: Any) -> WeightRecord:
    return WeightRecord(**{name: row[name] for name in _FIELDS})

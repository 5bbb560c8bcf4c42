"""Repository of batches (SQLAlchemy Core): a row each, and the figures of their records."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, and_, func, insert, select, update

from pigweight.domain import Batch
from pigweight.store.db import batches
from pigweight.store.weighing_rows import batch_weighings


def insert_batch(conn: Connection, values: dict[str, Any]) -> int:
    """Insert one batch row (the caller commits); returns its id."""
    key = conn.execute(insert(batches).values(**values)).inserted_primary_key
    assert key is not None
    return int(key[0])


def update_batch(conn: Connection, batch_id: int, values: dict[str, Any]) -> None:
    conn.execute(update(batches).where(batches.c.id == batch_id).values(**values))


def get_batch(conn: Connection, batch_id: int) -> Batch | None:
    """One batch with the figures of its active records, or None."""
    row = conn.execute(select(batches).where(batches.c.id == batch_id)).mappings().first()
    return None if row is None else _with_figures(conn, [row])[0]


def batches_by_id(conn: Connection, batch_ids: Sequence[int]) -> list[Batch]:
    """These batches with their figures, in id order (those that exist)."""
    if not batch_ids:
        return []
    query = select(batches).where(batches.c.id.in_(list(batch_ids))).order_by(batches.c.id)
    return _with_figures(conn, list(conn.execute(query).mappings()))


def open_batch_of(conn: Connection, camera: str) -> int | None:
    """The id of the camera's open batch, if it has one."""
    query = select(batches.c.id).where(batches.c.camera == camera, batches.c.closed_ts.is_(None))
    found = conn.execute(query.order_by(batches.c.id.desc())).scalars().first()
    return None if found is None else int(found)


def list_batches(
    conn: Connection, camera: str | None, state: str, limit: int, offset: int
) -> tuple[list[Batch], int]:
    """Batches, open ones first, then the most recently started; and how many match."""
    parts = []
    if camera is not None:
        parts.append(batches.c.camera == camera)
    if state == "open":
        parts.append(batches.c.closed_ts.is_(None))
    elif state == "closed":
        parts.append(batches.c.closed_ts.is_not(None))
    condition = and_(True, *parts)
    total = conn.execute(select(func.count()).select_from(batches).where(condition)).scalar_one()
    query = (
        select(batches)
        .where(condition)
        .order_by(batches.c.closed_ts.is_not(None), batches.c.started_ts.desc(), batches.c.id)
        .limit(limit)
        .offset(offset)
    )
    rows = list(conn.execute(query).mappings())
    return _with_figures(conn, rows), int(total)


def _with_figures(conn: Connection, rows: Sequence[Any]) -> list[Batch]:
    """The batches of these rows, with weighings, animals, average, range and spread."""
    weighings = batch_weighings(conn, [row["id"] for row in rows])
    return [Batch(**_batch_columns(row), **figures(weighings.get(row["id"], []))) for row in rows]


def _batch_columns(row: Any) -> dict[str, Any]:
    """A row's columns that a Batch shows (its uuid is for the central service only)."""
    return {k: v for k, v in row.items() if k != "uuid"}


def figures(groups: list[tuple[int, float, float]]) -> dict[str, Any]:
    """Weighings, animals, total, average per head, min and max group average and the
    coefficient of variation of the group averages weighted by head, from (count, total kg,
    average kg) of each weighing."""
    if not groups:
        return {}
    animals = sum(n for n, _, _ in groups)
    total = sum(t for _, t, _ in groups)
    mean = total / animals
    averages = [a for _, _, a in groups]
    cv = None
    if len(groups) >= 2 and mean > 0:
        variance = sum(n * (a - mean) ** 2 for n, _, a in groups) / animals
        cv = round(100 * variance**0.5 / mean, 1)
    return {
        "weighings": len(groups),
        "animals": animals,
        "total_weight_kg": round(total, 3),
        "avg_weight_kg": round(mean, 3),
        "min_avg_weight_kg": min(averages),
        "max_avg_weight_kg": max(averages),
        "cv_percent": cv,
    }

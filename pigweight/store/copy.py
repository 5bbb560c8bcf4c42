"""Copy every table of one PigWeight database into another, empty one (`pigweight db copy`).

The way from one PC to PostgreSQL: the farm's SQLite file (DATA_DIR) is copied, row for row,
into a PostgreSQL database that `open_database` has brought to the same schema revision.
The source is read in one transaction (a consistent snapshot, even if a server still
writes); the target is written in one transaction, so a copy that fails leaves it empty.
Afterwards PostgreSQL's id sequences are moved past the copied ids, and every table's row
count is compared.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, Integer, func, select, text

from pigweight.errors import PigWeightError
from pigweight.store import migrate
from pigweight.store.db import metadata

CHUNK = 2000  # rows a round trip


class CopyRefused(PigWeightError):
    """The copy cannot start or did not match; the message says why."""

    code = "copy_refused"


@dataclass(frozen=True)
class Copied:
    table: str
    rows: int


def copy_database(
    source: Engine, target: Engine, progress: Callable[[str, int, int], None] | None = None
) -> list[Copied]:
    """Copy every table of `source` into the empty `target` (both at the newest revision);
    `progress(table, rows_done, rows_total)` after each chunk. Raises CopyRefused."""
    if source.url == target.url:
        raise CopyRefused("the source and the target are the same database")
    with source.connect() as src, target.begin() as dst:
        for name, conn in (("source", src), ("target", dst)):
            revision = migrate.current(conn)
            if revision != migrate.head():
                raise CopyRefused(f"the {name} database is at revision {revision}, not the newest")
        held = {t.name: _rows(dst, t.name) for t in metadata.sorted_tables}
        if any(held.values()):
            filled = ", ".join(f"{n} ({c} rows)" for n, c in held.items() if c)
            raise CopyRefused(f"the target database is not empty: {filled}; copy into a new one")
        copied = [_copy_table(src, dst, name, progress) for name in _names()]
        if dst.dialect.name == "postgresql":
            _move_sequences(dst)
        for done in copied:
            now = _rows(dst, done.table)
            if now != done.rows:
                raise CopyRefused(f"{done.table}: {done.rows} rows read, {now} in the target")
    return copied


def _names() -> list[str]:
    """Tables in foreign-key order (a row's parent first)."""
    return [t.name for t in metadata.sorted_tables]


def _rows(conn: Connection, table: str) -> int:
    return int(conn.execute(select(func.count()).select_from(metadata.tables[table])).scalar_one())


def _copy_table(
    src: Connection,
    dst: Connection,
    name: str,
    progress: Callable[[str, int, int], None] | None,
) -> Copied:
    table = metadata.tables[name]
    total = _rows(src, name)
    done = 0
    order = list(table.primary_key.columns) or list(table.columns)
    # A row that names another of its own table (a correction names the record it replaces)
    # comes after it when ordered by id: one pass keeps the foreign keys satisfied.
    result = src.execution_options(stream_results=True).execute(select(table).order_by(*order))
    for chunk in result.mappings().partitions(CHUNK):
        rows = [{k: _clean(v) for k, v in row.items()} for row in chunk]
        dst.execute(table.insert(), rows)
        done += len(rows)
        if progress is not None:
            progress(name, done, total)
    if progress is not None and total == 0:
        progress(name, 0, 0)
    return Copied(name, done)


def _clean(value: object) -> object:
    """PostgreSQL refuses NUL in text, which an SQLite file may hold from before the app
    dropped it (see store/db.py)."""
    return value.replace("\x00", "") if isinstance(value, str) else value


def _move_sequences(dst: Connection) -> None:
    """Each integer id's sequence past the largest copied id, so new rows do not collide."""
    for table in metadata.sorted_tables:
        keys = list(table.primary_key.columns)
        if len(keys) != 1 or not isinstance(keys[0].type, Integer):
            continue
        if not keys[0].autoincrement or keys[0].foreign_keys:
            continue
        column = keys[0].name
        dst.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', '{column}'), "
                f"COALESCE((SELECT MAX({column}) FROM {table.name}), 0) + 1, false)"
            )
        )

"""The schema's migrations: a new database, on SQLite and PostgreSQL, is exactly store/db.py's
tables; a database made before migrations is brought up at open, its rows intact."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, func, inspect, select

from pigweight.store import migrate
from pigweight.store.db import (
    DB_FILE_NAME,
    batches,
    count_samples,
    metadata,
    open_database,
    video_files,
    weight_records,
)
from pigweight.store.weighing_rows import RecordFilter, get_record, query_records

HERE = Path(__file__).parent
LEGACY = {
    # Before users, batches, teaching and a recording's zone: whole tables and columns missing.
    "20b48fc": {"users", "batches", "label_frames", "training_jobs"},
    # The last version before migrations: every table there, nothing stamped.
    "6b9b221": set(),
}


def differences(engine: Engine) -> list[object]:
    """What differs between the database and store/db.py's tables (Alembic's autogenerate)."""
    with engine.connect() as conn:
        return list(compare_metadata(MigrationContext.configure(conn), metadata))


def test_a_new_database_is_store_dbs_schema_at_head(
    tmp_path: Path, database_url: str | None
) -> None:
    engine = open_database(tmp_path, database_url)
    try:
        with engine.connect() as conn:
            assert migrate.current(conn) == migrate.head()
        # A table or column added to store/db.py without its migration fails here.
        assert differences(engine) == []
        open_database(tmp_path, database_url).dispose()  # a second open changes nothing
        assert differences(engine) == []
    finally:
        engine.dispose()


def _legacy_file(data_dir: Path, rev: str) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(data_dir / DB_FILE_NAME)
    conn.executescript((HERE / f"legacy_{rev}.sql").read_text(encoding="utf-8"))
    conn.close()


@pytest.mark.parametrize("rev", sorted(LEGACY))
def test_a_database_from_before_migrations_is_brought_up_and_keeps_its_rows(
    tmp_path: Path, rev: str
) -> None:
    _legacy_file(tmp_path, rev)
    engine = open_database(tmp_path)
    try:
        with engine.connect() as conn:
            assert migrate.current(conn) == migrate.head()
            tables = set(inspect(conn).get_table_names())
            assert LEGACY[rev] <= tables and "alembic_version" in tables
            # The weighings read as they did: typed ("manual"), no batch, the correction
            # and its deletion kept.
            first = get_record(conn, 1)
            assert first is not None
            assert (first.count, first.total_weight_kg, first.note) == (30, 412.5, "old")
            assert (first.weight_source, first.evidence, first.batch_id) == ("manual", None, None)
            assert first.corrected_by == 2
            fix = get_record(conn, 2)
            assert fix is not None and fix.deleted_reason == "typo" and fix.count == 29
            assert query_records(conn, RecordFilter(), 10, 0)[1] == 0  # both replaced
            assert conn.execute(select(func.count()).select_from(count_samples)).scalar() == 2
            video = conn.execute(select(video_files)).mappings().one()
            assert video["size_bytes"] == 11 * 1024**3 and video["zone"] is None
            # Revision 0002 (sites): every weighing and batch got a UUID of its own.
            for table in (weight_records, batches):
                made = conn.execute(select(table.c.uuid)).scalars().all()
                assert all(len(u) == 36 for u in made) and len(set(made)) == len(made)
        assert differences(engine) == []
    finally:
        engine.dispose()
    db = sqlite3.connect(tmp_path / DB_FILE_NAME)
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    db.close()

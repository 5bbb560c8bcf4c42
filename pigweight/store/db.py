"""The SQLite database: one file in DATA_DIR, WAL journal, synchronous=FULL.

WAL lets the API read while the single writer thread writes; FULL makes an acknowledged
write survive a power cut, which farm sheds see more often than offices.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Engine,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    event,
)

DB_FILE_NAME = "pigweight.sqlite3"

metadata = MetaData()

count_samples = Table(
    "count_samples",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("camera", String(32), nullable=False),
    Column("ts", Float, nullable=False),  # seconds since the epoch (time.time())
    Column("count", Integer, nullable=False),  # animals seen on the frame
    Column("stable_count", Integer, nullable=True),  # windowed count; NULL until enough samples
    Column("confidence", Float, nullable=False),  # 0-1
    Index("ix_count_samples_camera_ts", "camera", "ts"),
)


def open_database(data_dir: Path) -> Engine:
    """The engine of DATA_DIR's database, its tables created if missing."""
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_engine(f"sqlite:///{data_dir / DB_FILE_NAME}")
    event.listen(engine, "connect", _configure)
    metadata.create_all(engine)
    return engine


def _configure(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    # Readers wait for the writer's short transactions instead of failing at once.
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()

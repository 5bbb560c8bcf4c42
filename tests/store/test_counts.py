from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from sqlalchemy import func, select

from pigweight.store.counts import CountRow
from pigweight.store.db import DB_FILE_NAME, count_samples, open_database
from pigweight.store.writer import CountStore


def test_samples_are_written_read_back_and_old_ones_purged(
    tmp_path: Path, database_url: str | None
) -> None:
    store = CountStore(retention_days=1)
    engine = open_database(tmp_path, database_url)
    store.start(engine)
    now = time.time()
    store.submit(CountRow("old", now - 3 * 86400, 9, 9, 1.0))  # past the retention
    for i in range(50):
        store.submit(CountRow("pen1", now - 50 + i, 20 + i % 2, 20, 0.9))
    store.submit(CountRow("pen2", now, 7, None, 0.5))
    assert store.flush()
    assert store.series("old", 0) == []
    rows = store.series("pen1", now - 10)
    assert [r.ts for r in rows] == sorted(r.ts for r in rows) and len(rows) == 10
    assert store.series("pen2", 0) == [CountRow("pen2", now, 7, None, 0.5)]
    store.stop()
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(count_samples)).scalar_one() == 51
    engine.dispose()
    if database_url is not None:
        return
    # The file is a healthy WAL database another process can read.
    with sqlite3.connect(tmp_path / DB_FILE_NAME) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT COUNT(*) FROM count_samples").fetchone()[0] == 51

"""CountStore: the one thread that writes count samples, fed through a bounded queue.

Camera workers must never wait on the disk: `submit` never blocks; when the queue is full
(a disk stalled for minutes) samples are dropped and counted rather than piling up in memory.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Sequence

from sqlalchemy import Engine

from pigweight.store.counts import CountRow, add_samples, count_series, purge_before

logger = logging.getLogger(__name__)

_QUEUE_ROWS = 10_000
_BATCH_ROWS = 500
_PURGE_EVERY_S = 3600.0


class CountStore:
    """Owns the writer thread; reads go straight to the database (the app's, which the
    lifespan opens, hands to start() and closes after stop())."""

    def __init__(self, retention_days: float) -> None:
        self._engine: Engine | None = None
        self.retention_s = retention_days * 86400.0
        self.dropped = 0
        self._queue: queue.Queue[CountRow | None] = queue.Queue(_QUEUE_ROWS)
        self._thread: threading.Thread | None = None
        self._last_purge = 0.0

    @property
    def queue_depth(self) -> int:
        """Rows waiting to be written."""
        return self._queue.qsize()

    @property
    def engine(self) -> Engine:
        """The database start() was given."""
        if self._engine is None:
            raise RuntimeError("CountStore.start() was not called")
        return self._engine

    def start(self, engine: Engine) -> None:
        """Write into this database from a thread of its own (idempotent)."""
        self._engine = engine
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="store-writer", daemon=True)
            self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Write what is queued and stop the thread (the database stays open: its owner
        closes it)."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                logger.warning("store writer did not stop within %.1f s", timeout_s)
            self._thread = None

    def submit(self, row: CountRow) -> None:
        """Queue one row for writing; never blocks."""
        try:
            self._queue.put_nowait(row)
        except queue.Full:
            self.dropped += 1
            if self.dropped % 1000 == 1:
                logger.warning("count store is behind: %d samples dropped", self.dropped)

    def series(self, camera: str, since_ts: float) -> list[CountRow]:
        """Samples of a camera since a time (blocking: call from a thread)."""
        with self.engine.connect() as conn:
            return count_series(conn, camera, since_ts)

    def flush(self, timeout_s: float = 5.0) -> bool:
        """Wait until every queued row is written; True if it was (tests, shutdown)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._queue.unfinished_tasks == 0:
                return True
            time.sleep(0.02)
        return False

    def _run(self) -> None:
        while True:
            batch, stopping = self._next_batch()
            try:
                self._write(batch)
                self._maybe_purge()
            except Exception:
                # A full disk or a locked file must not kill the writer: log and go on.
                logger.exception("count store could not write %d samples", len(batch))
            finally:
                for _ in range(len(batch) + int(stopping)):
                    self._queue.task_done()
            if stopping:
                return

    def _next_batch(self) -> tuple[list[CountRow], bool]:
        first = self._queue.get()
        if first is None:
            return [], True
        batch = [first]
        while len(batch) < _BATCH_ROWS:
            try:
                row = self._queue.get_nowait()
            except queue.Empty:
                break
            if row is None:
                return batch, True
            batch.append(row)
        return batch, False

    def _write(self, rows: Sequence[CountRow]) -> None:
        if rows:
            with self.engine.begin() as conn:
                add_samples(conn, rows)

    def _maybe_purge(self) -> None:
        now = time.time()
        if now - self._last_purge < _PURGE_EVERY_S:
            return
        self._last_purge = now
        with self.engine.begin() as conn:
            removed = purge_before(conn, now - self.retention_s)
        if removed:
            logger.info(
                "purged %d count samples older than %.0f days", removed, self.retention_s / 86400
            )

"""logs/perf.log: how long each start-up stage took, then periodic per-camera statistics.

Written by the `pigweight.perf` logger, so any module can time a stage without a handle;
`PerfLog` attaches the rotating file for the app's lifetime.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from logging.handlers import RotatingFileHandler
from pathlib import Path

import numpy as np

from pigweight.aio import LoopTask

PERF_LOGGER = "pigweight.perf"
PERF_FILE_NAME = "perf.log"
_MAX_BYTES = 5 * 1024 * 1024
_BACKUPS = 5

perf_logger = logging.getLogger(PERF_LOGGER)


class PerfLog:
    """Attaches LOG_DIR/perf.log (rotating) to the perf logger; close() detaches it."""

    def __init__(self, log_dir: Path) -> None:
        self.path = Path(log_dir) / PERF_FILE_NAME
        self._handler: RotatingFileHandler | None = None

    def open(self) -> None:
        if self._handler is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handler = RotatingFileHandler(
            self.path, maxBytes=_MAX_BYTES, backupCount=_BACKUPS, encoding="utf-8"
        )
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
        perf_logger.addHandler(handler)
        perf_logger.setLevel(logging.INFO)
        self._handler = handler

    def close(self) -> None:
        if self._handler is not None:
            perf_logger.removeHandler(self._handler)
            self._handler.close()
            self._handler = None


@contextmanager
def stage(name: str, timings: dict[str, float] | None = None) -> Iterator[None]:
    """Log `stage=<name> duration_ms=...` when the block ends (and record it in timings)."""
    started = time.perf_counter()
    try:
        yield
    finally:
        ms = (time.perf_counter() - started) * 1000.0
        perf_logger.info("stage=%s duration_ms=%.1f", name, ms)
        if timings is not None:
            timings[name] = round(ms, 1)


class LoopLagMonitor:
    """Measures how late the event loop wakes up: the lag every client feels."""

    def __init__(self, interval_s: float = 0.25, keep: int = 2400) -> None:
        self.interval_s = interval_s
        self._lags_ms: deque[float] = deque(maxlen=keep)
        self._loop_task = LoopTask(self._run)

    def start(self) -> None:
        self._loop_task.start()

    async def stop(self) -> None:
        await self._loop_task.stop()

    def percentiles(self) -> dict[str, float | None]:
        """p50/p99/max lag in ms over the last ~10 minutes."""
        values = list(self._lags_ms)
        if not values:
            return {"p50": None, "p99": None, "max": None}
        return {
            "p50": round(float(np.percentile(values, 50)), 2),
            "p99": round(float(np.percentile(values, 99)), 2),
            "max": round(max(values), 2),
        }

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            planned = loop.time() + self.interval_s
            await asyncio.sleep(self.interval_s)
            self._lags_ms.append(max(0.0, (loop.time() - planned) * 1000.0))

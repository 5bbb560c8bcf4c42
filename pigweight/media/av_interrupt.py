"""Interrupt a blocking PyAV open or read from another thread, safely.

FFmpeg polls an interrupt callback about every 100 ms while it waits on the network; PyAV
installs one that compares `time.monotonic()` with the open/read deadline given to
`av.open(timeout=...)`. Closing the container from another thread instead would free
memory that the blocked read still uses (a crash, not an error). So this module lends
PyAV a clock that jumps past every deadline for a thread that asked to be interrupted:
the blocked call then returns with an error within ~100 ms, on its own thread.

Only calls made with a PyAV `timeout` are interruptible (PyAV skips the clock otherwise).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from types import ModuleType

import av.container.core as av_core

logger = logging.getLogger(__name__)

_FAR_FUTURE_S = 1e9


class _InterruptibleClock:
    """Stands in for the `time` module inside av.container.core; only monotonic() differs."""

    def __init__(self, real: ModuleType) -> None:
        self._real = real
        self._checks: dict[int, Callable[[], bool]] = {}
        self._jumps = 0

    def monotonic(self) -> float:
        now: float = self._real.monotonic()
        check = self._checks.get(threading.get_ident())
        # Called by FFmpeg's interrupt callback: must be quick and must never raise.
        try:
            interrupted = check is not None and check()
        except Exception:  # an exception here would be lost in C code
            interrupted = False
        if not interrupted:
            return now
        # Each reading jumps further, so even a deadline started after the interrupt was
        # asked for (start = jumped clock) is overtaken at the next poll.
        self._jumps += 1
        return now + _FAR_FUTURE_S * self._jumps

    def __getattr__(self, name: str) -> object:
        return getattr(self._real, name)


_lock = threading.Lock()
_clock: _InterruptibleClock | None = None


def _install() -> _InterruptibleClock | None:
    """Put the clock into PyAV once; None where this PyAV has no such hook."""
    global _clock
    with _lock:
        if _clock is None:
            current = getattr(av_core, "time", None)
            if isinstance(current, _InterruptibleClock):
                _clock = current
            elif current is time:
                _clock = _InterruptibleClock(time)
                av_core.time = _clock  # type: ignore[attr-defined]
            else:
                logger.warning("PyAV has no clock hook: stop() waits for the I/O timeout")
        return _clock


class InterruptScope:
    """While active on a thread, PyAV calls on that thread return once `should_stop()`."""

    def __init__(self, should_stop: Callable[[], bool]) -> None:
        self._should_stop = should_stop
        self._ident: int | None = None

    def __enter__(self) -> InterruptScope:
        clock = _install()
        self._ident = threading.get_ident()
        if clock is not None:
            clock._checks[self._ident] = self._should_stop
        return self

    def __exit__(self, *exc: object) -> None:
        if _clock is not None and self._ident is not None:
            _clock._checks.pop(self._ident, None)

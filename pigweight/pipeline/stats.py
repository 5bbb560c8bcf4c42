"""Small thread-safe meters for the live pipeline: event rates and latency percentiles."""

from __future__ import annotations

import threading
import time
from collections import deque

import numpy as np


class RateMeter:
    """Events per second over the last `window_s` seconds."""

    def __init__(self, window_s: float = 10.0) -> None:
        self.window_s = window_s
        self._times: deque[float] = deque()
        self._lock = threading.Lock()
        self._created = time.monotonic()

    def add(self, n: int = 1, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            self._times.extend([now] * n)
            self._expire(now)

    def per_s(self, now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        with self._lock:
            self._expire(now)
            # Right after a start the window is not full yet: divide by the time there was.
            span_s = min(self.window_s, max(now - self._created, 1.0))
            return round(len(self._times) / span_s, 2)

    def _expire(self, now: float) -> None:
        while self._times and now - self._times[0] > self.window_s:
            self._times.popleft()


class LatencyWindow:
    """The last `size` durations in milliseconds, with percentiles."""

    def __init__(self, size: int = 200) -> None:
        self._ms: deque[float] = deque(maxlen=size)
        self._lock = threading.Lock()

    def add(self, ms: float) -> None:
        with self._lock:
            self._ms.append(ms)

    def percentile(self, q: float) -> float | None:
        """The q-th percentile (0-100) in ms, None before the first sample."""
        with self._lock:
            values = list(self._ms)
        if not values:
            return None
        return round(float(np.percentile(values, q)), 1)

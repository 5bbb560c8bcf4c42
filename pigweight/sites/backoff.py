"""Waiting between tries at a NATS server that is not there: 1 s doubling to 30 s, with
jitter (go2rtc, Home Assistant: docs/reliability.md), so that a machine left running while the
hub is down tries and logs a few times a minute, not every second."""

from __future__ import annotations

import random
from collections.abc import Callable

BACKOFF_S = (1.0, 30.0)


class Backoff:
    """The next wait, doubling from `first_s` to `cap_s`, each ±20 % at random."""

    def __init__(
        self,
        first_s: float = BACKOFF_S[0],
        cap_s: float = BACKOFF_S[1],
        jitter: Callable[[float, float], float] = random.uniform,
    ) -> None:
        self.first_s = first_s
        self.cap_s = cap_s
        self._jitter = jitter
        self._delay_s = first_s

    def next(self) -> float:
        """The wait before the next try, seconds; the one after is twice as long."""
        delay_s = min(self._delay_s * self._jitter(0.8, 1.2), self.cap_s)
        self._delay_s = min(self._delay_s * 2, self.cap_s)
        return delay_s

    def reset(self) -> None:
        """Connected: the next outage starts again at `first_s`."""
        self._delay_s = self.first_s

"""How many logins get their password checked: a rate limit, and one check at a time.

A try is counted when it arrives, before its password is checked: counting failures after
the ~50 ms check let a burst of tries sent at once all pass the limit while the first ones
were still hashing. A check is argon2id, which takes 64 MiB and four threads on purpose;
run side by side, a burst from many addresses took gigabytes. So checks run one at a time
behind a short queue, and a try past the queue is told to come back instead of waiting.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections import deque
from collections.abc import Callable
from typing import TypeVar

import anyio

from pigweight.errors import PigWeightError

T = TypeVar("T")


class TooManyLogins(PigWeightError):
    """Too many tries for a name, or from an address, in the last minute."""

    code = "too_many_logins"

    def __init__(self, wait_s: float) -> None:
        self.retry_after_s = max(1, math.ceil(wait_s))
        super().__init__(f"too many failed logins; try again in {self.retry_after_s} s")


class LoginBusy(PigWeightError):
    """More logins at once than the password checks' queue holds."""

    code = "login_busy"
    retry_after_s = 1

    def __init__(self) -> None:
        super().__init__(
            f"too many logins are being checked at once; try again in {self.retry_after_s} s"
        )


class LoginLimiter:
    """Tries: `per_name` a minute for one name from one address, `per_address` a minute from
    one address in all; past that, 429 until the minute has passed. A right password gives
    its try back and clears its name's count; so does a try whose password was never checked.
    Used on the event loop only: `begin` checks and counts with nothing in between."""

    def __init__(self, per_name: int = 5, per_address: int = 20, window_s: float = 60.0) -> None:
        self.per_name, self.per_address, self.window_s = per_name, per_address, window_s
        self._tries: dict[tuple[str, str], deque[float]] = {}

    def begin(self, address: str, name: str) -> float:
        """Count a try, or raise TooManyLogins; the try's stamp, to give it back with."""
        now = time.monotonic()
        waits = [0.0]
        for key, limit in (((address, name), self.per_name), ((address, ""), self.per_address)):
            times = self._recent(key, now)
            if len(times) >= limit:
                waits.append(times[0] + self.window_s - now)
        if max(waits) > 0:
            raise TooManyLogins(max(waits))
        for key in ((address, name), (address, "")):
            self._tries.setdefault(key, deque()).append(now)
        if len(self._tries) > 10000:  # a flood of names: forget the quiet ones
            self._tries = {k: v for k, v in self._tries.items() if self._recent(k, now)}
        return now

    def succeeded(self, address: str, name: str, stamp: float) -> None:
        """The right password: the name starts afresh and the address gets its try back."""
        self._tries.pop((address, name), None)
        self._give_back((address, ""), stamp)

    def not_checked(self, address: str, name: str, stamp: float) -> None:
        """The password was never checked (the service was busy): the try does not count."""
        self._give_back((address, name), stamp)
        self._give_back((address, ""), stamp)

    def _give_back(self, key: tuple[str, str], stamp: float) -> None:
        with contextlib.suppress(KeyError, ValueError):  # already forgotten: nothing to do
            self._tries[key].remove(stamp)

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        times = self._tries.get(key, deque())
        while times and times[0] <= now - self.window_s:
            times.popleft()
        return times


class PasswordChecks:
    """Runs password checks in a worker thread `at_once` at a time, with at most `queue`
    waiting; one more raises LoginBusy. One at a time costs no speed worth having: a check
    already keeps four threads busy, and one user waits behind at most `queue` of them."""

    def __init__(self, at_once: int = 1, queue: int = 16) -> None:
        self.queue = queue
        self._slots = anyio.Semaphore(at_once)
        # Counted here, not read from the semaphore: a burst's requests all reach this check
        # in one turn of the event loop, before any of them has started waiting on it.
        self._waiting = 0

    async def run(self, check: Callable[..., T], *args: object) -> T:
        if self._waiting >= self.queue:
            raise LoginBusy()
        self._waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self._waiting -= 1
        try:
            return await anyio.to_thread.run_sync(check, *args)
        finally:
            self._slots.release()  # a cancelled request still waits for its thread first

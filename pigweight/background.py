"""One background thread at a time for its owner: a camera's decoder, a scale's reader, a
camera's counting loop.

The owner's loop watches `stopping`. `stop` asks and joins for a while; a thread that does
not end in time (FFmpeg stuck in a read, a serial line that never returns) is kept, not
forgotten, so that the next `start` waits for it instead of running a second thread over the
same state. If it still runs after that wait, `start` refuses with `StillStopping`; once it
ends, `start` works again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from pigweight.errors import Refusal

logger = logging.getLogger(__name__)


class StillStopping(Refusal):
    """The previous thread has not ended yet: starting a second one would share its state."""

    code = "still_stopping"


class BackgroundThread:
    """Start, stop and restart one daemon thread running `target`."""

    def __init__(self, name: str, target: Callable[[], None], restart_wait_s: float) -> None:
        self.name = name
        self.restart_wait_s = restart_wait_s
        self.stopping = threading.Event()  # the target's loop ends when this is set
        self._target = target
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        """The thread runs and was not asked to stop."""
        return self.alive and not self.stopping.is_set()

    @property
    def alive(self) -> bool:
        """The thread runs (perhaps still ending after a stop that timed out)."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def is_current(self) -> bool:
        """The caller runs on this thread."""
        return self._thread is threading.current_thread()

    def start(self, prepare: Callable[[], None] | None = None) -> bool:
        """Start the thread; False when it already runs. A thread still ending after a
        stop is waited for (`restart_wait_s`), then `StillStopping` if it has not ended.
        `prepare` runs once the old thread is gone and before the new one starts (the
        owner's fresh status: the old thread can no longer overwrite it)."""
        old = self._thread
        if old is not None and old.is_alive():
            if not self.stopping.is_set():
                return False
            old.join(self.restart_wait_s)
            if old.is_alive():
                raise StillStopping(
                    f"{self.name} is still stopping (waited {self.restart_wait_s:.0f} s); "
                    "try again in a minute",
                    wait_s=self.restart_wait_s,
                )
        if prepare is not None:
            prepare()
        self.stopping.clear()
        self._thread = threading.Thread(target=self._target, name=self.name, daemon=True)
        self._thread.start()
        return True

    def stop(self, timeout_s: float) -> bool:
        """Ask the thread to end and join it; False (and a warning) when it is still running
        after `timeout_s`: it is kept for the next `start` to wait for."""
        self.stopping.set()
        thread = self._thread
        if thread is None or thread is threading.current_thread():
            return thread is None
        thread.join(timeout_s)
        if thread.is_alive():
            logger.warning("%s did not stop within %.1f s", self.name, timeout_s)
            return False
        if self._thread is thread:
            self._thread = None
        return True

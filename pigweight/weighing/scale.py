"""ScaleReader: one scale indicator read on its own thread into a latest-reading slot.

The thread opens the line (serial or TCP, see scale_transport.py), polls MT-SICS
indicators or listens to the continuous ones, and parses what arrives (scale_protocols.py).
Whatever goes wrong (port missing, connection refused or closed, no byte for
`silence_reconnect_s`) ends the session; the thread waits with the cameras' backoff
(1, 2, 4 … 30 s) and tries again until `stop()`. Garbage and bad checksums are counted,
never raised. Nothing here runs on the event loop: `latest()` and `status()` never block.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum

from pigweight.background import BackgroundThread
from pigweight.media.rtsp import Backoff
from pigweight.weighing.scale_protocols import (
    BadFrame,
    ReadingStatus,
    ScaleParser,
    ScaleReading,
    make_parser,
)
from pigweight.weighing.scale_transport import LineLost, Transport, open_transport
from pigweight.weighing.scale_url import ScaleConfig, parse_scale_url

logger = logging.getLogger(__name__)

_SICS_POLL, _SICS_STREAM = b"SI\r\n", b"SIR\r\n"
# Readings kept for evidence: a minute of an indicator sending 10 frames a second.
RECENT_READINGS = 600


class ScaleState(StrEnum):
    STARTING = "starting"
    CONNECTING = "connecting"  # opening the line, or open with no reading yet
    STREAMING = "streaming"  # readings arrive
    NO_DATA = "no_data"  # the line is open but no valid reading for `stale_s`
    RECONNECTING = "reconnecting"  # the line was lost; waiting before the next try
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class ScaleStatus:
    """What the operator sees of the scale line."""

    state: ScaleState = ScaleState.STOPPED
    connected: bool = False  # the port is open / the TCP connection is up
    last_error: str | None = None  # why the line was lost, the last bad frame, 'no data for N s'
    reconnects: int = 0
    connected_since: float | None = None  # time.time() of the current connection
    readings: int = 0  # valid frames since start()
    bad_frames: int = 0  # garbage, cut-off frames, bad checksums, refused units
    bytes_in: int = 0
    reading_age_s: float | None = None  # seconds since the last valid reading
    protocol: str = ""
    where: str = ""  # /dev/ttyUSB0 at 9600 8N1, 192.168.1.50:4001


ReadingCallback = Callable[[ScaleReading], None]


class ScaleReader:
    """Reads one indicator; start() and stop() may repeat; stop() joins the thread."""

    def __init__(
        self,
        url: str | ScaleConfig,
        scale_id: str = "scale",
        on_reading: ReadingCallback | None = None,
        stale_s: float = 5.0,
        silence_reconnect_s: float = 30.0,
        connect_timeout_s: float = 5.0,
        backoff_initial_s: float = 1.0,
        backoff_max_s: float = 30.0,
        healthy_reset_s: float = 300.0,
    ) -> None:
        self.config = parse_scale_url(url) if isinstance(url, str) else url
        self.scale_id = scale_id
        # Called on the reader thread with every reading: it must be quick and not raise.
        self._on_reading = on_reading
        self.stale_s = stale_s
        self.silence_reconnect_s = silence_reconnect_s
        self.connect_timeout_s = connect_timeout_s
        self._backoff = (backoff_initial_s, backoff_max_s, healthy_reset_s)
        self._status = self._fresh_status(ScaleState.STOPPED)
        self._latest: ScaleReading | None = None
        self._recent: deque[ScaleReading] = deque(maxlen=RECENT_READINGS)
        self._lock = threading.Lock()
        # a line's open and read calls return within connect_timeout_s of a stop
        self._worker = BackgroundThread(f"scale-{scale_id}", self._run, connect_timeout_s)
        self._stop = self._worker.stopping
        self._last_reading_at: float | None = None  # monotonic
        self._bad_since_reading = 0
        self._last_bad = ""

    # -- control -----------------------------------------------------------------------

    def start(self) -> None:
        """Start reading (returns at once; the line opens in the background). A reader
        still ending after a stop that timed out is waited for, then `StillStopping`."""
        self._worker.start(self._fresh_start)

    def _fresh_start(self) -> None:
        with self._lock:
            self._status = self._fresh_status(ScaleState.STARTING)
            self._latest = None
        self._last_reading_at = None
        self._bad_since_reading = 0

    def stop(self, timeout_s: float = 5.0) -> None:
        """Close the line and join the reader thread."""
        self._worker.stop(timeout_s)
        self._set(state=ScaleState.STOPPED, connected=False, connected_since=None)

    def latest(self) -> ScaleReading | None:
        """The newest reading (check its `ts`: an old one means the line is silent)."""
        with self._lock:
            return self._latest

    def recent(self, since_ts: float) -> list[ScaleReading]:
        """The readings received at or after since_ts (time.time()), oldest first."""
        with self._lock:
            return [r for r in self._recent if r.ts >= since_ts]

    def status(self) -> ScaleStatus:
        """A consistent snapshot of the line's state and counters."""
        with self._lock:
            status = self._status
        if self._last_reading_at is not None:
            age_s = round(time.monotonic() - self._last_reading_at, 1)
            status = replace(status, reading_age_s=age_s)
        return status

    # -- the reader thread ---------------------------------------------------------------

    def _fresh_status(self, state: ScaleState) -> ScaleStatus:
        return ScaleStatus(state=state, protocol=self.config.protocol, where=self.config.where)

    def _set(self, **changes: object) -> None:
        with self._lock:
            self._status = replace(self._status, **changes)  # type: ignore[arg-type]

    def _run(self) -> None:
        backoff = Backoff(*self._backoff, rng=random.Random())
        while not self._stop.is_set():
            if self._status.state is not ScaleState.RECONNECTING:
                self._set(state=ScaleState.CONNECTING)
            started = time.monotonic()
            transport = open_transport(self.config, self.connect_timeout_s)
            try:
                self._session(transport)
                continue  # stop() ended the session
            except LineLost as exc:
                reason = str(exc)
            except Exception as exc:  # the worker's top loop must survive
                logger.exception("scale %s: reading failed", self.scale_id)
                reason = f"{type(exc).__name__}: {exc}"
            finally:
                transport.close()
            if not self._stop.is_set():
                self._on_line_lost(reason, backoff.next_delay_s(time.monotonic() - started))
        logger.info("scale %s: reader thread stopped", self.scale_id)

    def _on_line_lost(self, reason: str, delay_s: float) -> None:
        logger.warning("scale %s: %s; retrying in %.1f s", self.scale_id, reason, delay_s)
        with self._lock:
            self._status = replace(
                self._status,
                state=ScaleState.RECONNECTING,
                connected=False,
                connected_since=None,
                last_error=reason,
                reconnects=self._status.reconnects + 1,
            )
        self._stop.wait(delay_s)

    def _session(self, transport: Transport) -> None:
        """Read until stop() or until the line is lost (LineLost says why)."""
        transport.open(self._stop)
        self._set(connected=True, connected_since=time.time())
        logger.info("scale %s: connected to %s", self.scale_id, self.config.where)
        parser = make_parser(self.config.protocol, self.config.checksum, self.config.tare)
        polling = self.config.protocol == "mtsics" and self.config.mode == "poll"
        if self.config.protocol == "mtsics" and not polling:
            transport.write(_SICS_STREAM)
        opened_at = last_bytes_at = next_poll_at = time.monotonic()
        while not self._stop.is_set():
            now = time.monotonic()
            if polling and now >= next_poll_at:
                transport.write(_SICS_POLL)
                next_poll_at = max(next_poll_at + self.config.poll_s, now)
            data = transport.read()
            now = time.monotonic()
            if data:
                last_bytes_at = now
                self._take(parser, data)
            elif now - last_bytes_at > self.silence_reconnect_s:
                raise LineLost(f"no data for {now - last_bytes_at:.0f} s")
            self._check_stale(now, opened_at)

    def _take(self, parser: ScaleParser, data: bytes) -> None:
        items = parser.feed(data, time.time())
        bad = [item for item in items if isinstance(item, BadFrame)]
        readings = [item for item in items if isinstance(item, ScaleReading)]
        for frame in bad:
            logger.debug("scale %s: bad frame %r: %s", self.scale_id, frame.raw, frame.reason)
        with self._lock:
            status = self._status
            changes: dict[str, object] = {"bytes_in": status.bytes_in + len(data)}
            if bad:
                self._bad_since_reading += len(bad)
                self._last_bad = bad[-1].reason
                changes["bad_frames"] = status.bad_frames + len(bad)
                changes["last_error"] = f"bad frame: {bad[-1].reason}"
            if readings:
                self._latest = readings[-1]
                self._recent.extend(readings)
                self._last_reading_at = time.monotonic()
                self._bad_since_reading = 0
                changes["readings"] = status.readings + len(readings)
                changes["state"] = ScaleState.STREAMING
            refused = [r for r in readings if r.status is ReadingStatus.ERROR]
            if refused:
                changes["last_error"] = f"the indicator answered {refused[-1].raw!r}"
            self._status = replace(status, **changes)  # type: ignore[arg-type]
        if self._on_reading is not None:
            for reading in readings:
                self._on_reading(reading)

    def _check_stale(self, now: float, opened_at: float) -> None:
        """NO_DATA, with how long, once no valid reading came for `stale_s`."""
        last = self._last_reading_at
        silent_s = now - (opened_at if last is None or last < opened_at else last)
        if silent_s < self.stale_s:
            return
        message = f"no data for {silent_s:.0f} s"
        if self._bad_since_reading:
            # Bytes arrive but none parse: most often the wrong protocol or baud rate.
            message = f"no valid reading for {silent_s:.0f} s; bad frame: {self._last_bad}"
        with self._lock:
            self._status = replace(self._status, state=ScaleState.NO_DATA, last_error=message)

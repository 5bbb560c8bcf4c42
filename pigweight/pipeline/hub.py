"""Hub: the latest frame and count of every camera, fanned out to async subscribers.

Camera workers publish from their own threads; the hand-off to the event loop is one
`call_soon_threadsafe` per update, so a worker never waits on a client. Each subscriber has
a small queue: when it is full the oldest update goes, and a subscriber that stays behind
for `behind_limit_s` is disconnected. A slow client therefore costs only its own updates.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
from dataclasses import dataclass, field

from pigweight.domain import Image

logger = logging.getLogger(__name__)

Outline = list[tuple[float, float]]  # (x, y) in 0-1 of the frame size


@dataclass(frozen=True, slots=True)
class CountMessage:
    """What a camera says on every inference or status change: the WS /ws/count body."""

    camera: str
    ts: float  # wall time of the frame (or of the status change)
    status: str  # SourceState's value
    count: int | None = None  # this frame's own count
    stable_count: int | None = None  # mode of the window; None until it is stable
    confidence: float = 0.0  # of the stable count: window agreement included
    frame_confidence: float = 0.0  # of `count`, this frame's alone
    segmenter: str | None = None
    last_error: str | None = None
    last_error_kind: str | None = None
    outlines: list[Outline] = field(default_factory=list)  # counted animals
    outside_outlines: list[Outline] = field(default_factory=list)  # outside the zone
    zone: list[list[float]] | None = None  # the platform polygon, 0-1

    def json_text(self) -> str:
        """The JSON text the WebSocket sends (its keys in this order), as Starlette's
        send_json writes it."""
        body = {
            "camera": self.camera,
            "ts": self.ts,
            "count": self.count,
            "stable_count": self.stable_count,
            "confidence": self.confidence,
            "frame_confidence": self.frame_confidence,
            "segmenter": self.segmenter,
            "status": self.status,
            "last_error": self.last_error,
            "last_error_kind": self.last_error_kind,
            "outlines": self.outlines,
            "outside_outlines": self.outside_outlines,
            "zone": self.zone,
        }
        return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class LiveUpdate:
    """One camera event: an inference (with its annotated JPEG) or a status change."""

    camera: str
    body: CountMessage
    jpeg: bytes | None = None  # annotated frame; None for a status-only update


@dataclass(frozen=True, slots=True)
class CountSnapshot:
    """A camera's newest counted frame, and the pictures a record may keep of it."""

    message: CountMessage  # the newest annotated frame's
    jpeg: bytes | None  # the newest annotated frame
    # The last annotated frame whose own count equalled the stable count then. The stable
    # count is the mode of a window and lags the frames; this one shows that many animals,
    # so it is the picture a weighing record keeps as evidence of its count.
    evidence: LiveUpdate | None

    def picture(self, count: int | None) -> bytes | None:
        """The evidence frame if it shows `count` animals, else the newest frame."""
        evidence = self.evidence
        if count is not None and evidence is not None and evidence.body.count == count:
            return evidence.jpeg
        return self.jpeg


class Subscriber:
    """One client's bounded view of a camera; `get()` returns None once disconnected."""

    def __init__(self, camera: str, queue_size: int) -> None:
        self.camera = camera
        self.dropped = 0
        self.closed = False
        self.behind_since: float | None = None  # monotonic time of the first drop
        self._queue: asyncio.Queue[LiveUpdate | None] = asyncio.Queue(queue_size)

    @property
    def depth(self) -> int:
        return self._queue.qsize()

    async def get(self) -> LiveUpdate | None:
        """The next update, oldest first; None when the hub disconnected this subscriber."""
        update = await self._queue.get()
        if self._queue.empty():
            self.behind_since = None  # caught up
        return update

    def offer(self, update: LiveUpdate, now: float, behind_limit_s: float) -> bool:
        """Queue an update, dropping the oldest if full; False when it stayed behind too long."""
        if self.closed:
            return False
        if self._queue.full():
            self._queue.get_nowait()
            self.dropped += 1
            if self.behind_since is None:
                self.behind_since = now
            elif now - self.behind_since >= behind_limit_s:
                return False
        self._queue.put_nowait(update)
        return True

    def close(self) -> None:
        """Wake the consumer with None; further updates are refused."""
        if self.closed:
            return
        self.closed = True
        while not self._queue.empty():
            self._queue.get_nowait()
        self._queue.put_nowait(None)


class Hub:
    """Latest state per camera (any thread) and fan-out to subscribers (event loop only)."""

    def __init__(self, queue_size: int = 8, behind_limit_s: float = 10.0) -> None:
        self.queue_size = queue_size
        self.behind_limit_s = behind_limit_s
        self.disconnected = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()
        self._latest: dict[str, LiveUpdate] = {}
        self._latest_frame: dict[str, LiveUpdate] = {}
        self._latest_raw: dict[str, Image] = {}
        self._latest_evidence: dict[str, LiveUpdate] = {}
        self._subscribers: dict[str, set[Subscriber]] = {}

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """The loop subscribers live on (set in the lifespan)."""
        self._loop = loop

    def publish(self, update: LiveUpdate, raw: Image | None = None) -> None:
        """Record an update and hand it to the loop; safe from any thread, never blocks."""
        with self._lock:
            self._latest[update.camera] = update
            if update.jpeg is not None:
                self._latest_frame[update.camera] = update
                stable = update.body.stable_count
                if stable is not None and update.body.count == stable:
                    self._latest_evidence[update.camera] = update
            if raw is not None:
                self._latest_raw[update.camera] = raw
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        # The loop may close between the check and the call: that is a shutdown, not an error.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(self._fan_out, update)

    def latest(self, camera: str) -> LiveUpdate | None:
        """The last update of a camera (count or status)."""
        with self._lock:
            return self._latest.get(camera)

    def latest_frame(self, camera: str) -> LiveUpdate | None:
        """The last update that carried an annotated frame."""
        with self._lock:
            return self._latest_frame.get(camera)

    def latest_raw(self, camera: str) -> Image | None:
        """The last frame that was counted, without drawings."""
        with self._lock:
            return self._latest_raw.get(camera)

    def live_count(
        self, camera: str, max_age_s: float, now: float | None = None
    ) -> CountSnapshot | None:
        """The newest counted frame no older than max_age_s (wall time), with the last
        evidence frame no older than that; None when the camera shows nothing that fresh."""
        now = time.time() if now is None else now
        with self._lock:
            frame = self._latest_frame.get(camera)
            evidence = self._latest_evidence.get(camera)
        if frame is None or now - frame.body.ts > max_age_s:
            return None
        if evidence is not None and now - evidence.body.ts > max_age_s:
            evidence = None
        return CountSnapshot(frame.body, frame.jpeg, evidence)

    def forget(self, camera: str) -> None:
        """Drop the stored frames of a stopped camera (memory, stale pictures)."""
        with self._lock:
            self._latest_evidence.pop(camera, None)
            self._latest_frame.pop(camera, None)
            self._latest_raw.pop(camera, None)

    def subscribe(self, camera: str) -> Subscriber:
        """A new subscriber of a camera (call on the loop)."""
        subscriber = Subscriber(camera, self.queue_size)
        self._subscribers.setdefault(camera, set()).add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        """Remove a subscriber (call on the loop); safe twice."""
        subscriber.close()
        self._subscribers.get(subscriber.camera, set()).discard(subscriber)

    def subscriber_count(self, camera: str) -> int:
        return len(self._subscribers.get(camera, ()))

    def max_queue_depth(self, camera: str) -> int:
        """Deepest subscriber queue of a camera: how far behind its slowest client is."""
        return max((s.depth for s in self._subscribers.get(camera, ())), default=0)

    def close_all(self) -> None:
        """Disconnect every subscriber (shutdown)."""
        for subscribers in self._subscribers.values():
            for subscriber in subscribers:
                subscriber.close()
        self._subscribers.clear()

    def _fan_out(self, update: LiveUpdate) -> None:
        now = time.monotonic()
        for subscriber in list(self._subscribers.get(update.camera, ())):
            if not subscriber.offer(update, now, self.behind_limit_s):
                logger.info(
                    "camera %s: client behind for %.0f s, disconnected",
                    update.camera,
                    self.behind_limit_s,
                )
                self.disconnected += 1
                self.unsubscribe(subscriber)

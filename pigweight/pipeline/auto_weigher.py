"""Automatic weighings: a platform's camera and scale, watched together, record by themselves.

One `AutoWeigher` per camera that has a scale runs as a task on the event loop. On every
count the camera publishes it takes the scale's newest reading, hands both to the
platform's `PlatformEvents`, and carries out what that calls for: a `record` goes to the
RecordBook (in a worker thread) with the camera's count (`count_source: auto`), the scale's
total (`weight_source: scale`), the frame that shows exactly that count, and an evidence
bundle: the counts seen while it settled and the scale's raw frames of that window. A
`confirm` or a `rezero` waits in `pending` / `warning` for the operator (the live view shows
it). A record's idempotency key is the camera and the moment it settled, so nothing is
recorded twice.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio

from pigweight.aio import LoopTask
from pigweight.pipeline.hub import CountMessage, Hub, Outline
from pigweight.weighing.events import Action, EventSettings, Observation, PlatformEvents
from pigweight.weighing.records import RecordBook
from pigweight.weighing.rules import LiveCount, Weighing
from pigweight.weighing.scale import ScaleReader

logger = logging.getLogger(__name__)

FRESH_S = 2.0  # an older scale reading is a silent scale
EDGE = 0.01  # an outline this close to the picture's border: the animal crosses the edge


def on_edge(outlines: list[Outline]) -> bool:
    """Whether any animal's outline touches the border of the picture (walking on or off)."""
    return any(
        x <= EDGE or y <= EDGE or x >= 1 - EDGE or y >= 1 - EDGE
        for polygon in outlines
        for x, y in polygon
    )


@dataclass(frozen=True, slots=True)
class RecordedLoad:
    """The last weighing a platform recorded by itself."""

    id: int
    count: int
    total_kg: float
    ts: float


@dataclass(frozen=True, slots=True)
class WeigherState:
    """What the live view shows of a platform's events."""

    state: str  # idle, loading, settled, unloading
    pending: Action | None  # a weighing waiting for the operator's confirmation
    warning: Action | None  # a request to re-zero the scale
    last_record: RecordedLoad | None


class AutoWeigher:
    """The weighing events of one platform, and the records they write."""

    def __init__(
        self,
        camera: str,
        hub: Hub,
        scale: ScaleReader,
        book: RecordBook,
        settings: EventSettings,
    ) -> None:
        self.camera = camera
        self.hub = hub
        self.scale = scale
        self.book = book
        self.events = PlatformEvents(settings)
        # Keeps the frame of a weighing worth labelling (Teaching.after_weighing, which never
        # raises), in a thread: (camera, typed count, camera count, confidence, confirm asked).
        self.keep_frame: Callable[[str, int | None, int | None, float | None, bool], Any] | None = (
            None
        )
        self.pending: Action | None = None  # a confirm the operator has not answered
        self.warning: Action | None = None  # a re-zero request
        self.last_record: RecordedLoad | None = None
        self._holds_recorded_load = False  # the load on the platform now is last_record's
        self._message: CountMessage | None = None  # the camera's newest count
        self._loop_task = LoopTask(self._run)

    def start(self) -> None:
        self._loop_task.start()

    async def stop(self) -> None:
        await self._loop_task.stop()

    def state(self) -> WeigherState:
        """What the live view shows of the platform's events."""
        return WeigherState(self.events.state, self.pending, self.warning, self.last_record)

    def recent_record(self, now: float, window_s: float) -> int | None:
        """The id of the record this platform made of the load it holds now, or of one it
        made in the last window_s seconds; None otherwise (a manual weighing then is a new
        group, not the same one twice)."""
        last = self.last_record
        if last is None:
            return None
        if self._holds_recorded_load or now - last.ts <= window_s:
            return last.id
        return None

    def dismiss(self) -> None:
        """The operator answered the confirmation (recorded it, or not)."""
        self.pending = None

    async def _run(self) -> None:
        subscriber = self.hub.subscribe(self.camera)
        try:
            while True:
                update = await subscriber.get()
                if update is None:  # the hub dropped us (shutdown, or far behind): again
                    self.hub.unsubscribe(subscriber)
                    await asyncio.sleep(1.0)
                    subscriber = self.hub.subscribe(self.camera)
                    continue
                if update.jpeg is None:
                    continue  # a status change, not a count
                self._message = update.body
                for action in self.events.observe(self._observation(update.body)):
                    await self._act(action)
                if self.events.state != "settled":
                    self._holds_recorded_load = False  # unloading or empty: a new group next
        finally:
            self.hub.unsubscribe(subscriber)

    def _observation(self, message: CountMessage) -> Observation:
        reading = self.scale.latest()
        fresh = reading is not None and time.time() - reading.ts <= FRESH_S
        # The frame's own count: PlatformEvents takes the count most frames of the scale's
        # steady window agree on (the camera's stable count would settle a window later).
        return Observation(
            ts=time.monotonic(),
            count=message.count,
            # This frame's own confidence: the window's (`confidence`) ramps up over the
            # camera's window after the animals settle, as the stable count does.
            confidence=message.frame_confidence,
            on_edge=on_edge(message.outlines),
            weight_kg=reading.weight_kg if fresh and reading is not None else None,
            scale_stable=bool(fresh and reading is not None and reading.stable),
        )

    async def _act(self, action: Action) -> None:
        if action.kind == "rezero":
            self.warning = action
            logger.warning("platform %s: %s", self.camera, action.reason)
        elif action.kind == "confirm":
            self.pending = action
            logger.info("platform %s: asking the operator: %s", self.camera, action.reason)
            await self._keep_frame(action.count, True)
        else:
            self.warning = None
            await self._record(action)

    async def _record(self, action: Action) -> None:
        assert action.count is not None and action.total_kg is not None
        # The frame that shows the counted animals, however old: the weighing is now.
        shot = self.hub.live_count(self.camera, math.inf)
        jpeg = shot.picture(action.count) if shot is not None else None
        # No note: the record says it was automatic (weight from the scale, count from the
        # camera, no confirmation) and its evidence keeps what was seen, in any language.
        weighing = Weighing(self.camera, round(action.total_kg, 3), None, "", "scale")
        message = self._message
        live = LiveCount(
            action.count,
            None if message is None else message.confidence,
            None if message is None else message.segmenter,
            jpeg,
        )
        key = f"auto-{self.camera}-{time.time():.0f}"
        bundle = self._evidence(action)
        try:
            saved = await anyio.to_thread.run_sync(self.book.record, weighing, live, key, bundle)
        except Exception as exc:  # refused (band, limits) or the disk: the operator decides
            self.pending = Action(
                "confirm",
                action.ts,
                action.count,
                action.total_kg,
                str(exc),
                code="not_recorded",
                params={
                    "error_code": getattr(exc, "code", "error"),
                    **(getattr(exc, "params", None) or {}),
                },
            )
            logger.warning("platform %s: automatic weighing not recorded: %s", self.camera, exc)
            return
        record = saved.record
        self.last_record = RecordedLoad(record.id, record.count, record.total_weight_kg, record.ts)
        self._holds_recorded_load = self.events.state == "settled"
        await self._keep_frame(record.count, False)
        logger.info(
            "platform %s: recorded weighing %d by itself: %d head, %.1f kg",
            self.camera,
            record.id,
            record.count,
            record.total_weight_kg,
        )

    async def _keep_frame(self, count: int | None, confirm_asked: bool) -> None:
        if self.keep_frame is None:
            return
        message = self._message
        await anyio.to_thread.run_sync(
            self.keep_frame,
            self.camera,
            None,
            count,
            None if message is None else message.frame_confidence,
            confirm_asked,
        )

    def _evidence(self, action: Action) -> dict[str, Any]:
        """What the platform saw while the weighing settled: counts, and the scale's frames."""
        now = time.time()
        settled_at = now - (time.monotonic() - action.ts)  # the action's clock is monotonic
        since = settled_at - self.events.settings.settle_s
        status = self.scale.status()
        return {
            "kind": "automatic weighing",
            "camera": self.camera,
            "settled_at": round(settled_at, 3),
            "window_s": self.events.settings.settle_s,
            "count": action.count,
            "total_kg": action.total_kg,
            "count_histogram": {str(n): k for n, k in sorted(action.histogram.items())},
            # What the camera counted on each frame of the window, by wall time.
            "counts": [
                {
                    "ts": round(now - (time.monotonic() - o.ts), 3),
                    "count": o.count,
                    "confidence": round(o.confidence, 3),
                    "on_edge": o.on_edge,
                }
                for o in self.events.window()
            ],
            "confidence": None if self._message is None else self._message.confidence,
            "segmenter": None if self._message is None else self._message.segmenter,
            "scale": {
                "protocol": status.protocol,
                "where": status.where,
                "bad_frames_so_far": status.bad_frames,
                "frames": [
                    {
                        "ts": round(r.ts, 3),
                        "raw": r.raw.decode("ascii", "backslashreplace"),
                        "weight_kg": r.weight_kg,
                        "stable": r.stable,
                        "status": str(r.status),
                    }
                    for r in self.scale.recent(since)
                ],
            },
        }

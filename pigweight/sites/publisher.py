"""SitePublisher: a site's outbox and live state, into its local JetStream stream.

One task on the event loop, owned by the lifespan. It connects to the site's own nats-server
(backoff 1-30 s while it is down), makes sure `PW_SITE_<site>` exists, then publishes the outbox's
rows oldest first, each with `Nats-Msg-Id: <event_id>`, and deletes a row only after its
PubAck: a crash between the two sends it again, and JetStream's duplicate window (and the
central's unique keys) make that a no-op. Camera states (every 5 s) and the count series (one
point a camera every 10 s, from the stored samples) are published as they come, without the
outbox: one lost is harmless, and nothing here ever waits on the camera path.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

import anyio
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from sqlalchemy import Engine

from pigweight.aio import LoopTask
from pigweight.settings import SiteSettings
from pigweight.sites import streams, wire
from pigweight.sites.journal import SiteJournal
from pigweight.sites.link import leaf_linked
from pigweight.store import counts, outbox

logger = logging.getLogger(__name__)

BATCH = 100  # outbox rows read at a time
POLL_S = 1.0  # the outbox is read at least this often (a commit wakes it at once)
PUBLISH_TIMEOUT_S = 5.0
CAMERAS_EVERY_S = 5.0
COUNTS_EVERY_S = 10.0  # also the downsampling: one point a camera in each such bucket
BACKOFF_S = (1.0, 30.0)


@dataclass(frozen=True, slots=True)
class PublisherStatus:
    """What the page and /api/health may show of a site's link to its NATS server."""

    site: str
    connected: bool
    pending: int  # outbox rows not yet acknowledged by JetStream
    oldest_pending_ts: float | None
    published: int  # outbox rows acknowledged since start
    live_sent: int  # camera states and count messages sent
    live_dropped: int  # ... and those that could not be
    last_error: str | None
    # The leaf link to the hub, from the local nats-server's monitoring port (NATS_MONITOR_URL,
    # sites/link.py): None until known. `waiting`: changes not yet at the hub: the outbox's,
    # and those put into the stream while the link was down (since this start).
    link_up: bool | None = None
    waiting: int = 0
    last_sent_ts: float | None = None  # when changes last went to the hub (link up)


class SitePublisher:
    def __init__(
        self,
        settings: SiteSettings,
        journal: SiteJournal,
        cameras: Callable[[], dict[str, str]] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        assert settings.site_id is not None
        self.settings = settings
        self.site = settings.site_id
        self.journal = journal
        self._cameras = cameras  # camera id -> its state, read on the loop
        self._clock = clock
        self._engine: Engine | None = None
        self._task = LoopTask(self._run)
        self._wake = asyncio.Event()
        self._nc: NATS | None = None
        self._pending = (0, None)  # type: tuple[int, float | None]
        self._published = 0
        self._live_sent = 0
        self._live_dropped = 0
        self._last_error: str | None = None
        self._counts_since: float | None = None
        self._link_up: bool | None = None
        self._held = 0  # changes put into the stream while the link was down
        self._fresh = 0  # ... and since the last look at the link
        self._last_sent_ts: float | None = None

    async def start(self, engine: Engine) -> None:
        """Start publishing (on the loop); returns at once, connecting happens in the task."""
        self._engine = engine
        loop = asyncio.get_running_loop()

        def wake() -> None:
            # A record committed while the loop closes: the next start reads the outbox.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._wake.set)

        self.journal.on_commit(wake)
        self._counts_since = self._clock()
        self._task.start()

    async def stop(self) -> None:
        self.journal.on_commit(None)
        await self._task.stop()

    def status(self) -> PublisherStatus:
        nc = self._nc
        connected = bool(nc is not None and nc.is_connected)
        return PublisherStatus(
            site=self.site,
            connected=connected,
            pending=self._pending[0],
            oldest_pending_ts=self._pending[1],
            published=self._published,
            live_sent=self._live_sent,
            live_dropped=self._live_dropped,
            last_error=self._last_error,
            link_up=self._link_up,
            waiting=self._pending[0] + self._held + self._fresh * (self._link_up is not True),
            last_sent_ts=self._last_sent_ts,
        )

    # --- the task ----------------------------------------------------------------------

    async def _run(self) -> None:
        delay = BACKOFF_S[0]
        try:
            while True:
                try:
                    self._nc = await streams.connect(
                        self.settings, f"pigweight-site-{self.site}", self._set_error
                    )
                    js = self._nc.jetstream(timeout=PUBLISH_TIMEOUT_S)
                    await streams.ensure_site_stream(js, self.site)
                    self._last_error = None
                    delay = BACKOFF_S[0]
                    await self._publish_loop(js)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # the worker's top loop: log, back off, go again
                    self._last_error = streams.describe(exc)
                    logger.warning("site %s: NATS: %s; again in %.0f s", self.site, exc, delay)
                    await self._close()
                    await asyncio.sleep(delay * random.uniform(0.8, 1.2))
                    delay = min(delay * 2, BACKOFF_S[1])
        finally:
            await self._close()

    async def _publish_loop(self, js: JetStreamContext) -> None:
        next_cameras = next_counts = time.monotonic()
        while True:
            self._wake.clear()  # a commit from here on wakes the wait below
            await self._drain(js)
            now = time.monotonic()
            if now >= next_cameras:
                next_cameras = now + CAMERAS_EVERY_S
                await self._send_cameras(js)
                await self._read_link()
            if now >= next_counts:
                next_counts = now + COUNTS_EVERY_S
                await self._send_counts(js)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), POLL_S)

    async def _drain(self, js: JetStreamContext) -> None:
        """Publish the outbox, oldest first, until it is empty; a row goes once acknowledged."""
        while True:
            rows = await anyio.to_thread.run_sync(self._oldest)
            if not rows:
                self._pending = (0, None)
                return
            done: list[int] = []
            try:
                for row in rows:
                    await js.publish(
                        row.subject,
                        row.payload.encode(),
                        timeout=PUBLISH_TIMEOUT_S,
                        headers={"Nats-Msg-Id": row.event_id},
                    )
                    done.append(row.id)
            finally:
                if done:
                    await anyio.to_thread.run_sync(self._remove, done)
                    self._published += len(done)
                    self._fresh += len(done)

    def _oldest(self) -> list[outbox.OutboxRow]:
        assert self._engine is not None
        with self._engine.connect() as conn:
            self._pending = outbox.pending(conn)
            return outbox.oldest(conn, BATCH)

    def _remove(self, ids: list[int]) -> None:
        assert self._engine is not None
        with self._engine.begin() as conn:
            outbox.remove(conn, ids)

    async def _send_cameras(self, js: JetStreamContext) -> None:
        if self._cameras is None:
            return
        now = self._clock()
        for camera, state in self._cameras().items():
            await self._send_live(js, wire.CameraBody(camera=camera, state=state[:32], ts=now))

    async def _send_counts(self, js: JetStreamContext) -> None:
        if self._cameras is None or self._counts_since is None:
            return
        since = self._counts_since
        cameras = list(self._cameras())
        series = await anyio.to_thread.run_sync(self._count_points, cameras, since)
        for camera, points in series.items():
            if points:
                self._counts_since = max(self._counts_since, float(points[-1][0] or 0.0))
                body = wire.CountsBody(camera=camera, points=points[-wire.MAX_POINTS :])
                await self._send_live(js, body)

    def _count_points(
        self, cameras: list[str], since: float
    ) -> dict[str, list[list[float | int | None]]]:
        """The samples after `since`, the last of each COUNTS_EVERY_S bucket, per camera."""
        assert self._engine is not None
        out: dict[str, list[list[float | int | None]]] = {}
        with self._engine.connect() as conn:
            for camera in cameras:
                kept: dict[int, counts.CountRow] = {}
                for row in counts.count_series(conn, camera, since):
                    if row.ts > since:
                        kept[int(row.ts // COUNTS_EVERY_S)] = row
                out[camera] = [[r.ts, r.count, r.stable_count] for r in kept.values()]
        return out

    def _set_error(self, text: str) -> None:
        self._last_error = text

    async def _read_link(self) -> None:
        """Is the leaf link up? What went into the stream meanwhile is at the hub within
        seconds if it is (JetStream's sourcing), and waits there if it is not."""
        up = await anyio.to_thread.run_sync(leaf_linked, self.settings.nats_monitor_url)
        fresh, self._fresh = self._fresh, 0
        if up:
            if fresh or self._held:
                self._last_sent_ts = self._clock()
            self._held = 0
        else:
            self._held += fresh
        self._link_up = up

    async def _send_live(self, js: JetStreamContext, body: wire.Body) -> None:
        envelope = wire.Envelope(self.site, wire.new_event_id(), body)
        try:
            await js.publish(envelope.subject, wire.encode(envelope), timeout=PUBLISH_TIMEOUT_S)
            self._live_sent += 1
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # best-effort: counted, logged once in a while
            self._live_dropped += 1
            if self._live_dropped % 100 == 1:
                logger.info("site %s: live message not sent (%s)", self.site, streams.describe(exc))

    async def _close(self) -> None:
        nc, self._nc = self._nc, None
        await streams.close_quietly(nc)

"""CentralIngest: the central service takes each site's sourced stream into its tables.

One task on the event loop, owned by the lifespan (or `pigweight sites ingest`). For each
site of CENTRAL_SITES it makes sure the hub has `PW_FROM_<site>` (sourcing the site's stream)
and a durable pull consumer, then fetches in batches: a batch is written in one transaction
(`central_apply.apply_many`) and each message is acknowledged only after that commit. A crash
before the acks has JetStream deliver them again, and the unique keys make the repeat a
no-op; a refused message (another site's subject, a bad body) is terminated, never retried.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import anyio
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext
from sqlalchemy import Engine
from sqlalchemy.exc import DataError, IntegrityError

from pigweight.aio import LoopTask
from pigweight.settings import SiteSettings
from pigweight.sites import models, streams
from pigweight.sites.central_apply import Outcome, apply, apply_many, mark_heard

logger = logging.getLogger(__name__)

FETCH = 100  # messages a fetch, and a transaction
FETCH_WAIT_S = 1.0
BACKOFF_S = (1.0, 30.0)


@dataclass
class IngestStatus:
    """How the taking of one site's messages stands (for the page and /api/health)."""

    site: str
    taken: int = 0
    repeats: int = 0
    refused: int = 0
    last_taken_ts: float | None = None
    last_error: str | None = None


@dataclass
class _State:
    connected: bool = False
    last_error: str | None = None  # of the connection to the hub
    sites: dict[str, IngestStatus] = field(default_factory=dict)


class CentralIngest:
    def __init__(self, settings: SiteSettings, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.sites = list(settings.central_sites)
        self._clock = clock
        self._engine: Engine | None = None
        self._task = LoopTask(self._run)
        self._state = _State(sites={s: IngestStatus(s) for s in self.sites})
        self._nc: NATS | None = None

    async def start(self, engine: Engine) -> None:
        self._engine = engine
        self._task.start()

    async def stop(self) -> None:
        await self._task.stop()

    @property
    def connected(self) -> bool:
        return self._state.connected

    @property
    def last_error(self) -> str | None:
        """The last error of the connection to the hub (never with the password)."""
        return self._state.last_error

    def _set_error(self, text: str) -> None:
        self._state.last_error = text

    def status(self) -> list[IngestStatus]:
        return [IngestStatus(**vars(s)) for s in self._state.sites.values()]

    async def _run(self) -> None:
        delay = BACKOFF_S[0]
        try:
            while True:
                try:
                    self._nc = await streams.connect(
                        self.settings, "pigweight-central", self._set_error
                    )
                    js = self._nc.jetstream()
                    for site in self.sites:
                        await streams.ensure_central_stream(js, site)
                    # models to the sites, their reports and labelled frames (models.py)
                    await models.ensure_central_streams(js, list(self.sites))
                    self._state.connected = True
                    self._state.last_error = None
                    delay = BACKOFF_S[0]
                    async with asyncio.TaskGroup() as group:
                        for site in self.sites:
                            group.create_task(self._take(js, site))
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # the worker's top loop: log, back off, go again
                    self._state.last_error = error = streams.describe(exc)
                    logger.warning("central: NATS: %s; again in %.0f s", error, delay)
                    await self._close()
                    await asyncio.sleep(delay * random.uniform(0.8, 1.2))
                    delay = min(delay * 2, BACKOFF_S[1])
        finally:
            await self._close()

    async def _take(self, js: JetStreamContext, site: str) -> None:
        sub = await js.pull_subscribe(
            "", durable=streams.CENTRAL_CONSUMER, stream=streams.central_stream(site)
        )
        status = self._state.sites[site]
        while True:
            try:
                messages = await sub.fetch(FETCH, timeout=FETCH_WAIT_S)
            except (NatsTimeout, TimeoutError):
                continue
            outcomes = await anyio.to_thread.run_sync(self._write, site, messages)
            for message, outcome in zip(messages, outcomes, strict=True):
                if outcome is Outcome.REFUSED:
                    await message.term()
                    status.refused += 1
                else:
                    await message.ack()
                    status.taken += outcome is Outcome.TAKEN
                    status.repeats += outcome is Outcome.REPEAT
            status.last_taken_ts = self._clock()

    def _write(self, site: str, messages: list[Msg]) -> list[Outcome]:
        """One transaction for the batch; the acks wait for its commit.

        A batch the database refuses (a value too long for its column, say) is written again
        one message a transaction, so that the one it refuses is found and refused (termed,
        never retried) and the others are taken: a bad message from one site must not stop
        the ingest. A database that is down raises (OperationalError) and is retried."""
        assert self._engine is not None
        now = self._clock()
        try:
            with self._engine.begin() as conn:
                outcomes = apply_many(conn, site, [(m.subject, m.data) for m in messages], now)
                if any(o is not Outcome.REFUSED for o in outcomes):
                    mark_heard(conn, site, now, sum(o is Outcome.TAKEN for o in outcomes))
                return outcomes
        except (DataError, IntegrityError):
            return [self._write_one(site, m, now) for m in messages]

    def _write_one(self, site: str, message: Msg, now: float) -> Outcome:
        assert self._engine is not None
        try:
            with self._engine.begin() as conn:
                return apply(conn, site, message.subject, message.data, now)
        except (DataError, IntegrityError) as error:
            reason = type(error.orig).__name__ if error.orig is not None else type(error).__name__
            logger.warning(
                "central: %s: a message the database refuses (%s), set aside", site, reason
            )
            return Outcome.REFUSED

    async def _close(self) -> None:
        self._state.connected = False
        nc, self._nc = self._nc, None
        await streams.close_quietly(nc)

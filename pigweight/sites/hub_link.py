"""The central API's one connection to the hub (models to sites, labelled frames back).

Opened by the app's lifespan and closed at its end: the routes share it instead of opening
a connection per request. A first connect that fails is tried again in the background
every few seconds; once up, nats-py reconnects by itself. While it is not connected a route
is refused at once (HubDown, a 503 in the API) rather than waiting on a request that would
only time out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from nats.aio.client import Client as NATS
from nats.js import JetStreamContext

from pigweight.settings import SiteSettings
from pigweight.sites.streams import close_quietly, connect, describe

logger = logging.getLogger(__name__)

RETRY_S = 2.0


class HubDown(Exception):
    """The hub cannot be reached now; the message says why."""


class HubLink:
    """One reconnecting connection to NATS_URL for the central's API routes."""

    def __init__(self, settings: SiteSettings, name: str = "pigweight-central-api") -> None:
        self.settings = settings
        self.name = name
        self.last_error: str | None = None
        self._nc: NATS | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Connect in the background: the server starts even while the hub is down."""
        self._task = asyncio.create_task(self._connect(), name="central-hub-link")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await close_quietly(self._nc)
        self._nc = None

    def jetstream(self) -> JetStreamContext:
        """The hub's JetStream, or HubDown at once when the link is not up."""
        nc = self._nc
        if nc is None or not nc.is_connected:
            why = f" ({self.last_error})" if self.last_error else ""
            raise HubDown(f"the hub cannot be reached{why}; try again when it is up")
        return nc.jetstream()

    async def _connect(self) -> None:
        while self._nc is None:
            try:
                self._nc = await connect(self.settings, self.name, on_error=self._error)
                self.last_error = None
                logger.info("central: connected to the hub")
            except Exception as exc:  # the hub is down: try again, for ever
                error = describe(exc)
                # said once a cause, not every RETRY_S for as long as the hub is away
                level = logging.DEBUG if error == self.last_error else logging.WARNING
                logger.log(level, "central: the hub cannot be reached: %s", error)
                self.last_error = error
                await asyncio.sleep(RETRY_S)

    def _error(self, text: str) -> None:
        self.last_error = text

"""A site's task that takes the model the central activated for it (sites/models.py carries
it over the hub's JetStream): the newest activation, every POLL_S, fetched and checked (size,
sha256, then the model book's own checks: onnxruntime loads it, one pig class, a detector),
added to the model book as a model of its own and switched to on the cameras it names (all
the site's cameras when none). A refused model is never counted with. Either outcome is
reported back until the hub took the report; which activation was handled is kept in
DATA_DIR/models/central.json, so a restart neither applies it again nor forgets to report.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from pigweight.aio import LoopTask
from pigweight.durable import replace_file
from pigweight.settings import SiteSettings
from pigweight.sites import streams
from pigweight.sites.models import (
    CENTRAL_USER,
    POLL_S,
    REQUEST_TIMEOUT_S,
    ObjectRefused,
    activation_subject,
    fetch_object,
    site_inbox,
    status_subject,
    to_site_stream,
)
from pigweight.sites.nats_config import HUB_DOMAIN
from pigweight.teaching.labels_to_central import SEND_EVERY_S, LabelSender
from pigweight.teaching.models import (
    MAX_MODEL_BYTES,
    ActivationRefused,
    ModelBook,
    ModelRejected,
)

logger = logging.getLogger(__name__)

APPLIED_FILE = "central.json"  # in the model book's folder: the last activation handled


@dataclass(slots=True)
class ReceiverStatus:
    connected: bool = False
    last_error: str | None = None
    activation: str | None = None  # the last activation handled
    state: str | None = None  # active | refused
    reason: str | None = None
    model_id: str | None = None
    name: str | None = None
    sha256: str | None = None
    ts: float | None = None


class ModelReceiver:
    """A site's task: takes the central's newest activation, checks and applies it."""

    def __init__(
        self,
        settings: SiteSettings,
        book: ModelBook,
        cameras: Callable[[], list[str]],
        poll_s: float = POLL_S,
        labels: LabelSender | None = None,
        labels_every_s: float = SEND_EVERY_S,
    ) -> None:
        assert settings.site_id is not None
        self.settings = settings
        self.site = settings.site_id
        self.book = book
        self._cameras = cameras
        self.poll_s = poll_s
        self.labels = labels  # the site's labelled frames go up the same link
        self.labels_every_s = labels_every_s
        self._labels_at = -labels_every_s
        self._task = LoopTask(self._run)
        self.state = ReceiverStatus()
        self._reported = False  # the hub took the report of the activation handled
        self._load_applied()

    def start(self) -> None:
        self._task.start()

    async def stop(self) -> None:
        await self._task.stop()

    def status(self) -> ReceiverStatus:
        return self.state

    # persisted: which activation was handled, and whether the central has heard of it
    def _applied_path(self) -> Path:
        return self.book.root / APPLIED_FILE

    def _load_applied(self) -> None:
        try:
            saved = json.loads(self._applied_path().read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return
        for key in ("activation", "state", "reason", "model_id", "name", "sha256", "ts"):
            setattr(self.state, key, saved.get(key))
        self._reported = bool(saved.get("reported"))

    def _save_applied(self) -> None:
        self.book.root.mkdir(parents=True, exist_ok=True)
        saved = {
            "activation": self.state.activation,
            "state": self.state.state,
            "reason": self.state.reason,
            "model_id": self.state.model_id,
            "name": self.state.name,
            "sha256": self.state.sha256,
            "ts": self.state.ts,
            "reported": self._reported,
        }
        replace_file(self._applied_path(), json.dumps(saved).encode())

    async def _run(self) -> None:
        nc: NATS | None = None
        try:
            while True:
                try:
                    if nc is None:
                        nc = await streams.connect(
                            self.settings,
                            f"pigweight-models-{self.site}",
                            inbox_prefix=site_inbox(self.site),
                        )
                    self.state.connected = nc.is_connected
                    js = nc.jetstream(domain=HUB_DOMAIN, timeout=REQUEST_TIMEOUT_S)
                    await self.check_once(js)
                    if self.labels and time.monotonic() - self._labels_at >= self.labels_every_s:
                        await self.labels.send(js)
                        self._labels_at = time.monotonic()
                    self.state.last_error = None
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # the link is down, the hub is away: next round
                    self.state.last_error = type(exc).__name__ if not str(exc) else str(exc)
                    logger.debug("models: %s", self.state.last_error)
                await asyncio.sleep(self.poll_s)
        finally:
            if nc is not None:
                with contextlib.suppress(Exception):
                    await nc.close()

    async def check_once(self, js: JetStreamContext) -> None:
        """One round: the newest activation, applied once, and reported until the hub has
        taken the report."""
        try:
            msg = await js.get_last_msg(to_site_stream(self.site), activation_subject(self.site))
        except NotFoundError:
            return
        activation = json.loads(msg.data or b"{}")
        if activation.get("id") != self.state.activation:
            await self._apply(js, activation)
        if not self._reported:
            await self._report(js)

    async def _apply(self, js: JetStreamContext, activation: dict[str, Any]) -> None:
        """Fetches, checks and applies one activation. A link that fails midway raises and
        leaves nothing changed (the next round tries again); only a file that is not the one
        named, or fails the checks, is refused (and never tried again)."""
        name = str(activation.get("name") or "")
        digest = str(activation.get("sha256") or "")
        model_id: str | None = None
        reason: str | None = None
        try:
            try:
                data = await fetch_object(
                    js, digest, int(activation.get("bytes") or 0), MAX_MODEL_BYTES
                )
            except (ValueError, KeyError, TypeError) as exc:  # a malformed activation
                raise ObjectRefused(f"a malformed activation ({type(exc).__name__})") from None
            model_id = await anyio.to_thread.run_sync(self._install, data, activation)
        except (ObjectRefused, ModelRejected, ActivationRefused) as exc:
            state, reason = "refused", str(exc)
            logger.error("models: the central's model %s refused: %s", name, exc)
        else:
            state = "active"
        got = self.state
        got.activation, got.name, got.sha256 = str(activation.get("id")), name, digest
        got.state, got.reason, got.model_id, got.ts = state, reason, model_id, time.time()
        self._reported = False
        self._save_applied()

    def _install(self, data: bytes, activation: dict[str, Any]) -> str:
        """Into the model book as a model of its own, checked; every camera named switches to
        it (none switches when the file fails the checks)."""
        book = self.book
        model_id = book.new_id("central")
        names = book.store_checked(model_id, data)
        card = {
            "id": model_id,
            "name": str(activation.get("name") or model_id),
            "origin": "central",
            "created_ts": time.time(),
            "camera": None,
            "base": None,
            "frames": None,
            "evaluation": None,
            "classes": names,
            "sha256": activation.get("sha256"),
            "bytes": len(data),
            "user": CENTRAL_USER,
            "activation": activation.get("id"),
        }
        book.write_card(model_id, card)
        cameras = activation.get("cameras")
        for camera in cameras if isinstance(cameras, list) else self._cameras():
            book.adopt(camera, model_id, CENTRAL_USER)
        return model_id

    async def _report(self, js: JetStreamContext) -> None:
        report = {
            "activation": self.state.activation,
            "site": self.site,
            "state": self.state.state,
            "reason": self.state.reason,
            "model_id": self.state.model_id,
            "sha256": self.state.sha256,
            "ts": self.state.ts,
        }
        await js.publish(status_subject(self.site), json.dumps(report).encode())
        self._reported = True
        self._save_applied()

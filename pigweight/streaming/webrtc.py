"""WebRTC live view: the browser's SDP offer in, an answer out, the camera's frames as video.

aiortc runs on the server's event loop. Each peer gets a `CameraTrack`: the camera's frames
as they are decoded (`overlay=False`: the page draws the outlines it gets over WS
/ws/count) or the annotated frames the counter publishes (`overlay=True`, at TARGET_FPS).
A track never waits on a thread: it polls the camera's newest frame every few ms, and the
one JPEG decode of the annotated variant runs in a worker thread. aiortc encodes in its
own executor.

Peers are closed when the browser closes them or its connection fails (ICE consent lost:
the tab went away), at shutdown, and never more than WEBRTC_MAX_PEERS per camera exist.
ICE gathers host candidates only on WEBRTC_HOSTS when set (aioice otherwise takes every
interface but loopback), and uses the STUN/TURN servers of WEBRTC_ICE_SERVERS.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any

import aioice.ice
import av
import cv2
import numpy as np
from aiortc import (
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
    VideoStreamTrack,
)
from aiortc.mediastreams import MediaStreamError

from pigweight.domain import Image
from pigweight.errors import PigWeightError
from pigweight.pipeline.camera_worker import CameraWorker
from pigweight.pipeline.hub import Hub
from pigweight.settings import WebRTCSettings

logger = logging.getLogger(__name__)

POLL_S = 0.005  # how often a track looks for a newer frame
CONNECT_TIMEOUT_S = 15.0  # a peer not connected by then is closed (the page gave up)
CLOCK = 90_000  # RTP video clock
_TIME_BASE = Fraction(1, CLOCK)


class TooManyPeers(PigWeightError):
    """The camera already streams to WEBRTC_MAX_PEERS browsers."""

    code = "too_many_peers"


class WebRTCDisabled(PigWeightError):
    """WEBRTC_ENABLED is false: the page uses MJPEG."""

    code = "webrtc_disabled"


class InvalidOffer(PigWeightError):
    """An SDP offer aiortc cannot answer (malformed, or no video to receive)."""

    code = "invalid_offer"


class CameraTrack(VideoStreamTrack):
    """Video of one camera: every decoded frame, or the counter's annotated ones."""

    def __init__(self, worker: CameraWorker, hub: Hub, overlay: bool) -> None:
        super().__init__()
        self.worker = worker
        self.hub = hub
        self.overlay = overlay
        self.frames_sent = 0
        self._last_index = -1
        self._last_jpeg: bytes | None = None
        self._t0 = time.monotonic()

    async def recv(self) -> av.VideoFrame:
        image = await self._next_image()
        frame = av.VideoFrame.from_ndarray(image, format="rgb24")
        frame.pts = round((time.monotonic() - self._t0) * CLOCK)
        frame.time_base = _TIME_BASE
        self.frames_sent += 1
        return frame

    async def _next_image(self) -> Image:
        while self.readyState == "live":
            if self.overlay:
                update = self.hub.latest_frame(self.worker.config.id)
                jpeg = None if update is None else update.jpeg
                if jpeg is not None and jpeg is not self._last_jpeg:
                    self._last_jpeg = jpeg
                    return await asyncio.to_thread(_decode_jpeg, jpeg)
            else:
                frame = self.worker.latest_frame(after_index=self._last_index)
                if frame is not None:
                    self._last_index = frame.index
                    return frame.image
            await asyncio.sleep(POLL_S)
        raise MediaStreamError  # stopped while waiting: aiortc ends the stream


def _decode_jpeg(jpeg: bytes) -> Image:
    bgr = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    if bgr is None:
        raise MediaStreamError  # the counter's own JPEG: never seen unreadable
    return np.asarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), np.uint8)


def ice_servers(settings: WebRTCSettings) -> list[RTCIceServer]:
    """RTCIceServer of every WEBRTC_ICE_SERVERS URL; TURN ones with the TURN credentials."""
    password = settings.webrtc_turn_password
    servers = []
    for url in settings.webrtc_ice_servers:
        if url.startswith(("turn:", "turns:")):
            servers.append(
                RTCIceServer(
                    urls=url,
                    username=settings.webrtc_turn_username or None,
                    credential=password.get_secret_value() if password else None,
                )
            )
        else:
            servers.append(RTCIceServer(urls=url))
    return servers


class _HostAddresses:
    """aioice's host-address lookup limited to the configured addresses, while installed."""

    def __init__(self, hosts: Sequence[str]) -> None:
        self.hosts = list(hosts)
        self._original: Callable[[bool, bool], list[str]] | None = None

    def install(self) -> None:
        if not self.hosts or self._original is not None:
            return
        self._original = aioice.ice.get_host_addresses
        aioice.ice.get_host_addresses = self._addresses

    def remove(self) -> None:
        if self._original is not None:
            aioice.ice.get_host_addresses = self._original  # type: ignore[assignment]
            self._original = None

    def _addresses(self, use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return [h for h in self.hosts if (":" in h and use_ipv6) or (":" not in h and use_ipv4)]


class WebRTCService:
    """The peers of every camera, their limit, and their end."""

    def __init__(self, settings: WebRTCSettings, hub: Hub) -> None:
        self.settings = settings
        self.hub = hub
        self._peers: dict[str, set[RTCPeerConnection]] = {}
        self._hosts = _HostAddresses(settings.webrtc_hosts)
        self._watchdogs: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        self._hosts.install()

    async def stop(self) -> None:
        for task in list(self._watchdogs):
            task.cancel()
        peers = [pc for group in self._peers.values() for pc in group]
        await asyncio.gather(*(pc.close() for pc in peers), return_exceptions=True)
        self._peers.clear()
        self._hosts.remove()

    def peer_count(self, camera: str | None = None) -> int:
        if camera is not None:
            return len(self._peers.get(camera, ()))
        return sum(len(group) for group in self._peers.values())

    async def answer(
        self, worker: CameraWorker, offer_sdp: str, offer_type: str, overlay: bool
    ) -> dict[str, Any]:
        """The SDP answer to a browser's offer; the peer streams until closed or failed."""
        if not self.settings.webrtc_enabled:
            raise WebRTCDisabled("WebRTC is off (WEBRTC_ENABLED=false): use the MJPEG stream")
        camera = worker.config.id
        group = self._peers.setdefault(camera, set())
        limit = self.settings.webrtc_max_peers
        if len(group) >= limit:
            raise TooManyPeers(
                f"camera {camera} already streams to {limit} browsers (WEBRTC_MAX_PEERS): "
                "close another view of it, or use the MJPEG stream"
            )
        pc = RTCPeerConnection(RTCConfiguration(iceServers=ice_servers(self.settings)))
        group.add(pc)
        track = CameraTrack(worker, self.hub, overlay)

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            if pc.connectionState in ("failed", "closed"):
                await self._close(camera, pc, track)

        try:
            pc.addTrack(track)
            await pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type=offer_type))
            await pc.setLocalDescription(await pc.createAnswer())
        except Exception as exc:
            await self._close(camera, pc, track)
            raise InvalidOffer(f"the browser's offer cannot be answered: {exc}") from None
        task = asyncio.get_running_loop().create_task(self._watch(camera, pc, track))
        self._watchdogs.add(task)
        task.add_done_callback(self._watchdogs.discard)
        local = pc.localDescription
        return {"sdp": local.sdp, "type": local.type}

    async def _watch(self, camera: str, pc: RTCPeerConnection, track: CameraTrack) -> None:
        """Close a peer that never connects: the page fell back or went away meanwhile."""
        await asyncio.sleep(CONNECT_TIMEOUT_S)
        if pc.connectionState != "connected":
            await self._close(camera, pc, track)

    async def _close(self, camera: str, pc: RTCPeerConnection, track: CameraTrack) -> None:
        group = self._peers.get(camera)
        if group is None or pc not in group:
            return
        group.discard(pc)
        track.stop()
        with contextlib.suppress(Exception):
            await pc.close()
        logger.info("camera %s: WebRTC peer closed after %d frames", camera, track.frames_sent)

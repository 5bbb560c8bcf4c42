"""RtspSource: a live camera over RTSP that reconnects by itself and never hangs.

One decode thread per camera opens the stream with PyAV over TCP, decodes every packet and
puts the newest frame in a FrameSlot. Whatever goes wrong (refused, 401/404, silence, end
of stream, no frame for `stall_s`) ends the session; the thread waits with exponential
backoff (1, 2, 4 … s, capped, with jitter) and tries again until `stop()`. Every blocking
FFmpeg call is bounded by a timeout and interrupted at once by `stop()` or the stall
watchdog (see av_interrupt.py). Before FFmpeg opens the camera, a pre-flight in Python asks
it OPTIONS and DESCRIBE and refuses a redirect (rtsp_preflight.py): FFmpeg would follow it
to any host with the password. No message leaves this module with the password in it.
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Callable
from dataclasses import replace
from urllib.parse import quote, unquote, urlsplit

import av
import av.logging
import numpy as np
from av.container import InputContainer

from pigweight.background import BackgroundThread
from pigweight.domain import Frame
from pigweight.media.av_interrupt import InterruptScope
from pigweight.media.rtsp_preflight import REFUSALS, RtspAnswer, preflight
from pigweight.media.source import FrameSlot, SourceState, SourceStatus, StatusKeeping
from pigweight.redact import redact_text, redact_url, secret_forms, url_password

logger = logging.getLogger(__name__)

PROTOCOLS = "rtsp,rtsps,rtp,tcp,udp,tls"
SCHEMES = ("rtsp://", "rtsps://")
_URL_UNSAFE_IN_PASSWORD = set("@/:?#[] ")


def validate_rtsp_url(url: str) -> None:
    """Refuse anything but a plain rtsp(s):// URL; the message never shows the password."""
    shown = redact_url(url)
    if not url.lower().startswith(SCHEMES):
        raise ValueError(f"{shown!r}: a camera URL must start with rtsp:// or rtsps://")
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise ValueError(f"{shown!r}: a camera URL must not contain spaces or line breaks")
    host = url.split("://", 1)[1].rsplit("@", 1)[-1]
    if not host or host.startswith(("-", "/", ":")):
        raise ValueError(f"{shown!r}: the camera URL has no host name")


def encode_credentials(url: str) -> str:
    """The URL with its password percent-encoded, as FFmpeg needs it.

    A password typed raw (`rtsp://admin:p@ss:w/rd@cam/`) is encoded whole; one that is
    already encoded (`p%40ss`) is left as it is. FFmpeg decodes it before sending it.
    """
    scheme, rest = url.split("://", 1)
    if "@" not in rest:
        return url
    userinfo, host_part = rest.rsplit("@", 1)
    user, _, password = userinfo.partition(":")
    if not password or not (_URL_UNSAFE_IN_PASSWORD & set(password)):
        return url
    encoded = quote(password, safe="")
    return f"{scheme}://{quote(unquote(user), safe='')}:{encoded}@{host_part}"


class SessionEnded(Exception):
    """A streaming session is over; the message says why, for a person, without secrets."""

    def __init__(self, message: str, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent  # the user must fix something (credentials, path)


class Backoff:
    """Waits between reconnects: 1, 2, 4 … s up to a cap, reset by a long healthy session.

    Jitter (up to 20 %) only shortens a wait, so a camera that comes back is retried
    within `cap_s`, and cameras that dropped together do not reconnect in lockstep.
    """

    def __init__(
        self, initial_s: float, cap_s: float, healthy_reset_s: float, rng: random.Random
    ) -> None:
        self.initial_s = initial_s
        self.cap_s = cap_s
        self.healthy_reset_s = healthy_reset_s
        self._rng = rng
        self.failures = 0

    def next_delay_s(self, session_s: float) -> float:
        """The wait after a session that lasted `session_s` seconds."""
        if session_s >= self.healthy_reset_s:
            self.failures = 0
        base_s = min(self.cap_s, self.initial_s * 2.0 ** min(self.failures, 30))
        self.failures += 1
        return base_s * self._rng.uniform(0.8, 1.0)


class DtsGuard:
    """Drops packets whose decoding timestamp does not move forward (camera clock jumps)."""

    def __init__(self) -> None:
        self.last_dts: int | None = None
        self.dropped = 0

    def accept(self, dts: int | None) -> bool:
        if dts is None:
            return True  # the decoder copes with a missing DTS; a backwards one breaks it
        if self.last_dts is not None and dts <= self.last_dts:
            self.dropped += 1
            return False
        self.last_dts = dts
        return True


class RtspSource(StatusKeeping):
    """A FrameSource for `rtsp://` and `rtsps://` cameras."""

    def __init__(
        self,
        url: str,
        source_id: str,
        open_timeout_s: float = 10.0,
        read_timeout_s: float = 10.0,
        stall_s: float = 15.0,
        backoff_initial_s: float = 1.0,
        backoff_max_s: float = 30.0,
        healthy_reset_s: float = 300.0,
        max_fps: float = 0.0,
        host_check: Callable[[str], None] | None = None,
    ) -> None:
        validate_rtsp_url(url)
        super().__init__()
        # Called with the host before every connection: ValueError refuses it (state error),
        # OSError (a name that does not resolve) ends the session like a network error.
        self._host_check = host_check
        self.source_id = source_id
        self.display_url = redact_url(url)
        self._ffmpeg_url = encode_credentials(url)
        password = url_password(url)
        self._secrets = secret_forms(password) if password else ()
        self.open_timeout_s = open_timeout_s
        self.read_timeout_s = read_timeout_s
        self.stall_s = stall_s
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self.healthy_reset_s = healthy_reset_s
        self._slot = FrameSlot()
        self._worker = BackgroundThread(
            f"rtsp-{self.source_id}", self._run, self.open_timeout_s + self.read_timeout_s
        )
        self._stop = self._worker.stopping
        self._deadline = math.inf  # monotonic time by which the next frame must arrive
        self._index = 0
        # Frames faster than max_fps are decoded but not converted to RGB (0: all are).
        self._min_interval_s = 1.0 / max_fps if max_fps > 0 else 0.0
        self._published_at = -math.inf
        self._rng = random.Random()

    # -- FrameSource -------------------------------------------------------------------

    def start(self) -> None:
        """Start decoding; a decode thread still ending after a stop that timed out is
        waited for (its open and read timeouts), then `StillStopping`."""
        self._worker.start(lambda: self._set_status(SourceStatus(state=SourceState.STARTING)))

    def stop(self, timeout_s: float = 5.0) -> None:
        """Ask the decode thread to end and join it; FFmpeg calls are interrupted at once."""
        self._worker.stop(timeout_s)
        self._set(state=SourceState.STOPPED, streaming_since=None)

    def latest(self, after_index: int = -1, timeout_s: float = 1.0) -> Frame | None:
        return self._slot.get(after_index, timeout_s)

    # -- decode thread -------------------------------------------------------------------

    def _should_interrupt(self) -> bool:
        """Polled by FFmpeg (via PyAV's clock) while it waits on the network."""
        return self._stop.is_set() or time.monotonic() > self._deadline

    def _run(self) -> None:
        backoff = Backoff(
            self.backoff_initial_s, self.backoff_max_s, self.healthy_reset_s, self._rng
        )
        with InterruptScope(self._should_interrupt), av.logging.Capture(local=True) as logs:
            while not self._stop.is_set():
                self._set(state=self._connecting_state())
                started = time.monotonic()
                try:
                    self._session(logs)
                    raise SessionEnded("the camera ended the stream")
                except Exception as exc:  # the worker's top loop must survive
                    ended = exc if isinstance(exc, SessionEnded) else self._unexpected(exc)
                    if self._stop.is_set():
                        break
                    self._relay_ffmpeg_logs(logs)
                    self._on_session_end(ended, backoff.next_delay_s(time.monotonic() - started))
        logger.info("camera %s: decode thread stopped", self.source_id)

    def _connecting_state(self) -> SourceState:
        state = self.status.state
        if state in (SourceState.RECONNECTING, SourceState.ERROR):
            return state  # stays visible until frames flow again
        return SourceState.CONNECTING

    def _on_session_end(self, ended: SessionEnded, delay_s: float) -> None:
        message = redact_text(str(ended), self._secrets)
        state = SourceState.ERROR if ended.permanent else SourceState.RECONNECTING
        logger.warning(
            "camera %s (%s): %s; retrying in %.1f s",
            self.source_id,
            self.display_url,
            message,
            delay_s,
        )
        with self._lock:
            self._status = replace(
                self._status,
                state=state,
                last_error=message,
                reconnects=self._status.reconnects + 1,
                streaming_since=None,
            )
        self._stop.wait(delay_s)

    def _session(self, logs: list[tuple[int, str, str]]) -> None:
        """Open the camera and decode until something ends the session (raises)."""
        self._check_host()
        started = time.monotonic()
        self._deadline = started + max(self.open_timeout_s, self.stall_s)
        try:
            # FFmpeg follows redirects to any host with the password: ask first (see there).
            with preflight(
                self._ffmpeg_url, self.open_timeout_s, self.read_timeout_s, self._should_interrupt
            ):
                container = self._open()
        except RtspAnswer as answer:
            message = answer.message(urlsplit(self._ffmpeg_url).scheme.lower())
            raise SessionEnded(message, answer.permanent) from None
        except (av.FFmpegError, OSError) as exc:
            if time.monotonic() - started >= self.open_timeout_s:
                raise SessionEnded(
                    f"no answer from the camera within {self.open_timeout_s:.0f} s: "
                    "check that the address and port are those of its RTSP service"
                ) from None
            raise self._ended_by(exc, opening=True) from None
        self._relay_ffmpeg_logs(logs)
        try:
            self._decode(container, logs)
        except (av.FFmpegError, OSError) as exc:
            raise self._ended_by(exc, opening=False) from None
        finally:
            container.close()

    def _check_host(self) -> None:
        if self._host_check is None:
            return
        try:
            self._host_check(urlsplit(self._ffmpeg_url).hostname or "")
        except ValueError as exc:
            raise SessionEnded(str(exc), permanent=True) from None
        except OSError as exc:
            raise SessionEnded(str(exc)) from None

    def _open(self) -> InputContainer:
        logger.info("camera %s: opening %s", self.source_id, self.display_url)
        options = {
            "rtsp_transport": "tcp",
            "timeout": str(int(self.read_timeout_s * 1_000_000)),  # socket I/O, µs
            "protocol_whitelist": PROTOCOLS,
            "allowed_media_types": "video",
            # Stream parameters come in the SDP: 1 s of probing is plenty and makes a
            # reconnect ~2 s faster than FFmpeg's default of 5 s.
            "analyzeduration": "1000000",
        }
        return av.open(
            self._ffmpeg_url,
            format="rtsp",
            options=options,
            timeout=(self.open_timeout_s, self.read_timeout_s),
        )

    def _decode(self, container: InputContainer, logs: list[tuple[int, str, str]]) -> None:
        if not container.streams.video:
            raise SessionEnded("the camera sent no video stream", permanent=True)
        stream = container.streams.video[0]
        guard = DtsGuard()
        for packet in container.demux(stream):
            if self._stop.is_set():
                return
            # Checked before decoding: the read that the watchdog interrupts may still
            # hand over one last packet, and its frame must not restart the countdown.
            if time.monotonic() > self._deadline:
                raise SessionEnded(f"no frame from the camera for {self.stall_s:.0f} s")
            if not guard.accept(packet.dts):
                logger.debug(
                    "camera %s: %d packets with backwards DTS dropped",
                    self.source_id,
                    guard.dropped,
                )
                continue
            self._decode_packet(packet)
            if logs:
                self._relay_ffmpeg_logs(logs)

    def _decode_packet(self, packet: av.Packet) -> None:
        try:
            frames = packet.decode()
        except av.error.InvalidDataError as exc:
            # A damaged packet costs a frame or two, not the session; the watchdog ends
            # the session if nothing decodes any more.
            logger.debug("camera %s: undecodable packet: %s", self.source_id, exc.strerror)
            return
        for frame in frames:
            now = time.monotonic()
            self._deadline = now + self.stall_s
            if now - self._published_at < self._min_interval_s:
                self._set_frames(frame.width, frame.height)
                continue  # decoded (H.264 needs every frame) but not worth an RGB copy
            self._published_at = now
            image = np.asarray(frame.to_ndarray(format="rgb24"), dtype=np.uint8)
            self._slot.put(
                Frame(image, ts=time.time(), index=self._index, source_id=self.source_id)
            )
            self._index += 1
            self._set_frames(frame.width, frame.height)

    def _set_frames(self, width: int, height: int) -> None:
        with self._lock:
            status = self._status
            if status.state is not SourceState.STREAMING:
                logger.info("camera %s: streaming %dx%d", self.source_id, width, height)
                status = replace(
                    status,
                    state=SourceState.STREAMING,
                    streaming_since=time.time(),
                    width=width,
                    height=height,
                )
            self._status = replace(status, frames=status.frames + 1)

    def _ended_by(self, exc: Exception, opening: bool) -> SessionEnded:
        """Turn an FFmpeg or socket error into a message that says what to check."""
        if self._stop.is_set():
            return SessionEnded("stopped")
        if time.monotonic() > self._deadline:
            what = "answer" if opening else "frame"
            return SessionEnded(f"no {what} from the camera for {self.stall_s:.0f} s")
        if isinstance(exc, av.error.HTTPUnauthorizedError):
            return SessionEnded(REFUSALS[401], permanent=True)
        if isinstance(exc, av.error.HTTPForbiddenError):
            return SessionEnded(REFUSALS[403], permanent=True)
        if isinstance(exc, av.error.HTTPNotFoundError):
            return SessionEnded(REFUSALS[404], permanent=True)
        if isinstance(exc, ConnectionRefusedError):
            return SessionEnded("connection refused: is the camera on and the port right?")
        reason = redact_text(
            str(getattr(exc, "strerror", None) or type(exc).__name__), self._secrets
        )
        if isinstance(exc, (TimeoutError, av.error.ExitError)):
            return SessionEnded(f"no answer within {self.read_timeout_s:.0f} s ({reason})")
        if opening:
            return SessionEnded(
                f"cannot open the stream ({reason}): check the host name, port and network"
            )
        return SessionEnded(f"the stream broke ({reason})")

    def _unexpected(self, exc: Exception) -> SessionEnded:
        # No traceback: its text may quote the URL, and this message is redacted.
        message = redact_text(f"{type(exc).__name__}: {exc}", self._secrets)
        logger.error("camera %s: unexpected error: %s", self.source_id, message)
        return SessionEnded(f"unexpected error: {message}")

    def _relay_ffmpeg_logs(self, logs: list[tuple[int, str, str]]) -> None:
        """FFmpeg's own messages (when av.logging is on) quote URLs: redact, then log."""
        pending = logs[:]
        del logs[: len(pending)]
        for level, name, message in pending:
            ffmpeg_logger = logging.getLogger(f"libav.{name}" if name else "libav.generic")
            py_level = av.logging.adapt_level(level)
            if ffmpeg_logger.isEnabledFor(py_level):
                text = redact_text(message.strip(), self._secrets)
                ffmpeg_logger.log(py_level, "camera %s: %s", self.source_id, text)

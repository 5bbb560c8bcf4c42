"""A simulated scale indicator: weighing cycles served over TCP or a pseudo-terminal.

`WeighingCycle` says what the platform weighs at time t (empty, loading with motion,
stable total, unloading), deterministic per seed, so a demo video can be weighed in step
with it. `ScaleSimulator` encodes that weight in one indicator protocol and serves it from
one thread: continuous protocols send `rate_hz` frames a second to every client, MT-SICS
answers `S`, `SI` and `SIR` as a Mettler Toledo terminal does.
"""

from __future__ import annotations

import contextlib
import math
import os
import random
import selectors
import socket
import threading
import time
import tty
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from pigweight.weighing.scale_protocols import PROTOCOLS

PHASES = ("empty", "loading", "stable", "unloading")


@dataclass(frozen=True, slots=True)
class SimSample:
    """What the simulated platform weighs at `t_s` seconds after the simulator started."""

    t_s: float
    phase: str  # one of PHASES
    weight_kg: float
    stable: bool


@dataclass(frozen=True, slots=True)
class WeighingCycle:
    """One weighing, repeated: empty, loading (motion), stable total, unloading (motion)."""

    empty_s: float = 5.0
    loading_s: float = 6.0
    stable_s: float = 8.0
    unloading_s: float = 4.0
    total_kg: float = 412.5
    noise_kg: float = 0.1  # jitter while the indicator says stable (±, uniform)
    motion_kg: float = 20.0  # swing while animals step on and off
    resolution_kg: float = 0.1  # the indicator's division
    seed: int = 0

    def __post_init__(self) -> None:
        durations = (self.empty_s, self.loading_s, self.stable_s, self.unloading_s)
        if min(durations) <= 0:
            raise ValueError("every phase of the weighing cycle must last more than 0 s")
        if not 0 < self.total_kg < 100_000:
            raise ValueError("the total must be between 0 and 100000 kg")
        if self.noise_kg < 0 or self.motion_kg < 0 or self.resolution_kg <= 0:
            raise ValueError("noise and motion must be >= 0 kg, the resolution > 0 kg")

    @property
    def period_s(self) -> float:
        return self.empty_s + self.loading_s + self.stable_s + self.unloading_s

    def sample(self, t_s: float) -> SimSample:
        """The weight at `t_s` (same seed, same t: same weight)."""
        u = t_s % self.period_s
        # A fresh generator per 50 ms step keeps any t reproducible without replaying from 0.
        rng = random.Random(f"{self.seed}/{math.floor(t_s * 20)}")
        jitter = rng.uniform(-self.noise_kg, self.noise_kg)
        if u < self.empty_s:
            return self._sample(t_s, "empty", jitter, True)
        u -= self.empty_s
        if u < self.loading_s:
            swing = self.motion_kg * math.sin(u * 7.0) * rng.uniform(0.5, 1.0)
            return self._sample(t_s, "loading", self.total_kg * u / self.loading_s + swing, False)
        u -= self.loading_s
        if u < self.stable_s:
            return self._sample(t_s, "stable", self.total_kg + jitter, True)
        u -= self.stable_s
        swing = self.motion_kg * math.sin(u * 7.0) * rng.uniform(0.5, 1.0)
        left_kg = self.total_kg * (1.0 - u / self.unloading_s)
        return self._sample(t_s, "unloading", left_kg + swing, False)

    def _sample(self, t_s: float, phase: str, weight_kg: float, stable: bool) -> SimSample:
        steps = round(weight_kg / self.resolution_kg)
        return SimSample(t_s, phase, round(steps * self.resolution_kg, 4), stable)


def encode_frame(protocol: str, weight_kg: float, stable: bool) -> bytes:
    """One frame as a real indicator set to kg and 0.1 kg would send it."""
    if protocol == "mtsics":
        return f"S {'S' if stable else 'D'} {weight_kg:10.2f} kg\r\n".encode()
    if protocol == "ascii":
        return f"{'ST' if stable else 'US'},GS,{weight_kg:+07.1f}kg\r\n".encode()
    if protocol == "trutest":
        return f"[{'' if stable else 'U'}{weight_kg:.1f}]\r\n".encode()
    if protocol == "toledo":
        return toledo_frame(weight_kg, stable)
    raise ValueError(f"unknown protocol {protocol!r}; use one of {', '.join(PROTOCOLS)}")


def toledo_frame(weight_kg: float, stable: bool, tare_kg: float = 0.0) -> bytes:
    """A standard continuous frame: XXXXX.X kg, gross, with tare field and checksum."""
    tenths = round(abs(weight_kg) * 10)
    swa = 0x20 | 0x08 | 0x03  # always-1 bit, count by 1, decimal point XXXXX.X
    swb = 0x20 | 0x10  # always-1 bit, kg
    swb |= 0x02 if weight_kg < 0 else 0
    swb |= 0x00 if stable else 0x08
    swb |= 0x04 if tenths > 999_999 else 0  # out of range
    body = bytes([0x02, swa, swb, 0x20])
    body += f"{min(tenths, 999_999):06d}{round(tare_kg * 10):06d}\r".encode()
    return body + bytes([-sum(body) & 0x7F])


@dataclass
class _Peer:
    """One client: a TCP connection, or the master side of the pseudo-terminal."""

    send: Callable[[bytes], int]
    recv: Callable[[], bytes]
    close: Callable[[], None]
    streaming: bool  # continuous protocols always; MT-SICS after SIR
    buffer: bytes = field(default=b"")


class ScaleSimulator:
    """Serves `cycle` in `protocol` on TCP (`serve_tcp`) or a pseudo-terminal (`serve_pty`)
    from one thread; `stop()` joins it and closes every socket and descriptor."""

    def __init__(
        self,
        protocol: str,
        cycle: WeighingCycle | FollowVideo | None = None,
        rate_hz: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if protocol not in PROTOCOLS:
            raise ValueError(f"unknown protocol {protocol!r}; use one of {', '.join(PROTOCOLS)}")
        if not 0 < rate_hz <= 100:
            raise ValueError("the rate must be between 0 and 100 frames a second")
        self.protocol = protocol
        self.cycle = cycle or WeighingCycle()
        self.rate_hz = rate_hz
        self._clock = clock
        self._started_at = 0.0
        self._selector: selectors.BaseSelector | None = None
        self._closers: list[Callable[[], None]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def elapsed_s(self) -> float:
        """Seconds since serving began: the `t` of the weight being sent now."""
        return self._clock() - self._started_at

    def sample_now(self) -> SimSample:
        return self.cycle.sample(self.elapsed_s())

    # -- serving -------------------------------------------------------------------------

    def serve_tcp(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Listen on host:port (0: any free port) as a converter does; returns the port."""
        listener = socket.create_server((host, port))  # SO_REUSEADDR: restarts at once
        listener.setblocking(False)
        selector = self._open_selector()
        selector.register(listener, selectors.EVENT_READ, None)
        self._closers.append(listener.close)
        self._start()
        return int(listener.getsockname()[1])

    def serve_pty(self) -> str:
        """Serve on a new pseudo-terminal; returns the path a reader opens (/dev/pts/N)."""
        master, slave = os.openpty()
        tty.setraw(slave)  # no echo, no CR/LF translation: a plain serial line
        os.set_blocking(master, False)
        # Holding the slave open keeps the line alive while no reader has it open.
        self._closers += [lambda: os.close(slave), lambda: os.close(master)]
        peer = _Peer(
            send=lambda data: os.write(master, data),
            recv=lambda: os.read(master, 1024),
            close=lambda: None,
            streaming=self.protocol != "mtsics",
        )
        self._open_selector().register(master, selectors.EVENT_READ, peer)
        self._start()
        return os.ttyname(slave)

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop serving: join the thread, close clients, the listener and the terminal."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None
        if self._selector is not None:
            for key in list(self._selector.get_map().values()):
                if isinstance(key.data, _Peer):
                    key.data.close()
            self._selector.close()
            self._selector = None
        for close in reversed(self._closers):
            with contextlib.suppress(OSError):
                close()
        self._closers.clear()

    def __enter__(self) -> ScaleSimulator:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _open_selector(self) -> selectors.BaseSelector:
        if self._selector is not None:
            raise RuntimeError("a simulator serves one endpoint; make another for a second")
        self._selector = selectors.DefaultSelector()
        return self._selector

    def _start(self) -> None:
        self._stop.clear()
        self._started_at = self._clock()
        self._thread = threading.Thread(
            target=self._run, name=f"scale-sim-{self.protocol}", daemon=True
        )
        self._thread.start()

    # -- the serving thread ----------------------------------------------------------------

    def _run(self) -> None:
        selector = self._selector
        assert selector is not None
        period_s = 1.0 / self.rate_hz
        next_at = self._clock()
        while not self._stop.is_set():
            for key, _ in selector.select(max(0.0, next_at - self._clock())):
                if isinstance(key.data, _Peer):
                    self._on_readable(selector, key.fileobj, key.data)
                else:
                    self._accept(selector, key.fileobj)  # type: ignore[arg-type]
            now = self._clock()
            if now >= next_at:
                sample = self.cycle.sample(now - self._started_at)
                frame = encode_frame(self.protocol, sample.weight_kg, sample.stable)
                for key in list(selector.get_map().values()):
                    if isinstance(key.data, _Peer) and key.data.streaming:
                        self._send(selector, key.fileobj, key.data, frame)
                next_at = max(next_at + period_s, now)  # never burst to catch up

    def _accept(self, selector: selectors.BaseSelector, listener: socket.socket) -> None:
        try:
            conn, _ = listener.accept()
        except BlockingIOError:
            return
        conn.setblocking(False)
        peer = _Peer(conn.send, lambda: conn.recv(1024), conn.close, self.protocol != "mtsics")
        selector.register(conn, selectors.EVENT_READ, peer)

    def _on_readable(self, selector: selectors.BaseSelector, fileobj: object, peer: _Peer) -> None:
        try:
            data = peer.recv()
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._drop(selector, fileobj, peer)
            return
        if self.protocol != "mtsics":
            return  # continuous indicators ignore what they are sent
        peer.buffer = (peer.buffer + data)[-256:]
        while b"\n" in peer.buffer:
            line, _, peer.buffer = peer.buffer.partition(b"\n")
            reply = self._sics_reply(line.strip().decode("ascii", "replace").upper(), peer)
            if reply:
                self._send(selector, fileobj, peer, reply)

    def _sics_reply(self, command: str, peer: _Peer) -> bytes:
        sample = self.sample_now()
        if command in ("SI", "SIR"):
            peer.streaming = command == "SIR"
            return encode_frame("mtsics", sample.weight_kg, sample.stable)
        if command == "S":
            peer.streaming = False
            if not sample.stable:
                return b"S I\r\n"  # a real terminal waits for stability; busy is its timeout
            return encode_frame("mtsics", sample.weight_kg, True)
        if command == "@":
            peer.streaming = False
            return b'I4 A "0123456789"\r\n'
        return b"ES\r\n" if command else b""

    def _send(
        self, selector: selectors.BaseSelector, fileobj: object, peer: _Peer, frame: bytes
    ) -> None:
        try:
            peer.send(frame)
        except BlockingIOError:
            pass  # a client that does not read loses frames, as on a real line
        except OSError:
            self._drop(selector, fileobj, peer)

    def _drop(self, selector: selectors.BaseSelector, fileobj: object, peer: _Peer) -> None:
        with contextlib.suppress(KeyError, ValueError):
            selector.unregister(fileobj)  # type: ignore[arg-type]
        peer.close()


class FollowVideo:
    """A weighing cycle in step with a video being played: the platform weighs the animals
    of the frame on screen (the video's ground truth) and swings while their number changes.

    For the demo camera: `counts()` gives the clip's per-frame counts (None until it is
    rendered), `frame_index()` the number of the frame the camera shows now (it counts on
    across loops).
    """

    def __init__(
        self,
        counts: Callable[[], Sequence[int] | None],
        frame_index: Callable[[], int | None],
        fps: float,
        kg_per_head: float = 12.0,
        settle_s: float = 0.8,
    ) -> None:
        self.counts = counts
        self.frame_index = frame_index
        self.fps = fps
        self.kg_per_head = kg_per_head
        self.settle_frames = max(1, round(settle_s * fps))

    def sample(self, t_s: float) -> SimSample:
        counts = self.counts()
        index = self.frame_index()
        if not counts or index is None:
            return SimSample(t_s, "empty", 0.0, True)
        i = index % len(counts)
        recent = {counts[(i - k) % len(counts)] for k in range(self.settle_frames)}
        stable = len(recent) == 1
        # Animals stepping on and off rock the platform: a swing of a few kg either way.
        swing = 0.0 if stable else 7.0 * ((i % 3) - 1)
        weight = max(0.0, counts[i] * self.kg_per_head + swing)
        return SimSample(t_s, "stable" if stable else "loading", round(weight, 1), stable)

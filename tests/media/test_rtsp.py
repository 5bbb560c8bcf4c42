"""RtspSource against a real GStreamer RTSP server on 127.0.0.1: streams, survives, never hangs."""

from __future__ import annotations

import functools
import gc
import os
import random
import select
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import av.logging
import numpy as np
import pytest

from pigweight.media.rtsp import (
    Backoff,
    DtsGuard,
    RtspSource,
    encode_credentials,
    validate_rtsp_url,
)
from pigweight.media.source import FileSource, SourceState, open_source
from pigweight.redact import redact_text, secret_forms
from tests.conftest import need_system

SERVER_SCRIPT = Path(__file__).resolve().parents[1] / "rtsp_server.py"
SYSTEM_PYTHON = "/usr/bin/python3"  # Debian's, with python3-gi: not the venv
PASSWORD = "p@ss:w/rd%21"
WIDTH, HEIGHT = 320, 240


@functools.cache
def gst_rtsp_available() -> bool:
    probe = (
        "import gi; gi.require_version('GstRtspServer', '1.0'); "
        "from gi.repository import GstRtspServer"
    )
    try:
        done = subprocess.run([SYSTEM_PYTHON, "-c", probe], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RtspServers:
    """Starts test servers as child processes and reaps every one of them."""

    def __init__(self) -> None:
        self.processes: list[subprocess.Popen[str]] = []

    def start(self, port: int, user: str = "", password: str = "") -> subprocess.Popen[str]:
        args = [SYSTEM_PYTHON, str(SERVER_SCRIPT), "--port", str(port)]
        args += ["--width", str(WIDTH), "--height", str(HEIGHT), "--fps", "10"]
        if user:
            args += ["--user", user, "--password", password]
        process = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
        self.processes.append(process)
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], 20)
        line = process.stdout.readline().strip() if ready else ""
        assert line == "READY", f"the RTSP test server did not start (said {line!r})"
        return process

    def close(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
            if process.stdout is not None:
                process.stdout.close()


@pytest.fixture
def servers() -> Iterator[RtspServers]:
    need_system(gst_rtsp_available(), "GStreamer RTSP server (gir1.2-gst-rtsp-server-1.0)")
    manager = RtspServers()
    yield manager
    manager.close()


@pytest.fixture
def sources() -> Iterator[list[RtspSource]]:
    """Sources a test starts; stopped at teardown even when the test fails."""
    started: list[RtspSource] = []
    yield started
    for source in started:
        source.stop()


def wait_for(condition: Callable[[], bool], timeout_s: float) -> float | None:
    """Seconds until `condition` held, or None if it never did within timeout_s."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        if condition():
            return time.monotonic() - started
        time.sleep(0.05)
    return None


def rtsp_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("rtsp-")]


# -- without a server ------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "",
        "http://cam/stream",
        "file:///etc/passwd",
        "-rtsp_transport udp",
        "rtsp://cam/live\n-i x",
        "rtsp://cam/live stream",
        "rtsp://",
        "rtsp://-evil/",
    ],
)
def test_refuses_what_is_not_a_camera_url(url: str) -> None:
    with pytest.raises(ValueError, match="camera URL"):
        validate_rtsp_url(url)


def test_accepts_camera_urls_and_encodes_raw_passwords() -> None:
    validate_rtsp_url("rtsps://admin:secret@10.0.0.5:322/stream1")
    raw = f"rtsp://admin:{PASSWORD}@cam:554/live"
    assert encode_credentials(raw) == "rtsp://admin:p%40ss%3Aw%2Frd%2521@cam:554/live"
    encoded = "rtsp://admin:p%40ss@cam/live"
    assert encode_credentials(encoded) == encoded


def test_redaction_removes_every_spelling_of_the_password() -> None:
    forms = secret_forms(quote(PASSWORD, safe=""))
    text = f"open 'rtsp://admin:{quote(PASSWORD, safe='')}@cam/x' failed; pw={PASSWORD}"
    text += f" again={quote(quote(PASSWORD, safe=''), safe='').lower()}"
    cleaned = redact_text(text, forms)
    assert "failed" in cleaned
    for form in forms:
        assert form.lower() not in cleaned.lower()


def test_backoff_doubles_up_to_the_cap_and_resets_after_a_healthy_session() -> None:
    backoff = Backoff(initial_s=1.0, cap_s=30.0, healthy_reset_s=300.0, rng=random.Random(3))
    delays = [backoff.next_delay_s(session_s=2.0) for _ in range(8)]
    delays.append(backoff.next_delay_s(session_s=301.0))  # 5 minutes of frames, then a drop
    for delay, base in zip(delays, [1, 2, 4, 8, 16, 30, 30, 30, 1], strict=True):
        assert 0.8 * base <= delay <= base
    assert len(set(delays)) == len(delays)  # jittered: cameras do not retry in lockstep


def test_packets_whose_dts_runs_backwards_are_dropped() -> None:
    guard = DtsGuard()
    dts = [0, 3000, 6000, 3000, 6000, None, 9000, 8999, 12000]
    kept = [d for d in dts if guard.accept(d)]
    assert kept == [0, 3000, 6000, None, 9000, 12000]
    assert guard.dropped == 3


def test_open_source_picks_by_url_or_file(tmp_path: Path) -> None:
    video = tmp_path / "pen.mp4"
    video.write_bytes(b"not decoded here")
    assert isinstance(open_source(str(video), "replay"), FileSource)
    assert isinstance(open_source("rtsp://cam/live", "cam"), RtspSource)
    with pytest.raises(ValueError, match=r"rtsp:// or rtsps://") as refused:
        open_source(f"http://admin:{PASSWORD}@cam/live", "cam")
    assert PASSWORD not in str(refused.value)


# -- against the real server -------------------------------------------------------------


@pytest.mark.rtsp
def test_camera_streams_frames_of_the_right_size(
    servers: RtspServers, sources: list[RtspSource]
) -> None:
    port = free_port()
    servers.start(port)
    source = RtspSource(f"rtsp://127.0.0.1:{port}/cam", "cam1")
    sources.append(source)
    source.start()
    first = source.latest(timeout_s=15)
    assert first is not None, source.status
    assert first.image.shape == (HEIGHT, WIDTH, 3) and first.image.dtype == np.uint8
    later = source.latest(after_index=first.index, timeout_s=5)
    assert later is not None and later.index > first.index
    status = source.status
    assert status.state is SourceState.STREAMING
    assert (status.width, status.height) == (WIDTH, HEIGHT)
    assert status.streaming_since is not None and status.frames >= 2


@pytest.mark.rtsp
def test_max_fps_skips_the_rgb_copy_of_frames_nobody_wants(
    servers: RtspServers, sources: list[RtspSource]
) -> None:
    port = free_port()
    servers.start(port)  # 10 fps
    source = RtspSource(f"rtsp://127.0.0.1:{port}/cam", "slow", max_fps=2)
    sources.append(source)
    source.start()
    assert source.latest(timeout_s=15) is not None, source.status
    time.sleep(3)
    newest = source.latest(timeout_s=1)
    assert newest is not None
    decoded = source.status.frames
    assert decoded >= 20  # every frame is still decoded
    assert newest.index + 1 <= 2 * 3 + 3  # about 2 a second reach the slot


def children() -> set[int]:
    """Process ids whose parent is this process."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue  # ended meanwhile
        if ppid == os.getpid():
            found.add(int(stat.parent.name))
    return found


def process_resources(harness: list[subprocess.Popen[str]]) -> tuple[int, int, set[int]]:
    """Threads, open file descriptors and child processes (the test's RTSP servers aside).

    The least of a few readings over a second: FFmpeg starts short-lived threads of its own
    while it streams, and a leak is what stays.
    """
    gc.collect()
    ours = {p.pid for p in harness}
    readings = []
    for _ in range(5):
        threads, fds = len(os.listdir("/proc/self/task")), len(os.listdir("/proc/self/fd"))
        readings.append((threads, fds, len(children() - ours)))
        time.sleep(0.2)
    return min(r[0] for r in readings), min(r[1] for r in readings), children() - ours


@pytest.mark.rtsp
def test_camera_that_dies_is_noticed_and_comes_back(
    servers: RtspServers, sources: list[RtspSource]
) -> None:
    """Power cut and reboot, three times (bench/faults.py does 50): each drop is seen within
    15 s, frames flow within 35 s of the return, and nothing is left behind."""
    port = free_port()
    camera = servers.start(port)
    source = RtspSource(f"rtsp://127.0.0.1:{port}/cam", "cam2")
    sources.append(source)
    source.start()
    assert source.latest(timeout_s=15) is not None, source.status
    before = process_resources(servers.processes)
    timings = []
    for cycle in range(3):
        camera.kill()  # a power cut: no TEARDOWN, no FIN handshake from the encoder
        camera.wait()
        assert camera.stdout is not None
        camera.stdout.close()  # the harness's pipe to it: not the source's file
        noticed_s = wait_for(lambda: source.status.state is SourceState.RECONNECTING, 15)
        assert noticed_s is not None, (cycle, source.status)
        time.sleep(0.5)  # the camera reboots
        camera = servers.start(port)
        latest = source.latest(timeout_s=0)
        after = latest.index if latest is not None else -1
        back_started = time.monotonic()
        assert source.latest(after_index=after, timeout_s=35) is not None, (cycle, source.status)
        timings.append((round(noticed_s, 2), round(time.monotonic() - back_started, 2)))
        assert source.status.state is SourceState.STREAMING
    assert source.status.reconnects >= 3
    threads, fds, spawned = process_resources(servers.processes)
    assert (threads, fds, spawned) == before, f"{before} -> {(threads, fds, spawned)}"
    print(f"\n(reconnecting noticed after s, frames again after s) per cycle: {timings}")


@pytest.mark.rtsp
def test_frozen_camera_trips_the_stall_watchdog_and_recovers(
    servers: RtspServers, sources: list[RtspSource]
) -> None:
    port = free_port()
    camera = servers.start(port)
    # FFmpeg's own timeouts are far away: only the watchdog can end the blocked read.
    url = f"rtsp://127.0.0.1:{port}/cam"
    source = RtspSource(url, "frozen", open_timeout_s=60, read_timeout_s=60, stall_s=3)
    sources.append(source)
    source.start()
    assert source.latest(timeout_s=15) is not None, source.status

    camera.send_signal(signal.SIGSTOP)  # a dead Wi-Fi bridge: no data, no FIN, no RST
    try:
        noticed_s = wait_for(lambda: source.status.state is SourceState.RECONNECTING, 15)
        assert noticed_s is not None, source.status
        assert "no frame" in (source.status.last_error or "")
    finally:
        camera.send_signal(signal.SIGCONT)
    latest = source.latest(timeout_s=0)
    after = latest.index if latest is not None else -1
    assert source.latest(after_index=after, timeout_s=35) is not None, source.status
    print(f"\nfrozen camera: watchdog (stall_s=3) fired after {noticed_s:.2f} s")


@pytest.mark.rtsp
def test_server_that_never_answers_fails_in_time_and_stops_cleanly(
    servers: RtspServers, sources: list[RtspSource]
) -> None:
    threads_before = set(threading.enumerate())
    with socket.socket() as silent:  # accepts TCP (kernel backlog), never says a word
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"rtsp://127.0.0.1:{silent.getsockname()[1]}/cam"
        source = RtspSource(url, "silent")
        sources.append(source)
        source.start()
        failed_s = wait_for(
            lambda: source.status.state in (SourceState.ERROR, SourceState.RECONNECTING), 15
        )
        assert failed_s is not None, source.status
        assert "no answer" in (source.status.last_error or "")

        connecting = RtspSource(url, "silent-stop")
        connecting.start()
        time.sleep(1.0)  # now blocked inside FFmpeg, waiting for the RTSP answer
        stop_started = time.monotonic()
        connecting.stop()
        stop_s = time.monotonic() - stop_started
        source.stop()
    assert stop_s < 2.0
    assert rtsp_threads() == []
    assert not set(threading.enumerate()) - threads_before
    print(f"\nsilent server: failure reported after {failed_s:.2f} s; stop() took {stop_s:.3f} s")


@pytest.mark.rtsp
@pytest.mark.parametrize(
    ("path", "password", "expected"),
    [("/nope", PASSWORD, "404"), ("/cam", "wrong", "401")],
)
def test_wrong_path_or_password_gives_a_readable_error(
    servers: RtspServers,
    sources: list[RtspSource],
    path: str,
    password: str,
    expected: str,
) -> None:
    port = free_port()
    servers.start(port, user="admin", password=PASSWORD)
    source = RtspSource(f"rtsp://admin:{quote(password, safe='')}@127.0.0.1:{port}{path}", "c")
    sources.append(source)
    source.start()
    assert wait_for(lambda: source.status.last_error is not None, 15) is not None
    status = source.status
    assert status.state is SourceState.ERROR
    assert expected in (status.last_error or "") and "check" in (status.last_error or "")
    assert password not in repr(status)


@pytest.mark.rtsp
def test_start_stop_cycles_leave_no_threads_or_files(servers: RtspServers) -> None:
    port = free_port()
    servers.start(port)
    url = f"rtsp://127.0.0.1:{port}/cam"

    def cycle(name: str, wait_for_frame: bool, delay_s: float) -> None:
        source = RtspSource(url, name)
        source.start()
        if wait_for_frame:
            assert source.latest(timeout_s=15) is not None, source.status
        else:
            time.sleep(delay_s)  # stop while connecting, negotiating or streaming
        started = time.monotonic()
        source.stop()
        assert time.monotonic() - started < 3.0

    cycle("warm-up", True, 0)  # loads FFmpeg's codecs and network libraries once
    gc.collect()
    threads_before = set(threading.enumerate())
    tasks_before = len(os.listdir("/proc/self/task"))
    fds_before = len(os.listdir("/proc/self/fd"))
    for i in range(20):
        cycle(f"cycle-{i}", wait_for_frame=i % 7 == 6, delay_s=0.15 * (i % 7))
    gc.collect()
    # Threads of earlier tests may end meanwhile (fewer is fine); none may be added.
    assert not set(threading.enumerate()) - threads_before
    # A native (FFmpeg) thread of the last stop may still be on its way out on a loaded
    # machine (CI once saw one task too many right after the cycles): a second to go. A
    # leak stays, and fails this as before.
    settled = time.monotonic() + 2.0
    while len(os.listdir("/proc/self/task")) > tasks_before and time.monotonic() < settled:
        time.sleep(0.05)
    tasks_after = sorted(os.listdir("/proc/self/task"))
    assert len(tasks_after) <= tasks_before, tasks_after
    assert len(os.listdir("/proc/self/fd")) <= fds_before


@pytest.mark.rtsp
def test_password_never_reaches_logs_or_status(
    servers: RtspServers, sources: list[RtspSource], caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()
    server = servers.start(port, user="admin", password=PASSWORD)
    caplog.set_level(1)
    caplog.set_level(1, logger="libav")
    av.logging.set_level(av.logging.DEBUG)  # FFmpeg's own log lines too
    try:
        base = f"127.0.0.1:{port}"
        encoded = RtspSource(f"rtsp://admin:{quote(PASSWORD, safe='')}@{base}/cam", "enc")
        raw = RtspSource(f"rtsp://admin:{PASSWORD}@{base}/cam", "raw")
        missing = RtspSource(f"rtsp://admin:{PASSWORD}@{base}/nope", "404")
        sources.extend([encoded, raw, missing])
        # One client at a time: the point is what we log, not the test server's handling
        # of simultaneous authenticated clients.
        # The right password works, raw or encoded: the server really checked it.
        encoded.start()
        assert encoded.latest(timeout_s=15) is not None, (encoded.status, server.poll())
        raw.start()
        assert raw.latest(timeout_s=15) is not None, (raw.status, server.poll())
        missing.start()
        assert wait_for(lambda: missing.status.last_error is not None, 15) is not None
        statuses = [repr(source.status) for source in sources]
        for source in sources:
            source.stop()
    finally:
        av.logging.set_level(None)
    messages = [record.getMessage() for record in caplog.records]
    assert any(record.name.startswith("libav") for record in caplog.records)
    assert any("admin:***@" in message for message in messages)
    haystack = "\n".join(messages + statuses).lower()
    for form in (*secret_forms(PASSWORD), "p@ss", "w/rd", "p%40ss"):
        assert form.lower() not in haystack, f"password leaked as {form!r}"

"""ScaleReader against the simulator over a real pseudo-terminal and over TCP on loopback."""

from __future__ import annotations

import os
import socket
import threading
import time
import tty
from collections.abc import Callable, Iterator

import pytest

from pigweight.weighing.scale import ScaleReader, ScaleState, ScaleStatus
from pigweight.weighing.scale_protocols import PROTOCOLS, ScaleReading
from pigweight.weighing.scale_sim import ScaleSimulator, WeighingCycle, encode_frame

TOTAL_KG = 250.0
FAST_CYCLE = WeighingCycle(
    empty_s=0.4, loading_s=0.4, stable_s=0.4, unloading_s=0.4, total_kg=TOTAL_KG, seed=3
)
FAST = {"backoff_initial_s": 0.2, "backoff_max_s": 0.5, "connect_timeout_s": 1.0}


@pytest.fixture(autouse=True)
def no_thread_left_behind() -> Iterator[None]:
    yield
    left = [t.name for t in threading.enumerate() if t.name.startswith("scale")]
    assert left == []


def _wait(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.02)


def _stages(readings: list[ScaleReading]) -> list[str]:
    """zero / motion / total, with repeats collapsed: what an operator would see."""
    out: list[str] = []
    for r in readings:
        if r.weight_kg is None:
            continue
        if not r.stable:
            stage = "motion"
        elif abs(r.weight_kg) < 1:
            stage = "zero"
        elif abs(r.weight_kg - TOTAL_KG) < 1:
            stage = "total"
        else:
            stage = "other"
        if not out or out[-1] != stage:
            out.append(stage)
    return out


def _saw_full_cycle(readings: list[ScaleReading]) -> bool:
    stages = "/".join(_stages(readings))
    return "zero/motion/total/motion/zero" in stages


def _read_cycle(url: str, **options: float) -> tuple[ScaleReader, list[ScaleReading]]:
    readings: list[ScaleReading] = []
    reader = ScaleReader(url, on_reading=readings.append, **{**FAST, **options})
    reader.start()
    try:
        _wait(lambda: _saw_full_cycle(list(readings)), timeout_s=6.0)
    finally:
        reader.stop()
    return reader, readings


def test_a_full_cycle_over_a_pseudo_terminal() -> None:
    with ScaleSimulator("toledo", FAST_CYCLE, rate_hz=20) as sim:
        path = sim.serve_pty()
        reader, readings = _read_cycle(f"serial://{path}?protocol=toledo")
    status = reader.status()
    assert status.state is ScaleState.STOPPED and status.bad_frames == 0
    assert status.readings >= len(readings) and status.where == f"{path} at 9600 8N1"
    assert reader.latest() == readings[-1]


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_full_cycle_over_tcp(protocol: str) -> None:
    with ScaleSimulator(protocol, FAST_CYCLE, rate_hz=20) as sim:
        port = sim.serve_tcp()
        options = "&poll_s=0.05" if protocol == "mtsics" else ""
        reader, _ = _read_cycle(f"tcp://127.0.0.1:{port}?protocol={protocol}{options}")
    assert reader.status().bad_frames == 0


def test_mtsics_stream_mode_asks_for_continuous_replies() -> None:
    with ScaleSimulator("mtsics", FAST_CYCLE, rate_hz=20) as sim:
        port = sim.serve_tcp()
        _read_cycle(f"tcp://127.0.0.1:{port}?protocol=mtsics&mode=stream")


def test_the_simulator_dies_mid_cycle_and_comes_back() -> None:
    sim = ScaleSimulator("ascii", FAST_CYCLE, rate_hz=20)
    port = sim.serve_tcp()
    reader = ScaleReader(f"tcp://127.0.0.1:{port}?protocol=ascii", **FAST)
    reader.start()
    try:
        _wait(lambda: reader.status().state is ScaleState.STREAMING)
        sim.stop()
        _wait(lambda: reader.status().state is ScaleState.RECONNECTING)
        lost = reader.status()
        assert not lost.connected and lost.reconnects >= 1
        assert lost.last_error in (
            f"127.0.0.1:{port} closed the connection",
            f"cannot connect to 127.0.0.1:{port}: Connection refused",
        )
        before = lost.readings
        with ScaleSimulator("ascii", FAST_CYCLE, rate_hz=20) as again:
            again.serve_tcp(port=port)
            _wait(lambda: reader.status().readings > before + 5)
            back = reader.status()
            assert back.state is ScaleState.STREAMING and back.connected
    finally:
        reader.stop()
        sim.stop()


def test_a_pseudo_terminal_that_goes_away_shows_reconnecting() -> None:
    sim = ScaleSimulator("trutest", FAST_CYCLE, rate_hz=20)
    path = sim.serve_pty()
    reader = ScaleReader(f"serial://{path}?protocol=trutest", **FAST)
    reader.start()
    try:
        _wait(lambda: reader.status().readings > 0)
        sim.stop()
        _wait(lambda: reader.status().state is ScaleState.RECONNECTING)
        assert path in (reader.status().last_error or "")
    finally:
        reader.stop()


def _status_after(reader: ScaleReader, state: ScaleState) -> ScaleStatus:
    _wait(lambda: reader.status().state is state)
    return reader.status()


def test_a_silent_serial_line_shows_no_data_then_garbage_then_readings() -> None:
    master, slave = os.openpty()
    tty.setraw(slave)
    reader = ScaleReader(f"serial://{os.ttyname(slave)}?protocol=ascii", stale_s=0.3, **FAST)
    reader.start()
    try:
        silent = _status_after(reader, ScaleState.NO_DATA)
        assert silent.connected and silent.readings == 0
        assert (silent.last_error or "").startswith("no data for ")
        os.write(master, b"\x13\x37garbage\r\nST,GS,+0012")  # junk, then half a frame
        _wait(lambda: reader.status().bad_frames == 1)
        _wait(lambda: "no valid reading" in (reader.status().last_error or ""))
        assert "bad frame: not an 'ST,GS,+0123.4kg' line" in (reader.status().last_error or "")
        os.write(master, b"3.4kg\r\n")
        streaming = _status_after(reader, ScaleState.STREAMING)
        assert streaming.readings == 1 and streaming.reading_age_s is not None
        latest = reader.latest()
        assert latest is not None and (latest.weight_kg, latest.stable) == (123.4, True)
        assert latest.raw == b"ST,GS,+00123.4kg"
    finally:
        reader.stop()
        os.close(master)
        os.close(slave)


def test_a_silent_tcp_converter_is_reconnected() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        reader = ScaleReader(
            f"tcp://127.0.0.1:{port}?protocol=toledo",
            stale_s=0.2,
            silence_reconnect_s=0.6,
            **FAST,
        )
        reader.start()
        try:
            conn, _ = server.accept()
            assert "no data for" in (_status_after(reader, ScaleState.NO_DATA).last_error or "")
            lost = _status_after(reader, ScaleState.RECONNECTING)
            assert lost.last_error == "no data for 1 s" and lost.reconnects == 1
            conn.close()
            conn, _ = server.accept()  # it came back by itself
            conn.sendall(encode_frame("toledo", 42.0, True))
            _wait(lambda: reader.status().state is ScaleState.STREAMING)
            conn.close()
        finally:
            reader.stop()


def test_a_missing_port_is_retried_with_the_reason() -> None:
    reader = ScaleReader("serial:///dev/pigweight-no-such-port?protocol=ascii", **FAST)
    reader.start()
    try:
        status = _status_after(reader, ScaleState.RECONNECTING)
        assert "cannot open /dev/pigweight-no-such-port" in (status.last_error or "")
        _wait(lambda: reader.status().reconnects >= 2)
    finally:
        reader.stop()
    assert reader.status().state is ScaleState.STOPPED

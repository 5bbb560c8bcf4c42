"""`pigweight scale-sim`: a simulated indicator as a child process, read over TCP."""

from __future__ import annotations

import socket
import subprocess
import sys
from urllib.parse import urlsplit

import pytest

from pigweight.cli import main
from pigweight.weighing.scale_protocols import ScaleReading, make_parser

SIM = ["scale-sim", "--protocol", "ascii", "--port", "0", "--rate-hz", "20", "--total-kg", "300"]


def test_scale_sim_serves_frames_until_terminated() -> None:
    child = subprocess.Popen(
        [sys.executable, "-m", "pigweight", *SIM],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        url = child.stdout.readline().strip()
        assert url.startswith("tcp://127.0.0.1:") and url.endswith("?protocol=ascii")
        parser, readings = make_parser("ascii"), []
        with socket.create_connection(("127.0.0.1", urlsplit(url).port or 0), timeout=5) as conn:
            while len(readings) < 5:
                data = conn.recv(1024)
                assert data, "the simulator closed the connection"
                readings += [r for r in parser.feed(data, 0.0) if isinstance(r, ScaleReading)]
        assert all(r.raw.startswith((b"ST,GS,", b"US,GS,")) for r in readings)
    finally:
        child.terminate()
        _, stderr = child.communicate(timeout=10)
    assert child.returncode == 0, stderr
    assert "scale-sim: ascii, 300 kg every 23 s (seed 0)" in stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--total-kg", "-5"], "the total must be between 0 and 100000 kg"),
        (["--loading-s", "0"], "every phase of the weighing cycle must last more than 0 s"),
        (["--rate-hz", "0"], "the rate must be between 0 and 100 frames a second"),
        (["--port", "70000"], "--port must be between 0 and 65535"),
    ],
)
def test_scale_sim_bad_options_say_why_in_one_line(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["scale-sim", "--protocol", "toledo", *args]) == 2
    assert capsys.readouterr().err == f"pigweight: error: {message}\n"

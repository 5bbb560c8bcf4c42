"""`pigweight scale-sim`: a simulated scale indicator on a TCP port or a pseudo-terminal,
serving weighing cycles until Ctrl-C or SIGTERM; it prints the URL a reader would use."""

from __future__ import annotations

import signal
import sys
import threading
from types import FrameType
from typing import TextIO

from pigweight.weighing.scale_sim import ScaleSimulator, WeighingCycle


def run_simulator(
    protocol: str,
    cycle: WeighingCycle,
    rate_hz: float,
    host: str,
    port: int,
    use_pty: bool,
    out: TextIO = sys.stdout,
) -> int:
    """Serve until interrupted; the first line printed is the reader's URL."""
    sim = ScaleSimulator(protocol, cycle, rate_hz)
    stopping = threading.Event()

    def on_term(_signum: int, _frame: FrameType | None) -> None:
        stopping.set()

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        if use_pty:
            url = f"serial://{sim.serve_pty()}?protocol={protocol}"
        else:
            url = f"tcp://{host}:{sim.serve_tcp(host, port)}?protocol={protocol}"
        print(url, file=out, flush=True)
        print(
            f"scale-sim: {protocol}, {cycle.total_kg:g} kg every {cycle.period_s:g} s "
            f"(seed {cycle.seed}); Ctrl-C stops",
            file=sys.stderr,
        )
        while not stopping.wait(0.5):
            pass
    finally:
        sim.stop()
        signal.signal(signal.SIGTERM, previous)
    return 0

"""Faults: a real `pigweight serve` whose RTSP camera loses power again and again.

    .venv/bin/python bench/faults.py                # 50 cycles: ~30 min (the backoff reaches 30 s)
    .venv/bin/python bench/faults.py --quick        # 10 cycles: ~5 min
    .venv/bin/python bench/faults.py --cycles 20 --down-s 5

The camera is tests/rtsp_server.py (Debian's GStreamer RTSP server, run by /usr/bin/python3).
Each cycle: SIGKILL it (a power cut: no TEARDOWN, no FIN from the encoder), time until the
server's status says `reconnecting`; leave it off --down-s; start it again on the same port
and time until frames flow (`frames_out` grows and the state is `streaming`). The server's
threads, file descriptors and child processes (from /proc) are read before the first drop
and after the last return (the least of a few readings over a second: FFmpeg's short-lived
threads come and go), and after every cycle for the trend.

Targets (docs/reliability.md, "Live sources"): every drop noticed within 15 s, frames again
within 35 s of the camera's return, threads, fds and children the same after as before.
Writes bench/results/faults.json with every cycle, the targets and the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from load import REPO, Server, free_port, log, proc_status, spread

RESULTS = REPO / "bench" / "results" / "faults.json"
NOTICE_S, RETURN_S = 15.0, 35.0


class Camera:
    """tests/rtsp_server.py on one port, restarted as often as asked."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        cmd = ["/usr/bin/python3", str(REPO / "tests" / "rtsp_server.py"), "--port", str(self.port)]
        cmd += ["--width", "640", "--height", "360", "--fps", "10"]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE)
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], 20)
        if not ready or b"READY" not in self.proc.stdout.readline():
            self.kill()
            raise SystemExit(
                "the RTSP test server did not start (apt-get install gstreamer1.0-rtsp)"
            )

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            if self.proc.stdout is not None:
                self.proc.stdout.close()
            self.proc = None


def settled(pid: int) -> dict[str, int]:
    """The least threads, fds and children of a few readings over a second."""
    readings = []
    for _ in range(5):
        readings.append(proc_status(pid))
        time.sleep(0.2)
    return {k: min(r[k] for r in readings) for k in ("threads", "fds", "children")}


def wait_status(http: httpx.Client, ok: Any, timeout_s: float) -> float | None:
    """Seconds until ok(status) holds, or None after timeout_s (and 10 s more, to see)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s + 10:
        if ok(http.get("/api/cameras/cam/status").json()):
            return round(time.monotonic() - started, 2)
        time.sleep(0.1)
    return None


def cycle(http: httpx.Client, camera: Camera, args: argparse.Namespace) -> dict[str, Any]:
    camera.kill()
    noticed_s = wait_status(http, lambda b: b["state"] == "reconnecting", NOTICE_S)
    time.sleep(args.down_s)
    camera.start()
    frames = http.get("/api/cameras/cam/status").json()["frames_out"]
    back_s = wait_status(
        http, lambda b: b["state"] == "streaming" and b["frames_out"] > frames, RETURN_S
    )
    time.sleep(args.up_s)
    return {"noticed_s": noticed_s, "back_s": back_s}


def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    camera = Camera(free_port())
    camera.start()
    cameras = work / "cameras.yaml"
    cameras.write_text(
        f"cameras:\n  - {{id: cam, name: Cam, url: 'rtsp://127.0.0.1:{camera.port}/cam', "
        "target_fps: 5}\n"
    )
    env = {"CAMERAS_FILE": str(cameras), "CAMERA_ALLOW_HOSTS": "127.0.0.1"}
    try:
        with Server(work / "server", **env) as server, httpx.Client(base_url=server.url) as http:
            if (
                wait_status(http, lambda b: b["state"] == "streaming" and b["frames_out"], 60)
                is None
            ):
                raise RuntimeError(f"the camera never streamed: {server.log_path}")
            before = settled(server.pid)
            cycles = []
            for i in range(args.cycles):
                result = cycle(http, camera, args)
                result |= settled(server.pid)
                cycles.append(result)
                log(f"cycle {i + 1}/{args.cycles}: {result}")
            after = settled(server.pid)
            status = http.get("/api/cameras/cam/status").json()
            tracebacks = server.tracebacks()
    finally:
        camera.kill()
    noticed = [c["noticed_s"] for c in cycles]
    back = [c["back_s"] for c in cycles]
    return {
        "cycles": cycles,
        "noticed_s": spread([x for x in noticed if x is not None]) | {"max": max_or_none(noticed)},
        "back_s": spread([x for x in back if x is not None]) | {"max": max_or_none(back)},
        "missed_notice": sum(x is None or x > NOTICE_S for x in noticed),
        "missed_return": sum(x is None or x > RETURN_S for x in back),
        "resources_before": before,
        "resources_after": after,
        "reconnects": status["reconnects"],
        "tracebacks_in_log": tracebacks,
    }


def max_or_none(values: list[float | None]) -> float | None:
    return None if any(v is None for v in values) else max(v for v in values if v is not None)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=50)
    parser.add_argument("--quick", action="store_true", help="10 cycles")
    parser.add_argument("--down-s", type=float, default=2.0, help="seconds the camera is off")
    parser.add_argument("--up-s", type=float, default=2.0, help="seconds it streams after")
    args = parser.parse_args()
    if args.quick:
        args.cycles = min(args.cycles, 10)
    result: dict[str, Any] = {
        "machine": {
            "cpu_cores": os.cpu_count(),
            "loadavg_start": [round(x, 2) for x in os.getloadavg()],
        },
        "args": vars(args),
    }
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="pigweight-faults-") as work:
        result |= run(args, Path(work))
    result["wall_s"] = round(time.monotonic() - started, 1)
    result["machine"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    same = result["resources_after"] == result["resources_before"]
    result["targets"] = [
        {
            "name": "drops noticed within 15 s",
            "missed": result["missed_notice"],
            "met": result["missed_notice"] == 0,
        },
        {
            "name": "frames again within 35 s",
            "missed": result["missed_return"],
            "met": result["missed_return"] == 0,
        },
        {"name": "threads, fds, children constant", "met": same},
    ]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=1) + "\n")
    m, n, b = result["machine"], result["noticed_s"], result["back_s"]
    print(
        f"load average {m['loadavg_start']} -> {m['loadavg_end']} ({m['cpu_cores']} cores)\n"
        f"{args.cycles} cycles in {result['wall_s']} s, {result['reconnects']} reconnects\n"
        f"reconnecting noticed after: p50 {n['p50']} s, max {n['max']} s "
        f"({result['missed_notice']} over 15 s)\n"
        f"frames again after the return: p50 {b['p50']} s, p95 {b['p95']} s, max {b['max']} s "
        f"({result['missed_return']} over 35 s)\n"
        f"threads/fds/children before {result['resources_before']}, "
        f"after {result['resources_after']}: {'same' if same else 'CHANGED'}"
    )
    return 0 if all(t["met"] for t in result["targets"]) else 1


if __name__ == "__main__":
    sys.exit(main())

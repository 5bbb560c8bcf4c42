"""Soak: run N cameras for M minutes in a real server and watch it for leaks and lag.

    python bench/soak.py --demo 1 --rtsp-server --minutes 10   # 1 demo + 1 local RTSP camera
    python bench/soak.py --demo 2 --minutes 10 [--rtsp rtsp://192.0.2.10/ch1 ...]

Starts `pigweight serve` as a child process with a cameras file of its own (demo clips
replayed as files, plus the RTSP URLs given), samples RSS, threads and file descriptors
from /proc and the server's /debug/infer_status every few seconds, prints a summary and
writes bench/results/soak.json. Targets (issue 3): RSS growth < 5 % after warm-up, loop lag
p99 < 50 ms, counted fps >= 5 per camera at 720p with the classic segmenter.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "soak.json"


def proc_stats(pid: int) -> dict[str, int]:
    """RSS (KiB), threads and open file descriptors of a process, from /proc."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return {
        "rss_kib": int(fields["VmRSS"].split()[0]),
        "threads": int(fields["Threads"]),
        "fds": len(os.listdir(f"/proc/{pid}/fd")),
    }


def cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU time a process has used, from /proc (None if there is none)."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def write_config(work: Path, demo: int, rtsp: list[str], clip: Path, target_fps: float) -> Path:
    lines = ["cameras:"]
    for i in range(demo):
        lines.append(f"  - {{id: demo{i + 1}, url: '{clip}', target_fps: {target_fps}}}")
    for i, url in enumerate(rtsp):
        lines.append(f"  - {{id: rtsp{i + 1}, url: '{url}', target_fps: {target_fps}}}")
    path = work / "cameras.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def ensure_clip(work: Path, seconds: float, width: int) -> Path:
    from pigweight.synthetic import write_demo_video

    clip = REPO / "data" / "demo" / f"soak_{width}_{seconds:g}s.mp4"
    if not clip.is_file():
        print(f"rendering {clip} ...", file=sys.stderr)
        write_demo_video(clip, seconds=seconds, width=width, height=round(width * 9 / 32) * 2)
    return clip


def sample(
    client: httpx.Client, pid: int, started: float, harness_pid: int | None
) -> dict[str, Any]:
    status = client.get("/debug/infer_status", timeout=10).json()
    return {
        "t_s": round(time.monotonic() - started, 1),
        **proc_stats(pid),
        "cpu_s": cpu_seconds(pid),
        "harness_cpu_s": cpu_seconds(harness_pid),  # the RTSP test server's x264 encoder
        "status": status,
    }


def cores_used(warm: list[dict[str, Any]], key: str) -> float | None:
    """CPU cores a process kept busy on average over the samples after warm-up."""
    first, last = warm[0], warm[-1]
    if first[key] is None or last[key] is None or last["t_s"] <= first["t_s"]:
        return None
    return round((last[key] - first[key]) / (last["t_s"] - first["t_s"]), 2)


def summarise(samples: list[dict[str, Any]], warm_up_s: float) -> dict[str, Any]:
    warm = [s for s in samples if s["t_s"] >= warm_up_s] or samples
    # Medians of the first and last minute: one frame's masks (tens of MB) come and go, and
    # a single sample taken at such a moment would read as growth that is not there.
    first = [s["rss_kib"] for s in warm if s["t_s"] < warm[0]["t_s"] + 60]
    last = [s["rss_kib"] for s in warm if s["t_s"] > warm[-1]["t_s"] - 60]
    rss0, rss1 = statistics.median(first), statistics.median(last)
    last = samples[-1]["status"]
    cameras = {
        cid: {
            "fps_out": c["fps_out"],
            "infer_p50_ms": c["inference_ms_p50"],
            "infer_p95_ms": c["inference_ms_p95"],
            "reconnects": c["reconnects"],
            "state": c["state"],
            "last_error": c["last_error"],
        }
        for cid, c in last["cameras"].items()
    }
    return {
        "rss_start_mib": round(rss0 / 1024, 1),
        "rss_end_mib": round(rss1 / 1024, 1),
        "rss_growth_pct": round(100.0 * (rss1 - rss0) / rss0, 2),
        "threads": [warm[0]["threads"], samples[-1]["threads"]],
        "fds": [warm[0]["fds"], samples[-1]["fds"]],
        "loop_lag_ms": last["loop_lag_ms"],
        "cameras": cameras,
        "cpu_cores": os.cpu_count(),
        "pigweight_cores_used": cores_used(warm, "cpu_s"),
        "rtsp_test_server_cores_used": cores_used(warm, "harness_cpu_s"),
    }


def watch(server: subprocess.Popen[bytes], args: argparse.Namespace) -> list[dict[str, Any]]:
    """Sample the server until the time is up (or it dies)."""
    client = httpx.Client(base_url=f"http://127.0.0.1:{args.port}")
    started = time.monotonic()
    while time.monotonic() - started < 60 and server.poll() is None:
        try:
            client.get("/healthz", timeout=2)
            break
        except httpx.TransportError:
            time.sleep(0.5)
    samples: list[dict[str, Any]] = []
    deadline = started + args.minutes * 60
    while time.monotonic() < deadline and server.poll() is None:
        samples.append(sample(client, server.pid, started, args.harness_pid))
        time.sleep(args.every)
    return samples


def start_rtsp_server(port: int, width: int) -> subprocess.Popen[bytes]:
    """Debian's GStreamer RTSP server (tests/rtsp_server.py) with a live 25 fps test feed."""
    height = round(width * 9 / 32) * 2
    cmd = ["/usr/bin/python3", str(REPO / "tests" / "rtsp_server.py"), "--port", str(port)]
    cmd += ["--path", "/soak", "--width", str(width), "--height", str(height), "--fps", "25"]
    server = subprocess.Popen(cmd, stdout=subprocess.PIPE)
    assert server.stdout is not None
    if b"READY" not in server.stdout.readline():
        server.kill()
        raise SystemExit("the RTSP test server did not start (apt-get install gstreamer1.0-rtsp)")
    return server


def run(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="pigweight-soak-"))
    clip = ensure_clip(work, args.clip_seconds, args.width)
    rtsp_server = None
    args.harness_pid = None
    if args.rtsp_server:
        rtsp_server = start_rtsp_server(args.port + 1, args.width)
        args.harness_pid = rtsp_server.pid
        args.rtsp = [*args.rtsp, f"rtsp://127.0.0.1:{args.port + 1}/soak"]
    try:
        return serve_and_watch(args, work, clip)
    finally:
        if rtsp_server is not None:
            rtsp_server.terminate()
            rtsp_server.wait(10)


def serve_and_watch(args: argparse.Namespace, work: Path, clip: Path) -> dict[str, Any]:
    env = {
        **os.environ,
        "CAMERAS_FILE": str(write_config(work, args.demo, args.rtsp, clip, args.target_fps)),
        "DATA_DIR": str(work / "data"),
        "LOG_DIR": str(work / "logs"),
        "PORT": str(args.port),
        "PERF_STATS_INTERVAL_S": "30",
        # --rtsp-server's camera is on this PC (camera hosts on loopback need saying so)
        "CAMERA_ALLOW_HOSTS": os.environ.get("CAMERA_ALLOW_HOSTS", "127.0.0.1"),
    }
    cmd = [sys.executable, "-m", "pigweight", "serve"]
    samples: list[dict[str, Any]] = []
    with (
        open(work / "server.log", "wb") as log_file,
        subprocess.Popen(cmd, env=env, cwd=work, stdout=log_file, stderr=log_file) as server,
    ):
        try:
            samples = watch(server, args)
        finally:
            server.terminate()
            server.wait(30)
    log = (work / "server.log").read_text(errors="replace")
    result = {
        "args": vars(args),
        "summary": summarise(samples, args.warm_up),
        "tracebacks_in_log": log.count("Traceback"),
        "exit_code": server.returncode,
        "clean_shutdown": "Application shutdown complete" in log,
        "samples": samples,
    }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo", type=int, default=2, help="demo cameras (file replay)")
    parser.add_argument("--rtsp", nargs="*", default=[], help="RTSP URLs to add")
    parser.add_argument(
        "--rtsp-server", action="store_true", help="add a camera served by tests/rtsp_server.py"
    )
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--warm-up", type=float, default=60.0, help="seconds before RSS baseline")
    parser.add_argument("--every", type=float, default=5.0, help="seconds between samples")
    parser.add_argument("--width", type=int, default=1280, help="clip width (720p: 1280)")
    parser.add_argument("--clip-seconds", type=float, default=20.0)
    parser.add_argument("--target-fps", type=float, default=5.0)
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    result = run(args)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=1))
    print(json.dumps({k: v for k, v in result.items() if k != "samples"}, indent=1))


if __name__ == "__main__":
    main()

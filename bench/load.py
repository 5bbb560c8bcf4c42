"""Load: live clients with a slow one, concurrent HLS segments, parallel multi-GB uploads.

    .venv/bin/python bench/load.py                 # all three: ~8 min on 2 cores, ~13 GB of disk
    .venv/bin/python bench/load.py --quick         # ~4 min: shorter windows, 3 x 0.5 GB uploads
    .venv/bin/python bench/load.py --only ws,hls   # some of them; --gb 4 for bigger uploads

Each part starts its own `pigweight serve` (a child process with a data folder of its own in
a temp folder) and measures it from this process, beside a baseline taken in the same run:

- ws: 4 cameras replaying a demo clip as files (like bench/soak.py), 50 WebSocket clients on
  /ws/count spread over them, and one more that reads 1 KB/s. Latency = the time a message
  arrives minus its `ts` (the frame's capture time). Baseline: one client a camera, alone.
  Figures: when the server dropped the slow client (its subscriber gone from
  /debug/infer_status), p50/p95 latency of the others, their message rate beside the
  cameras' counted fps, the server's event-loop lag p99 (its LoopLagMonitor, last 10 min).
- hls: a ~5 min clip (the demo clip stream-copied) uploaded, its indexing cancelled, then
  200 concurrent GETs of its segments with the segment cache empty (cold), then again
  (warm). Baseline: 200 concurrent GET /healthz.
- upload: 3 parallel `POST /api/video_file/upload` of a valid MP4 padded to --gb GiB with a
  `free` box (a sparse file: made at once, read from no disk), while the server's RSS is
  sampled every 0.2 s and GET /api/cameras is timed back to back. Baselines: the same
  probe before the uploads, and this disk's write speed (1 GiB written and fsync'ed).

Targets (docs/reliability.md, "Load"): slow client dropped within 10 s; others' p95 < 250 ms;
loop lag p99 < 50 ms; HLS p99 < 300 ms and no 5xx; upload RSS growth < 100 MB and API p99 <
200 ms. Writes bench/results/load.json with the figures, the targets and the load average of
the machine at start and end (other work on the same cores shows there).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import av
import httpx
import numpy as np
from websockets.asyncio.client import connect

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "load.json"
GB = 1 << 30
MB = 1 << 20
T0 = time.monotonic()


def log(message: str) -> None:
    print(f"[{time.monotonic() - T0:6.1f} s] {message}", file=sys.stderr, flush=True)


def pct(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 1) if values else None


def spread(values: list[float]) -> dict[str, Any]:
    return {
        "n": len(values),
        "p50": pct(values, 50),
        "p95": pct(values, 95),
        "p99": pct(values, 99),
    }


# --- the server and its process ------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def proc_status(pid: int) -> dict[str, int]:
    """RSS and peak RSS (KiB), threads, open file descriptors and children, from /proc."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return {
        "rss_kib": int(fields["VmRSS"].split()[0]),
        "hwm_kib": int(fields["VmHWM"].split()[0]),
        "threads": int(fields["Threads"]),
        "fds": len(os.listdir(f"/proc/{pid}/fd")),
        "children": len(children(pid)),
    }


def children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            continue  # ended meanwhile
    return found


class Server:
    """`pigweight serve` on a free port with a folder of its own; env adds settings."""

    def __init__(self, root: Path, **env: str) -> None:
        self.root = root
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        root.mkdir(parents=True, exist_ok=True)
        self.env = {
            **os.environ,
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "DATA_DIR": str(root / "data"),
            "RECORDS_DIR": str(root / "records"),
            "LOG_DIR": str(root / "logs"),
            "PRELOAD_MODEL": "false",
            "SEGMENTER": "classic",
            "DEMO_VIDEO_SECONDS": "0",
            "ACCESS_LOG": "false",
            **env,
        }
        self.log_path = root / "server.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        with self.log_path.open("ab") as log_file:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "pigweight", "serve"],
                cwd=self.root,  # no .env of the repo
                env=self.env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"the server exited with {self.proc.returncode}: {self.log_path}"
                )
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self
            time.sleep(0.1)
        raise RuntimeError(f"the server did not answer in 90 s: {self.log_path}")

    def __exit__(self, *_exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def tracebacks(self) -> int:
        return self.log_path.read_text(errors="replace").count("Traceback")


def ensure_clip(width: int, seconds: float) -> Path:
    """The demo clip at this size, rendered once into data/demo (as bench/soak.py does)."""
    from pigweight.synthetic import write_demo_video

    height = round(width * 9 / 32) * 2
    clip = REPO / "data" / "demo" / f"load_{width}x{height}_{seconds:g}s.mp4"
    if not clip.is_file():
        log(f"rendering {clip.name}")
        write_demo_video(clip, seconds=seconds, width=width, height=height)
    return clip


# --- ws: 50 live clients and a slow one --------------------------------------------------------


def ws_url(server: Server, camera: str) -> str:
    return f"ws://127.0.0.1:{server.port}/ws/count?id={camera}"


def message_ts(message: str | bytes) -> float:
    """The `ts` of a /ws/count message without parsing its ~10 KB of outlines: 50 clients
    in this process would spend more CPU on json.loads than the server spends sending."""
    text = message.decode() if isinstance(message, bytes) else message
    start = text.index('"ts":') + 5
    return float(text[start : text.index(",", start)])


async def read_live(url: str, latencies: list[float], stop: asyncio.Event) -> int:
    """Read /ws/count until stop; latency (ms) of every message but the first (a replay)."""
    received = 0
    async with connect(url, max_size=None) as ws:
        first = True
        while not stop.is_set():
            try:
                message = await asyncio.wait_for(ws.recv(), 1.0)
            except TimeoutError:
                continue
            now = time.time()
            if not first:
                latencies.append((now - message_ts(message)) * 1000.0)
                received += 1
            first = False
    return received


async def read_slowly(server: Server, camera: str, bytes_per_s: int, stop: asyncio.Event) -> int:
    """A /ws/count client that reads `bytes_per_s` (a 4 KB receive buffer); bytes read."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", server.port))
    reader, writer = await asyncio.open_connection(sock=sock, limit=1024)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        f"GET /ws/count?id={camera} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    total = 0
    step_s = 0.25
    try:
        while not stop.is_set():
            chunk = await reader.read(int(bytes_per_s * step_s))
            if not chunk:
                break  # the server closed it (and it read everything before the close)
            total += len(chunk)
            await asyncio.sleep(step_s)
    finally:
        writer.close()
    return total


async def subscribers(http: httpx.AsyncClient) -> dict[str, Any]:
    return dict((await http.get("/debug/infer_status")).json())


async def wait_for_subscribers(
    http: httpx.AsyncClient, camera: str, n: int, timeout_s: float
) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if (await subscribers(http))["cameras"][camera]["subscribers"] == n:
            return True
        await asyncio.sleep(0.1)
    return False


async def ws_baseline(server: Server, cameras: list[str], seconds: float) -> dict[str, Any]:
    """One client a camera, nothing else: the latency the pipeline itself gives."""
    latencies: list[float] = []
    stop = asyncio.Event()
    tasks = [asyncio.create_task(read_live(ws_url(server, c), latencies, stop)) for c in cameras]
    await asyncio.sleep(seconds)
    stop.set()
    await asyncio.gather(*tasks)
    return {"clients": len(cameras), "seconds": seconds, "latency_ms": spread(latencies)}


async def ws_load(server: Server, cameras: list[str], args: argparse.Namespace) -> dict[str, Any]:
    latencies: list[float] = []
    stop = asyncio.Event()
    per_camera = {c: 0 for c in cameras}
    tasks = []
    for i in range(args.clients):
        camera = cameras[i % len(cameras)]
        per_camera[camera] += 1
        tasks.append(asyncio.create_task(read_live(ws_url(server, camera), latencies, stop)))
    slow_camera = cameras[0]
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
        for camera, n in per_camera.items():
            if not await wait_for_subscribers(http, camera, n, 30):
                raise RuntimeError(f"{n} clients did not all connect to {camera}")
        log(f"{args.clients} clients connected; the slow one joins")
        latencies.clear()
        started = time.monotonic()
        slow = asyncio.create_task(read_slowly(server, slow_camera, 1024, stop))
        joined = await wait_for_subscribers(http, slow_camera, per_camera[slow_camera] + 1, 10)
        joined_at = time.monotonic()
        dropped_s = None
        health_ms: list[float] = []
        while time.monotonic() - started < args.ws_seconds:
            t = time.perf_counter()
            status = await subscribers(http)
            health_ms.append((time.perf_counter() - t) * 1000.0)
            n = status["cameras"][slow_camera]["subscribers"]
            if joined and dropped_s is None and n == per_camera[slow_camera]:
                dropped_s = round(time.monotonic() - joined_at, 2)
                log(f"the slow client was dropped after {dropped_s} s")
            await asyncio.sleep(0.5)
        measured_s = time.monotonic() - started
        status = await subscribers(http)
        window = list(latencies)
        stop.set()
        received = await asyncio.gather(*tasks)
        slow_bytes = await slow
    fps = {c: status["cameras"][c]["fps_out"] for c in cameras}
    return {
        "clients": args.clients,
        "cameras": len(cameras),
        "seconds": round(measured_s, 1),
        "slow_client": {
            "reads_bytes_per_s": 1024,
            "subscribed": joined,
            "dropped_after_s": dropped_s,
            "bytes_read": slow_bytes,
        },
        "latency_ms": spread(window),
        "messages_per_client_per_s": round(sum(received) / len(received) / measured_s, 2),
        "cameras_fps_out": fps,
        "loop_lag_ms": status["loop_lag_ms"],
        "infer_status_ms": spread(health_ms),
        "clients_disconnected_by_hub": status["clients_disconnected"],
    }


def bench_ws(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    clip = ensure_clip(args.width, 20.0)
    cameras = [f"pen{i + 1}" for i in range(4)]
    lines = ["cameras:"] + [f"  - {{id: {c}, name: {c}, url: '{clip}'}}" for c in cameras]
    (work / "cameras.yaml").write_text("\n".join(lines) + "\n")
    env = {"CAMERAS_FILE": str(work / "cameras.yaml"), "AUTO_START_CAM": "true"}
    with Server(work / "ws", **env) as server:
        deadline = time.monotonic() + 60
        for camera in cameras:
            while httpx.get(f"{server.url}/api/cameras/{camera}/status").json()["state"] != (
                "streaming"
            ):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{camera} did not stream")
                time.sleep(0.2)
        time.sleep(args.warm_up)
        log("ws: baseline, one client a camera")
        baseline = asyncio.run(ws_baseline(server, cameras, args.baseline_seconds))
        log(f"ws: {args.clients} clients and a slow one for {args.ws_seconds:g} s")
        load = asyncio.run(ws_load(server, cameras, args))
        load["tracebacks_in_log"] = server.tracebacks()
    p95, base = load["latency_ms"]["p95"], baseline["latency_ms"]["p95"]
    load["ratio_p95_to_baseline"] = round(p95 / base, 2) if p95 and base else None
    return {"clip": clip.name, "baseline": baseline, "load": load}


# --- hls: 200 concurrent segment requests ---------------------------------------------------


def concat(clip: Path, out: Path, copies: int) -> None:
    """`copies` times the clip, stream-copied, each copy's timestamps shifted to follow on."""
    with av.open(str(clip)) as src:
        packets = [(p.dts, p.duration or 0) for p in src.demux(video=0) if p.dts is not None]
    span = max(d + n for d, n in packets) - min(d for d, _ in packets)
    with av.open(str(out), mode="w", format="mp4") as dst:
        out_stream = None
        for k in range(copies):
            with av.open(str(clip)) as src:
                stream = src.streams.video[0]
                if out_stream is None:
                    out_stream = dst.add_stream_from_template(stream)
                for packet in src.demux(stream):
                    if packet.dts is None:
                        continue  # the flush packet
                    packet.dts += k * span
                    if packet.pts is not None:
                        packet.pts += k * span
                    packet.stream = out_stream
                    dst.mux(packet)


async def get_all(url: str, paths: list[str]) -> tuple[list[float], dict[int, int]]:
    """GET every path at once, each on a connection opened beforehand; latency (ms) to the
    last byte and the count of each status (0: the connection failed).

    The client is plain asyncio streams speaking HTTP/1.1, a few microseconds a request: an
    HTTP library in this process would spend more CPU per request than the server does, and
    on two cores the figure would measure it (bench/archive.py does the same).
    """
    host, port = url.removeprefix("http://").split(":")
    conns = [await asyncio.open_connection(host, int(port)) for _ in paths]
    gate = asyncio.Event()

    async def one(path: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> Any:
        await gate.wait()
        started = time.perf_counter()
        try:
            writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            await reader.readexactly(length)
            status = int(head.split(b" ", 2)[1])
        except (OSError, asyncio.IncompleteReadError):
            status = 0
        finally:
            writer.close()
        return (time.perf_counter() - started) * 1000.0, status

    tasks = [asyncio.create_task(one(p, r, w)) for p, (r, w) in zip(paths, conns, strict=True)]
    await asyncio.sleep(0.2)  # every connection accepted by the server
    gate.set()
    done = await asyncio.gather(*tasks)
    statuses: dict[int, int] = {}
    for _, code in done:
        statuses[code] = statuses.get(code, 0) + 1
    return [ms for ms, _ in done], statuses


def upload_file(http: httpx.Client, path: Path, name: str) -> dict[str, Any]:
    size = path.stat().st_size

    def chunks() -> Iterator[bytes]:
        with path.open("rb") as f:
            while chunk := f.read(MB):
                yield chunk

    started = time.perf_counter()
    r = http.post(
        "/api/video_file/upload",
        content=chunks(),
        headers={"X-Filename": name, "Content-Length": str(size)},
        timeout=httpx.Timeout(3600, connect=10),
    )
    elapsed = time.perf_counter() - started
    return {
        "status": r.status_code,
        "id": r.json().get("id") if r.status_code == 201 else None,
        "detail": None if r.status_code == 201 else r.text[:300],
        "bytes": size,
        "seconds": round(elapsed, 1),
        "mb_per_s": round(size / MB / elapsed, 1),
    }


def bench_hls(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    clip = ensure_clip(1280, 20.0)
    video = work / "hls-source.mp4"
    copies = max(1, round(args.hls_minutes * 60 / 20.0))
    concat(clip, video, copies)
    with Server(work / "hls", AUTO_START_CAM="false") as server:
        with httpx.Client(base_url=server.url, timeout=60) as http:
            up = upload_file(http, video, "hls-source.mp4")
            if up["status"] != 201:
                raise RuntimeError(f"upload: {up}")
            http.post(f"/api/video_file/{up['id']}/cancel")  # no indexer beside the requests
            playlist = http.get(f"/api/video_file/stream_hls/{up['id']}")
            playlist.raise_for_status()
        segments = playlist.text.count("#EXTINF")
        paths = [f"/api/video_file/stream_hls/{up['id']}/{i % segments}.ts" for i in range(200)]
        log(f"hls: {segments} segments; 200 concurrent GETs, /healthz first")
        base_ms, base_codes = asyncio.run(get_all(server.url, ["/healthz"] * 200))
        started = time.perf_counter()
        cold_ms, cold_codes = asyncio.run(get_all(server.url, paths))
        cold_wall_s = time.perf_counter() - started
        warm_ms, warm_codes = asyncio.run(get_all(server.url, paths))
        one_ms = [asyncio.run(get_all(server.url, [p]))[0][0] for p in paths[:segments]]
        sizes = [len(httpx.get(server.url + p).content) for p in paths[:segments]]
        tracebacks = server.tracebacks()
    total_mb = sum(sizes[i % segments] for i in range(200)) / MB
    return {
        "video": {"seconds": copies * 20.0, "size_mb": round(video.stat().st_size / MB, 1)},
        "segments": segments,
        "segment_kb_mean": round(sum(sizes) / len(sizes) / 1024, 1),
        "requests": 200,
        "mb_sent_per_round": round(total_mb, 1),
        "baseline_healthz_ms": spread(base_ms) | {"statuses": base_codes},
        "baseline_one_warm_segment_at_a_time_ms": spread(one_ms),
        "cold_ms": spread(cold_ms) | {"statuses": cold_codes},
        "cold_wall_s": round(cold_wall_s, 2),
        "warm_ms": spread(warm_ms) | {"statuses": warm_codes},
        "warm_mb_per_s": round(total_mb / (max(warm_ms) / 1000.0), 1),
        "tracebacks_in_log": tracebacks,
    }


# --- upload: 3 parallel multi-GB uploads ----------------------------------------------------


def padded_mp4(clip: Path, out: Path, size: int) -> Path:
    """The clip followed by one `free` box up to `size` bytes: a valid MP4 that players and
    the probe read as the clip, made in no time as a sparse file."""
    data = clip.read_bytes()
    pad = size - len(data)
    with out.open("wb") as f:
        f.write(data)
        f.write(struct.pack(">I4sQ", 1, b"free", pad))  # 64-bit box size
        f.truncate(size)
    return out


def disk_write_mb_per_s(work: Path, nbytes: int) -> float:
    """This disk's write speed: nbytes written in 1 MB blocks and fsync'ed."""
    path = work / "disk-baseline.bin"
    block = os.urandom(MB)
    started = time.perf_counter()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        for _ in range(nbytes // MB):
            os.write(fd, block)
        os.fsync(fd)
    finally:
        os.close(fd)
    elapsed = time.perf_counter() - started
    path.unlink()
    return round(nbytes / MB / elapsed, 1)


def probe_api(url: str, stop: threading.Event, out: list[float]) -> None:
    """GET /api/cameras back to back (a 50 ms pause between), latencies in ms."""
    with httpx.Client(base_url=url, timeout=30) as http:
        while not stop.is_set():
            started = time.perf_counter()
            http.get("/api/cameras").raise_for_status()
            out.append((time.perf_counter() - started) * 1000.0)
            stop.wait(0.05)


def sample_rss(pid: int, stop: threading.Event, out: list[int]) -> None:
    while not stop.is_set():
        with contextlib.suppress(OSError):
            out.append(proc_status(pid)["rss_kib"])
        stop.wait(0.2)


def while_running(
    work: Callable[[], Any], pid: int, url: str
) -> tuple[Any, list[float], list[int]]:
    """work() with the API probe and the RSS sampler running beside it."""
    stop = threading.Event()
    api_ms: list[float] = []
    rss: list[int] = []
    threads = [
        threading.Thread(target=probe_api, args=(url, stop, api_ms), daemon=True),
        threading.Thread(target=sample_rss, args=(pid, stop, rss), daemon=True),
    ]
    for t in threads:
        t.start()
    try:
        result = work()
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    return result, api_ms, rss


def bench_upload(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    clip = ensure_clip(640, 20.0)
    size = int(args.gb * GB)
    big = padded_mp4(clip, work / "big.mp4", size)
    baseline_bytes = min(GB, size)
    log(f"upload: disk baseline ({baseline_bytes / MB:.0f} MB written and fsync'ed)")
    disk_mbps = disk_write_mb_per_s(work, baseline_bytes)
    env = {"AUTO_START_CAM": "false", "MAX_VIDEO_UPLOAD_GB": str(max(10.0, args.gb * 2))}
    with Server(work / "upload", **env) as server:
        _, idle_api_ms, idle_rss = while_running(lambda: time.sleep(5), server.pid, server.url)
        log(f"upload: 3 x {args.gb:g} GiB in parallel")

        def three() -> list[dict[str, Any]]:
            out: list[dict[str, Any]] = [{}, {}, {}]

            def one(i: int) -> None:
                with httpx.Client(base_url=server.url) as http:
                    out[i] = upload_file(http, big, f"big-{i}.mp4")

            threads = [threading.Thread(target=one, args=(i,)) for i in range(3)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            return out

        started = time.perf_counter()
        uploads, api_ms, rss = while_running(three, server.pid, server.url)
        wall_s = time.perf_counter() - started
        hwm = proc_status(server.pid)["hwm_kib"]
        with httpx.Client(base_url=server.url, timeout=30) as http:
            for u in uploads:
                if u.get("id") is not None:
                    http.post(f"/api/video_file/{u['id']}/cancel")
        tracebacks = server.tracebacks()
    rss_base = float(np.median(idle_rss)) / 1024
    rss_peak = max(rss, default=0) / 1024
    return {
        "file_gib": round(size / GB, 2),
        "uploads": uploads,
        "wall_s": round(wall_s, 1),
        "aggregate_mb_per_s": round(3 * size / MB / wall_s, 1),
        "baseline_disk_write_mb_per_s": disk_mbps,
        "rss_baseline_mb": round(rss_base, 1),
        "rss_peak_mb": round(rss_peak, 1),
        "rss_growth_mb": round(rss_peak - rss_base, 1),
        "vmhwm_after_mb": round(hwm / 1024, 1),
        "api_ms": spread(api_ms),
        "baseline_api_ms": spread(idle_api_ms),
        "tracebacks_in_log": tracebacks,
    }


# --- summary -------------------------------------------------------------------------------------


def target(name: str, value: float | None, limit: float, unit: str) -> dict[str, Any]:
    met = value is not None and value < limit
    return {"name": name, "value": value, "target": f"< {limit:g} {unit}", "met": met}


def targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    if "ws" in result:
        load = result["ws"]["load"]
        found.append(
            target("slow client dropped after", load["slow_client"]["dropped_after_s"], 10, "s")
        )
        found.append(target("live latency p95, 50 clients", load["latency_ms"]["p95"], 250, "ms"))
        found.append(target("event-loop lag p99", load["loop_lag_ms"]["p99"], 50, "ms"))
    if "hls" in result:
        hls = result["hls"]
        for phase in ("cold", "warm"):
            found.append(
                target(
                    f"HLS segment p99, 200 at once, {phase}", hls[f"{phase}_ms"]["p99"], 300, "ms"
                )
            )
            errors = sum(
                n
                for code, n in hls[f"{phase}_ms"]["statuses"].items()
                if int(code) >= 500 or int(code) == 0
            )
            found.append(target(f"HLS 5xx or failed, {phase}", errors, 1, ""))
    if "upload" in result:
        up = result["upload"]
        found.append(target("upload RSS growth", up["rss_growth_mb"], 100, "MB"))
        found.append(target("GET /api/cameras p99 during uploads", up["api_ms"]["p99"], 200, "ms"))
    return found


def ms(s: dict[str, Any]) -> str:
    return f"p50 {s['p50']} ms, p95 {s['p95']} ms, p99 {s['p99']} ms"


def print_summary(result: dict[str, Any]) -> None:
    m = result["machine"]
    lines = [f"load average {m['loadavg_start']} -> {m['loadavg_end']} ({m['cpu_cores']} cores)"]
    if "ws" in result:
        b, w = result["ws"]["baseline"], result["ws"]["load"]
        slow = w["slow_client"]["dropped_after_s"]
        lines += [
            f"ws baseline, {b['clients']} clients: latency {ms(b['latency_ms'])}",
            f"ws {w['clients']} clients + 1 at 1 KB/s, {w['seconds']} s: latency "
            f"{ms(w['latency_ms'])} (p95 x{w['ratio_p95_to_baseline']} of baseline)",
            f"   {w['messages_per_client_per_s']} msg/s a client, cameras "
            f"{w['cameras_fps_out']} fps; slow client dropped after {slow} s; "
            f"loop lag {w['loop_lag_ms']} ms",
        ]
    if "hls" in result:
        h = result["hls"]
        lines.append(
            f"hls: {h['segments']} segments of ~{h['segment_kb_mean']} KB; one warm segment "
            f"at a time: {ms(h['baseline_one_warm_segment_at_a_time_ms'])}"
        )
        for phase in ("baseline_healthz", "cold", "warm"):
            s = h[f"{phase}_ms"]
            lines.append(f"hls 200 at once, {phase}: {ms(s)}, statuses {s['statuses']}")
        lines.append(f"   warm: {h['mb_sent_per_round']} MB sent at {h['warm_mb_per_s']} MB/s")
    if "upload" in result:
        u = result["upload"]
        statuses = [x.get("status") for x in u["uploads"]]
        lines += [
            f"upload 3 x {u['file_gib']} GiB: {u['aggregate_mb_per_s']} MB/s together (this "
            f"disk alone {u['baseline_disk_write_mb_per_s']} MB/s), statuses {statuses}",
            f"   RSS {u['rss_baseline_mb']} -> peak {u['rss_peak_mb']} MB "
            f"(+{u['rss_growth_mb']}); GET /api/cameras {ms(u['api_ms'])} "
            f"(before the uploads: {ms(u['baseline_api_ms'])})",
        ]
    lines.append("targets (docs/reliability.md, Load):")
    for t in result["targets"]:
        verdict = "met" if t["met"] else "NOT MET"
        lines.append(f"  {t['name']}: {t['value']} (target {t['target']}): {verdict}")
    print("\n".join(lines))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter windows, 0.5 GiB uploads")
    parser.add_argument("--only", default="ws,hls,upload", help="comma-separated parts to run")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--width", type=int, default=640, help="camera clip width (16:9)")
    parser.add_argument("--warm-up", type=float, default=10.0, help="seconds before measuring")
    parser.add_argument("--baseline-seconds", type=float, default=20.0)
    parser.add_argument("--ws-seconds", type=float, default=60.0)
    parser.add_argument("--hls-minutes", type=float, default=5.0)
    parser.add_argument("--gb", type=float, default=2.0, help="GiB of each of the 3 uploads")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--results", type=Path, default=RESULTS, help="the JSON written")
    args = parser.parse_args()
    if args.quick:
        args.baseline_seconds, args.ws_seconds, args.warm_up = 10.0, 30.0, 5.0
        args.gb = min(args.gb, 0.5)
    parts = [p.strip() for p in args.only.split(",") if p.strip()]
    work = Path(tempfile.mkdtemp(prefix="pigweight-load-", dir=args.work))
    result: dict[str, Any] = {
        "machine": {
            "cpu_cores": os.cpu_count(),
            "loadavg_start": [round(x, 2) for x in os.getloadavg()],
        },
        "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
    }
    try:
        for part, run in (("ws", bench_ws), ("hls", bench_hls), ("upload", bench_upload)):
            if part in parts:
                started = time.monotonic()
                result[part] = run(args, work)
                result[part]["wall_s"] = round(time.monotonic() - started, 1)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result["machine"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    result["targets"] = targets(result)
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(result, indent=1) + "\n")
    print_summary(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Live latency: how old a camera frame is when a viewer has it decoded, WebRTC beside MJPEG.

    .venv/bin/python bench/latency.py [--seconds 20] [--width 1280 --height 720 --fps 25]

A camera source made for the bench writes the wall-clock time (ms) into every frame at
capture, as 32 black-or-white blocks across its top-left corner, then hands it to the
server like any camera. In the same process, on 127.0.0.1 (WEBRTC_HOSTS=127.0.0.1):

- an aiortc peer receives the WebRTC track (every camera frame) and reads each decoded
  frame's stamp: age = now - stamp;
- an HTTP client reads the MJPEG stream (the annotated frames the counter publishes at
  TARGET_FPS) and decodes each JPEG's stamp the same way.

Both run at once for `--seconds`. Prints p50/p95/max per path and writes
bench/results/latency.json. Target (issue 7): WebRTC p95 < 300 ms from camera frame to
decoded frame; MJPEG is the baseline of the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
import uvicorn
from aiortc import RTCPeerConnection, RTCSessionDescription

from pigweight.app import create_app
from pigweight.domain import Frame, Image
from pigweight.media.source import FrameSlot, SourceState, SourceStatus
from pigweight.settings import Settings

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "latency.json"
BITS = 32
BLOCK = 24  # px: survives H.264 and JPEG at any sane quality
BOUNDARY = b"--"


def stamp(image: Image, ms: int) -> None:
    """Write ms (mod 2^32) into the top-left corner: bit i is block i, white for 1."""
    for i in range(BITS):
        value = 255 if (ms >> (BITS - 1 - i)) & 1 else 0
        image[0:BLOCK, i * BLOCK : (i + 1) * BLOCK] = value


def read_stamp(image: Image) -> int:
    """The ms written by stamp(), from the centre of each block."""
    y = BLOCK // 2
    ms = 0
    for i in range(BITS):
        pixel = image[y, i * BLOCK + BLOCK // 2]
        ms = (ms << 1) | int(int(pixel.mean()) > 127)
    return ms


def age_ms(ms: int) -> float:
    now = int(time.time() * 1000) & 0xFFFFFFFF
    return float((now - ms) & 0xFFFFFFFF)


class StampedSource:
    """A camera that sends the demo scene at `fps`, each frame stamped when captured."""

    def __init__(self, width: int, height: int, fps: float) -> None:
        from pigweight.synthetic.scene import DemoScene

        scene = DemoScene(seed=3, width=width, height=height, fps=int(fps), seconds=2)
        self.frames = [scene.frame(i).image for i in range(scene.frame_count)]
        self.fps = fps
        self._slot = FrameSlot()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._count = 0
        self._size = (width, height)

    @property
    def status(self) -> SourceStatus:
        return SourceStatus(
            state=SourceState.STREAMING,
            frames=self._count,
            streaming_since=time.time(),
            width=self._size[0],
            height=self._size[1],
        )

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="stamped-source", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)

    def latest(self, after_index: int = -1, timeout_s: float = 1.0) -> Frame | None:
        return self._slot.get(after_index, timeout_s)

    def _run(self) -> None:
        period = 1.0 / self.fps
        due = time.monotonic()
        while not self._stop.is_set():
            image = self.frames[self._count % len(self.frames)].copy()
            stamp(image, int(time.time() * 1000) & 0xFFFFFFFF)
            self._slot.put(Frame(image, time.time(), self._count, "bench"))
            self._count += 1
            due += period
            self._stop.wait(max(0.0, due - time.monotonic()))


async def webrtc_ages(url: str, seconds: float) -> list[float]:
    pc = RTCPeerConnection()
    pc.addTransceiver("video", direction="recvonly")
    ages: list[float] = []
    tasks: list[asyncio.Future[None]] = []

    @pc.on("track")
    def on_track(track: Any) -> None:
        async def pump() -> None:
            while True:
                frame = await track.recv()
                ages.append(age_ms(read_stamp(frame.to_ndarray(format="rgb24"))))

        tasks.append(asyncio.ensure_future(pump()))

    await pc.setLocalDescription(await pc.createOffer())
    async with httpx.AsyncClient(timeout=30) as http:
        r = await http.post(
            f"{url}/api/webrtc/bench/offer", json={"sdp": pc.localDescription.sdp, "type": "offer"}
        )
    r.raise_for_status()
    await pc.setRemoteDescription(RTCSessionDescription(**r.json()))
    await asyncio.sleep(2.0)  # connect and warm up: not measured
    ages.clear()
    await asyncio.sleep(seconds)
    measured = list(ages)
    for task in tasks:
        task.cancel()
    await pc.close()
    return measured


def mjpeg_ages(url: str, seconds: float, out: list[float]) -> None:
    """Read the MJPEG stream for `seconds` (after 2 s of warm-up), appending frame ages."""
    started = time.monotonic()
    buffer = b""
    with httpx.stream("GET", f"{url}/api/cameras/bench/mjpeg", timeout=30) as response:
        for chunk in response.iter_bytes():
            buffer += chunk
            while True:
                start = buffer.find(b"\xff\xd8")
                end = buffer.find(b"\xff\xd9", start + 2)
                if start < 0 or end < 0:
                    break
                jpeg, buffer = buffer[start : end + 2], buffer[end + 2 :]
                image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
                if image is not None and time.monotonic() - started > 2.0:
                    out.append(age_ms(read_stamp(image[:, :, ::-1])))
            if time.monotonic() - started > seconds + 2.0:
                return


def cores_used(work: Any) -> float:
    """CPU cores the whole process used on average while `work()` ran."""
    cpu, wall = time.process_time(), time.monotonic()
    work()
    return round((time.process_time() - cpu) / (time.monotonic() - wall), 2)


def pct(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 1) if values else float("nan")


def summary(values: list[float]) -> dict[str, Any]:
    return {
        "frames": len(values),
        "p50_ms": pct(values, 50),
        "p95_ms": pct(values, 95),
        "max_ms": round(max(values), 1) if values else None,
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--fps", type=float, default=25.0)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="pigweight-latency-"))
    cameras = work / "cameras.yaml"
    cameras.write_text("cameras:\n  - {id: bench, name: Bench, url: bench.mp4}\n")
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=work / "data",
        records_dir=work / "records",
        log_dir=work / "logs",
        cameras_file=cameras,
        auto_start_cam=True,
        webrtc_hosts=["127.0.0.1"],
    )
    source = StampedSource(args.width, args.height, args.fps)
    app = create_app(settings, source_factory=lambda _config: source)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    while not server.started:
        time.sleep(0.05)
    deadline = time.monotonic() + 60
    while httpx.get(f"{url}/api/cameras/bench/status").json()["state"] != "streaming":
        if time.monotonic() > deadline:
            raise RuntimeError("the bench camera never streamed")
        time.sleep(0.2)
    # CPU of the whole process (camera, counter, server, both viewers): first with the MJPEG
    # viewer alone, then with the WebRTC peer as well; the difference is what one WebRTC
    # viewer costs (the server's VP8 encoding plus this bench's decoding of it).
    alone: list[float] = []
    cpu_alone = cores_used(lambda: mjpeg_ages(url, args.seconds, alone))
    mjpeg: list[float] = []
    reader = threading.Thread(target=mjpeg_ages, args=(url, args.seconds, mjpeg), daemon=True)
    webrtc: list[float] = []

    def both() -> None:
        reader.start()
        webrtc.extend(asyncio.run(webrtc_ages(url, args.seconds)))
        reader.join(args.seconds + 30)

    cpu_both = cores_used(both)
    server.should_exit = True
    thread.join(15)
    result = {
        "cpu_cores": os.cpu_count(),
        "camera": f"{args.width}x{args.height} at {args.fps:g} fps, stamped at capture",
        "seconds": args.seconds,
        "webrtc": summary(webrtc),
        "mjpeg_baseline": summary(mjpeg),
        "process_cores_mjpeg_viewer_only": cpu_alone,
        "process_cores_with_a_webrtc_viewer": cpu_both,
        "cores_one_webrtc_viewer_adds": round(cpu_both - cpu_alone, 2),
    }
    w, m = result["webrtc"], result["mjpeg_baseline"]
    result["ratio_p95_webrtc_to_mjpeg"] = round(w["p95_ms"] / m["p95_ms"], 2) if mjpeg else None
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=1) + "\n")
    print(
        f"WebRTC: {w['frames']} frames, age p50 {w['p50_ms']} ms, p95 {w['p95_ms']} ms, "
        f"max {w['max_ms']} ms (target p95 < 300 ms)\n"
        f"MJPEG (same run): {m['frames']} frames, age p50 {m['p50_ms']} ms, "
        f"p95 {m['p95_ms']} ms, max {m['max_ms']} ms "
        f"(WebRTC p95 x{result['ratio_p95_webrtc_to_mjpeg']})\n"
        f"CPU of the process: {cpu_alone} cores with the MJPEG viewer alone, {cpu_both} with "
        f"a WebRTC viewer too (+{result['cores_one_webrtc_viewer_adds']}: encode and decode)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

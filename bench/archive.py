"""Video archive: a 1-hour 1080p file and a 10 GB file through probe, HLS, index, queries.

    python bench/archive.py                          # everything: ~5 min on 2 cores, ~24 GiB disk
    python bench/archive.py --index-minutes 2        # a shorter index window
    python bench/archive.py --no-10gb                # no 10 GB file (HLS/upload use the 1 h one)
    python bench/archive.py --work /big/disk --keep  # files made there and kept for a rerun

Makes the files fast: one clip of `--clip-seconds` 1920x1080 25 fps frames of the synthetic
pig scene is encoded once with a keyframe every 2 s (an NVR-like ~3 Mbit/s clip, and a noisy
~25 Mbit/s one), then each long file is the clip stream-copied N times with shifted, continuous
timestamps (no re-encoding): a 1-hour file and a file of at least 10 GiB. Free disk is checked
first; the files are deleted at the end unless --keep.

Measures, each beside a baseline taken in the same run (ratio printed):
- probe time (probe_video) of both files, cold (file dropped from the page cache) and warm,
  beside opening the container alone;
- playlist time (plan_segments + playlist) on the 10 GB file;
- segment time p50/p95 of random segments of the 10 GB file (remux_segment, cold), beside
  demuxing the same packets without writing them;
- index throughput as a multiple of real time over the first --index-minutes of the 1 h file
  (index_file_blocking with the classic and ONNX segmenters, and with one that finds nothing:
  the indexer's own cost) beside the keyframe-only decode throughput of the same window;
- exact-frame seek p50/p95 (frame_at, random t) beside seeking straight to keyframes;
- through a real `pigweight serve`: count_at_time p50/p99 with 10 concurrent clients on
  indexed times (beside GET /healthz under the same load) and on-demand misses; the server's
  RSS during a 10 GB upload (beside copying 1 GiB to the same disk); HLS over HTTP.

Prints a summary with each issue-5 target met or not and writes bench/results/archive.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import random
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import av
import cv2
import httpx
import numpy as np
from load import Server  # a sibling script: bench/ is first on the import path

from pigweight.domain import Detections, Image
from pigweight.media.frame_reader import INDEX_MAX_SIDE_PX
from pigweight.media.hls import frame_at, plan_segments, playlist, remux_segment
from pigweight.media.open_files import OpenFiles
from pigweight.media.probe import VideoInfo, open_video, probe_video
from pigweight.pipeline.index_job import plan_samples
from pigweight.pipeline.indexer import index_file_blocking
from pigweight.settings import Settings
from pigweight.store import videos as repo
from pigweight.store.db import open_database
from pigweight.vision.pig_detector import default_model_present
from pigweight.vision.segmenter import Segmenter, create_segmenter

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "archive.json"
ONNX_MODEL = REPO.parent / "shared" / "models" / "yolo11n-seg-pig-random.onnx"
GB = 1 << 30
MB = 1 << 20
WIDTH, HEIGHT, FPS, GOP = 1920, 1080, 25, 50  # a keyframe every 2 s
HOUR_BITRATE = 3_000_000  # what an NVR records 1080p at
BIG_BITRATE = 25_000_000  # a 10 GB hour
NOISE = {"hour": 6, "big": 12}  # sensor-like noise (0..N added and subtracted) so bits are spent
ONE_SLICE_S = 20.0  # the one-slice-a-frame clip for the seek figure
CLIENTS = 10
T0 = time.monotonic()


def log(message: str) -> None:
    print(f"[{time.monotonic() - T0:6.1f} s] {message}", file=sys.stderr, flush=True)


def pct(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 2) if values else math.nan


def ms(seconds: float) -> float:
    return round(seconds * 1000.0, 2)


def drop_cache(path: Path) -> None:
    """Evict a (clean, fsync'ed) file from the page cache: the next read goes to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --- making the files --------------------------------------------------------------------


def check_disk(work: Path, need: int, no_10gb: bool) -> None:
    free = shutil.disk_usage(work).free
    if free < need:
        hint = "" if no_10gb else ", or pass --no-10gb to skip the 10 GB file"
        raise SystemExit(
            f"bench/archive.py needs {need / GB:.1f} GiB free in {work} and there are "
            f"{free / GB:.1f} GiB: free some space, choose another --work folder{hint}"
        )
    log(f"disk: {free / GB:.1f} GiB free in {work}, {need / GB:.1f} GiB needed")


def _stream(container: av.container.OutputContainer, bit_rate: int, preset: str) -> Any:
    stream = container.add_stream("libx264", rate=FPS)
    stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
    stream.bit_rate = bit_rate
    # A fixed 2 s GOP: keyint_min = g and no scene-cut keyframes.
    stream.options = {
        "preset": preset,
        "g": str(GOP),
        "keyint_min": str(GOP),
        "sc_threshold": "0",
    }
    return stream


def make_clips(work: Path, seconds: float, big: bool) -> dict[str, Path]:
    """Encode the source clips once: `hour` (~3 Mbit/s) and `big` (~25 Mbit/s, noisier)."""
    from pigweight.synthetic.scene import DemoScene

    scene = DemoScene(seed=5, width=WIDTH, height=HEIGHT, fps=FPS, seconds=seconds)
    rng = np.random.default_rng(5)
    kinds = ["hour", "big"] if big else ["hour"]
    noise = {
        k: rng.integers(0, NOISE[k] + 1, (HEIGHT + 64, WIDTH + 64, 3), np.uint8) for k in kinds
    }
    paths = {k: work / f"clip-{k}.mp4" for k in kinds}
    outs = {k: av.open(str(paths[k]), mode="w") for k in kinds}
    streams = {
        "hour": _stream(outs["hour"], HOUR_BITRATE, "veryfast"),
        **({"big": _stream(outs["big"], BIG_BITRATE, "ultrafast")} if big else {}),
    }
    try:
        for i in range(scene.frame_count):
            image = scene.frame(i).image
            for k in kinds:
                dy, dx, ey, ex = rng.integers(0, 64, 4)
                plus = noise[k][dy : dy + HEIGHT, dx : dx + WIDTH]
                minus = noise[k][ey : ey + HEIGHT, ex : ex + WIDTH]
                noisy = np.asarray(cv2.subtract(cv2.add(image, plus), minus), np.uint8)
                frame = av.VideoFrame.from_ndarray(noisy, format="rgb24")
                outs[k].mux(streams[k].encode(frame))
            if i % (FPS * 10) == 0:
                log(f"encoding the source clip: {i / FPS:.0f}/{seconds:.0f} s")
        for k in kinds:
            outs[k].mux(streams[k].encode(None))
    finally:
        for out in outs.values():
            out.close()
    return paths


def concat(clip: Path, out: Path, copies: int) -> None:
    """`copies` times the clip, stream-copied, each copy's timestamps shifted to follow on."""
    with av.open(str(clip)) as src:
        stream = src.streams.video[0]
        dts = [(p.dts, p.duration or 0) for p in src.demux(stream) if p.dts is not None]
    span = max(d + n for d, n in dts) - min(d for d, _ in dts)
    tmp = out.with_name(out.name + ".tmp")
    with av.open(str(tmp), mode="w", format="mp4") as dst:
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
            if k % 10 == 9:
                log(f"{out.name}: {k + 1}/{copies} copies, {tmp.stat().st_size / GB:.2f} GiB")
    fsync_file(tmp)  # clean pages: drop_cache can evict them
    os.replace(tmp, out)


def make_one_slice_clip(out: Path, seconds: float) -> None:
    """A short 1080p clip like the hour's but one slice a frame (frame-threaded encoding),
    as many cameras write it: the decoder cannot split a frame among its threads then."""
    from pigweight.synthetic.scene import DemoScene

    scene = DemoScene(seed=5, width=WIDTH, height=HEIGHT, fps=FPS, seconds=seconds)
    rng = np.random.default_rng(6)
    noise = rng.integers(0, NOISE["hour"] + 1, (HEIGHT + 64, WIDTH + 64, 3), np.uint8)
    tmp = out.with_name(out.name + ".tmp")
    with av.open(str(tmp), mode="w", format="mp4") as container:
        stream = _stream(container, HOUR_BITRATE, "veryfast")
        stream.thread_type = "FRAME"  # PyAV's default (SLICE) makes x264 cut slices
        for i in range(scene.frame_count):
            dy, dx, ey, ex = rng.integers(0, 64, 4)
            plus = noise[dy : dy + HEIGHT, dx : dx + WIDTH]
            minus = noise[ey : ey + HEIGHT, ex : ex + WIDTH]
            noisy = cv2.subtract(cv2.add(scene.frame(i).image, plus), minus)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(noisy, format="rgb24")))
        container.mux(stream.encode(None))
    os.replace(tmp, out)


def make_files(args: argparse.Namespace, media: Path) -> dict[str, Any]:
    one_slice = media / "one-slice-1080p.mp4"
    if not one_slice.is_file():
        log(f"encoding {one_slice.name} ({ONE_SLICE_S:.0f} s)")
        make_one_slice_clip(one_slice, ONE_SLICE_S)
    hour = media / "archive-1h.mp4"
    big = media / "archive-10g.mp4"
    wanted = {"hour": hour} if args.no_10gb else {"hour": hour, "big": big}
    missing = [k for k, p in wanted.items() if not p.is_file()]
    made: dict[str, Any] = {"reused": sorted(set(wanted) - set(missing))}
    if missing:
        started = time.monotonic()
        clips = make_clips(media, args.clip_seconds, "big" in missing)
        made["clip_encode_s"] = round(time.monotonic() - started, 1)
        clip_s = probe_video(clips["hour"]).duration_s
        if "hour" in missing:
            started = time.monotonic()
            concat(clips["hour"], hour, math.ceil(3600.0 / clip_s - 1e-6))
            made["hour_remux_s"] = round(time.monotonic() - started, 1)
        if "big" in missing:
            started = time.monotonic()
            # One copy more than the sizes say: the moov of the long file is not counted.
            copies = math.ceil(args.big_gib * GB / clips["big"].stat().st_size) + 1
            concat(clips["big"], big, copies)
            made["big_remux_s"] = round(time.monotonic() - started, 1)
        for clip in clips.values():
            clip.unlink()
    made["one_slice"] = str(one_slice)
    made["paths"] = {k: str(p) for k, p in wanted.items()}
    made["sizes_gib"] = {k: round(p.stat().st_size / GB, 3) for k, p in wanted.items()}
    return made


# --- probe, HLS, seek --------------------------------------------------------------------


def bench_probe(path: Path, repeats: int = 5) -> tuple[VideoInfo, dict[str, Any]]:
    drop_cache(path)
    started = time.perf_counter()
    info = probe_video(path)
    cold = time.perf_counter() - started
    warm, opened = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        probe_video(path)
        warm.append(time.perf_counter() - started)
        started = time.perf_counter()
        open_video(path).close()
        opened.append(time.perf_counter() - started)
    warm_ms, open_ms = ms(float(np.median(warm))), ms(float(np.median(opened)))
    return info, {
        "size_gib": round(info.size_bytes / GB, 3),
        "duration_s": round(info.duration_s, 3),
        "keyframes": len(info.keyframes),
        "frames": info.frames,
        "truncated": info.truncated,
        "cold_ms": ms(cold),
        "warm_ms": warm_ms,
        "baseline_open_only_ms": open_ms,
        "ratio_to_open": round(warm_ms / open_ms, 2) if open_ms else None,
    }


def bench_playlist(info: VideoInfo, repeats: int = 20) -> dict[str, Any]:
    times = []
    text = ""
    for _ in range(repeats):
        started = time.perf_counter()
        segments = plan_segments(info.keyframes, info.duration_s)
        text = playlist(segments, lambda n: f"{n}.ts")
        times.append(time.perf_counter() - started)
    return {
        "segments": len(segments),
        "bytes": len(text),
        "p50_ms": ms(float(np.median(times))),
        "max_ms": ms(max(times)),
    }


def _demux_segment(path: Path, info: VideoInfo, start_s: float, end_s: float) -> int:
    """Read a segment's packets without writing them: bytes read (the remux floor)."""
    total = 0
    with open_video(path) as src:
        stream = src.streams.video[0]
        tb = stream.time_base
        assert tb is not None
        half = 0.5 / info.fps
        src.seek(round((start_s + info.start_s + half) / tb), backward=True, stream=stream)
        for packet in src.demux(stream):
            ts = packet.pts if packet.pts is not None else packet.dts
            if ts is None:
                continue
            t = float(ts * tb) - info.start_s
            if packet.is_keyframe and t >= end_s - half:
                break
            total += packet.size
    return total


def bench_segments(path: Path, info: VideoInfo, n: int, work: Path, rng: random.Random) -> Any:
    segments = plan_segments(info.keyframes, info.duration_s)
    picked = rng.sample(segments, min(n, len(segments)))
    remux, demux, sizes = [], [], []
    out = work / "segment.ts"
    for i, segment in enumerate(picked):
        drop_cache(path)
        started = time.perf_counter()
        remux_segment(path, info, segment, out)
        remux.append(time.perf_counter() - started)
        sizes.append(out.stat().st_size)
        out.unlink()
        drop_cache(path)
        started = time.perf_counter()
        _demux_segment(path, info, segment.start_s, segment.end_s)
        demux.append(time.perf_counter() - started)
        if i % 10 == 9:
            log(f"segments: {i + 1}/{len(picked)}")
    remux_ms = [ms(s) for s in remux]
    demux_ms = [ms(s) for s in demux]
    return {
        "n": len(picked),
        "cold": True,
        "p50_ms": pct(remux_ms, 50),
        "p95_ms": pct(remux_ms, 95),
        "max_ms": max(remux_ms),
        "mean_segment_mb": round(float(np.mean(sizes)) / MB, 2),
        "baseline_demux_only_p50_ms": pct(demux_ms, 50),
        "baseline_demux_only_p95_ms": pct(demux_ms, 95),
        "ratio_p50_to_demux": round(pct(remux_ms, 50) / pct(demux_ms, 50), 2),
    }


def bench_seek(path: Path, info: VideoInfo, n: int, rng: random.Random) -> dict[str, Any]:
    """frame_at at random t (exact frame) as the archive does it (the file kept open), beside
    opening the file for each seek and seeking to keyframes (one decode: the floor)."""
    period = 1.0 / info.fps
    times = [rng.uniform(0.0, info.duration_s - period) for _ in range(n)]
    keys = rng.sample(list(info.keyframes), min(n, len(info.keyframes)))
    files = OpenFiles()
    frame_at(path, info, info.duration_s / 2, files)  # the archive's first seek opened it
    exact, fresh, at_key, wrong = [], [], [], 0
    for t in times:  # interleaved, so that a busy neighbour hurts both alike
        started = time.perf_counter()
        frame_t, image = frame_at(path, info, t, files)
        exact.append(ms(time.perf_counter() - started))
        if not (frame_t <= t + 1e-3 and t - frame_t < period + 1e-3):
            wrong += 1
        started = time.perf_counter()
        frame_at(path, info, t)
        fresh.append(ms(time.perf_counter() - started))
    for t in keys:
        started = time.perf_counter()
        frame_at(path, info, t, files)
        at_key.append(ms(time.perf_counter() - started))
    files.close()
    return {
        "n": n,
        "resolution": f"{image.shape[1]}x{image.shape[0]}",
        "p50_ms": pct(exact, 50),
        "p95_ms": pct(exact, 95),
        "max_ms": max(exact),
        "not_the_frame_shown_at_t": wrong,
        "opening_the_file_each_time_p50_ms": pct(fresh, 50),
        "opening_the_file_each_time_p95_ms": pct(fresh, 95),
        "baseline_at_keyframe_p50_ms": pct(at_key, 50),
        "baseline_at_keyframe_p95_ms": pct(at_key, 95),
        "ratio_p95_to_keyframe": round(pct(exact, 95) / pct(at_key, 95), 2),
    }


# --- indexing ------------------------------------------------------------------------------


def keyframe_decode(path: Path, info: VideoInfo, window_s: float, thread_type: str) -> Any:
    """Decode only the keyframes of [0, window_s) to RGB arrays, as the indexer would."""
    frames = 0
    started = time.perf_counter()
    with open_video(path) as src:
        stream = src.streams.video[0]
        stream.codec_context.skip_frame = "NONKEY"
        stream.thread_type = thread_type
        tb = stream.time_base
        assert tb is not None
        done = False
        for packet in src.demux(stream):
            for frame in stream.decode(packet):
                if frame.pts is not None and float(frame.pts * tb) - info.start_s >= window_s:
                    done = True
                    break
                frame.to_ndarray(format="rgb24")
                frames += 1
            if done:
                break
    elapsed = time.perf_counter() - started
    return {
        "thread_type": thread_type,
        "frames": frames,
        "seconds": round(elapsed, 2),
        "x_real_time": round(window_s / elapsed, 1),
        "frames_per_s": round(frames / elapsed, 1),
    }


class _WindowDone(Exception):
    pass


class NullSegmenter:
    """Finds nothing, at once: indexing with it measures the indexer's own work (decoding,
    storing, thumbnails) apart from the segmenter's."""

    name = "none"

    def segment(self, image: Image) -> Detections:
        return Detections.empty((image.shape[0], image.shape[1]))

    def segment_batch(self, images: Sequence[Image]) -> list[Detections]:
        return [self.segment(image) for image in images]


def index_window(
    path: Path,
    info: VideoInfo,
    segmenter: Segmenter,
    window_s: float,
    interval_s: float,
    work: Path,
    max_side_px: int = INDEX_MAX_SIDE_PX,
) -> dict[str, Any]:
    """index_file_blocking on a fresh database, stopped once [0, window_s) is indexed."""
    folder = Path(tempfile.mkdtemp(prefix=f"index-{segmenter.name}-", dir=work))
    engine = open_database(folder)
    with engine.begin() as conn:
        video_id = repo.add_video(conn, info, path.name, "register")
    times, keyframes_only = plan_samples(info, interval_s)
    wanted = sum(1 for t in times if t < window_s)
    # One untimed inference: model warm-up is not indexing.
    segmenter.segment(np.zeros((info.height, info.width, 3), np.uint8))

    def stop_at_window(done: int, _total: int) -> None:
        if done >= wanted:
            raise _WindowDone

    started = time.perf_counter()
    with contextlib.suppress(_WindowDone):
        index_file_blocking(
            engine,
            video_id,
            segmenter,
            interval_s=interval_s,
            progress_cb=stop_at_window,
            thumbs_dir=folder / "thumbs",
            max_side_px=max_side_px,
        )
    elapsed = time.perf_counter() - started
    with engine.connect() as conn:
        row = repo.get_video(conn, video_id)
    engine.dispose()
    shutil.rmtree(folder, ignore_errors=True)
    assert row is not None
    covered = min(row.indexed_until_s, info.duration_s)
    return {
        "segmenter": segmenter.name,
        "interval_s": interval_s,
        "max_side_px": max_side_px,
        "keyframes_only": keyframes_only,
        "video_s": round(covered, 1),
        "samples": row.samples_done,
        "seconds": round(elapsed, 2),
        "x_real_time": round(covered / elapsed, 1),
        "samples_per_s": round(row.samples_done / elapsed, 1),
        "hour_takes_min": round(3600.0 / (covered / elapsed) / 60.0, 1),
    }


def bench_index(args: argparse.Namespace, path: Path, info: VideoInfo, work: Path) -> Any:
    """Index runs, with the keyframe-only decode baseline measured before and after each.

    Other work on the machine comes and goes: the baseline is the best of its repeats, so a
    run is never flattered by a baseline measured in a busy moment.
    """
    window = min(args.index_minutes * 60.0, info.duration_s)
    log(f"keyframe-only decode of the first {window:.0f} s")
    decode = [keyframe_decode(path, info, window, tt) for tt in ("SLICE", "AUTO")]
    out: dict[str, Any] = {"window_s": window, "keyframe_decode": decode, "runs": []}
    no_env: dict[str, Any] = {"_env_file": None}  # only the values given here count
    classic = create_segmenter(Settings(segmenter="classic", **no_env).vision)
    full = INDEX_MAX_SIDE_PX
    runs: list[tuple[str, Callable[[], Segmenter], float, float, int]] = [
        ("classic", lambda: classic, args.interval, window, full),
        ("none", NullSegmenter, args.interval, window, full),
        # INDEX_MAX_SIDE_PX=800: faster, less accurate (docs/performance.md).
        ("classic", lambda: classic, args.interval, window, 800),
    ]
    if args.interval != 1.0:
        # The default INDEX_INTERVAL_S=1 on a 2 s GOP: not keyframes only (a shorter window).
        runs.append(("classic", lambda: classic, 1.0, min(window, 60.0), full))
    if default_model_present():
        pig = Settings(segmenter="pig", **no_env).vision  # the shipped detector, the default
        runs.append(("pig", lambda: create_segmenter(pig), args.interval, window, full))
    if ONNX_MODEL.is_file():
        onnx = Settings(segmenter="yolo_onnx", model_path=ONNX_MODEL, **no_env).vision
        runs.append(("yolo_onnx", lambda: create_segmenter(onnx), args.interval, window, full))
    else:
        out["onnx_note"] = f"{ONNX_MODEL} is absent: the ONNX segmenter was not measured"
    for name, make, interval, run_window, side in runs:
        log(f"indexing {run_window:.0f} s with {name} every {interval:g} s at {side} px")
        out["runs"].append(index_window(path, info, make(), run_window, interval, work, side))
        decode.append(keyframe_decode(path, info, window, "SLICE"))
    best = max(d["x_real_time"] for d in decode)
    for result in out["runs"]:
        result["ratio_to_keyframe_decode"] = round(result["x_real_time"] / best, 2)
    out["keyframe_decode_best_x"] = best
    return out


# --- the server -----------------------------------------------------------------------------


def rss_kib(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a process in KiB: now and the peak since it started."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


def load(url: str, paths: Callable[[random.Random], str], clients: int, per_client: int) -> Any:
    """`clients` connections, each sending `per_client` GETs back to back; latencies in ms.

    The clients are asyncio streams speaking plain HTTP/1.1 keep-alive, a few microseconds
    of work per request: ten Python threads with an HTTP library spend more CPU per request
    than the server does, and on two cores the figure would measure them, not the server.
    """
    return asyncio.run(_load(url, paths, clients, per_client))


async def _load(
    url: str, paths: Callable[[random.Random], str], clients: int, per_client: int
) -> Any:
    host, port = url.removeprefix("http://").split(":")
    latencies: list[float] = []
    failures: list[str] = []

    async def client(seed: int) -> None:
        rng = random.Random(seed)
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            for _ in range(per_client):
                path = paths(rng)
                started = time.perf_counter()
                writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                body = await reader.readexactly(length)
                latencies.append(ms(time.perf_counter() - started))
                status = int(head.split(b" ", 2)[1])
                if status != 200:
                    failures.append(f"{path}: {status} {body[:120]!r}")
                elif "count_at_time" in path and not json.loads(body)["indexed"]:
                    failures.append(f"{path}: not answered from the index")
        finally:
            writer.close()
            await writer.wait_closed()

    started = time.perf_counter()
    await asyncio.gather(*(client(i) for i in range(clients)))
    elapsed = time.perf_counter() - started
    return {
        "clients": clients,
        "requests": len(latencies),
        "p50_ms": pct(latencies, 50),
        "p95_ms": pct(latencies, 95),
        "p99_ms": pct(latencies, 99),
        "max_ms": max(latencies),
        "requests_per_s": round(len(latencies) / elapsed, 1),
        "failures": len(failures),
        "first_failures": failures[:3],
    }


def wait_indexed(http: httpx.Client, video_id: int, until_s: float, timeout_s: float) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        progress = http.get(f"/api/video_file/{video_id}").json()["progress"]
        if progress["indexed_until_s"] >= until_s or progress["state"] in ("done", "error"):
            return progress
        if time.monotonic() > deadline:
            return progress
        time.sleep(0.5)


def bench_count_at(
    server: Server, http: httpx.Client, hour: Path, args: argparse.Namespace
) -> dict[str, Any]:
    started = time.perf_counter()
    registered = http.post("/api/video_file/register", json={"path": hour.name}, timeout=120)
    registered.raise_for_status()
    video = registered.json()[0]
    video_id = int(video["id"])
    out: dict[str, Any] = {"register_ms": ms(time.perf_counter() - started), "video_id": video_id}
    log(f"server: registered {hour.name}; indexing its first {args.count_window_s:.0f} s")
    started = time.perf_counter()
    progress = wait_indexed(http, video_id, args.count_window_s, timeout_s=300)
    http.post(f"/api/video_file/{video_id}/cancel").raise_for_status()
    indexed = float(http.get(f"/api/video_file/{video_id}").json()["index"]["indexed_until_s"])
    out["server_index"] = {
        "indexed_until_s": indexed,
        "seconds": round(time.perf_counter() - started, 1),
        "speed_x_reported": progress.get("speed_x"),
    }
    hi = max(indexed - args.interval, 1.0)
    per_client = args.count_requests // CLIENTS

    def hit(rng: random.Random) -> str:
        return f"/api/video_file/count_at_time?id={video_id}&t={rng.uniform(0.0, hi):.3f}"

    log(f"count_at_time: {CLIENTS} clients x {per_client} requests (and /healthz as baseline)")
    load(server.url, lambda _rng: "/healthz", CLIENTS, 20)  # warm-up
    # A player's first query for a video loads its samples into memory (a database read):
    # that happens once when the video is opened, not with every query measured here.
    http.get("/api/video_file/count_at_time", params={"id": video_id, "t": "0"})
    out["baseline_healthz"] = load(server.url, lambda _rng: "/healthz", CLIENTS, per_client)
    out["indexed_hits"] = load(server.url, hit, CLIENTS, per_client)
    out["indexed_hits_one_client"] = load(server.url, hit, 1, min(per_client * 2, 400))
    base = out["baseline_healthz"]["p99_ms"]
    out["ratio_p99_to_healthz"] = round(out["indexed_hits"]["p99_ms"] / base, 2)
    rng = random.Random(7)
    misses = []
    for t in sorted(rng.uniform(indexed + 30.0, 3500.0) for _ in range(args.misses)):
        started = time.perf_counter()
        r = http.get("/api/video_file/count_at_time", params={"id": video_id, "t": f"{t:.3f}"})
        elapsed = ms(time.perf_counter() - started)
        r.raise_for_status()
        body = r.json()
        started = time.perf_counter()
        again = http.get("/api/video_file/count_at_time", params={"id": video_id, "t": f"{t:.3f}"})
        misses.append(
            {
                "t": round(t, 3),
                "ms": elapsed,
                "indexed": body["indexed"],
                "count": body["count"],
                "again_ms": ms(time.perf_counter() - started),
                "again_same": again.json()["sample_t"] == body["sample_t"],
            }
        )
    out["on_demand_misses"] = misses
    return out


def disk_copy_baseline(src: Path, work: Path, nbytes: int = GB) -> float:
    """MB/s of copying the first GiB of src to the same disk in 1 MiB writes, with fsync."""
    out = work / "copy-baseline.bin"
    started = time.perf_counter()
    copied = 0
    with src.open("rb") as f, out.open("wb") as g:
        while copied < nbytes and (chunk := f.read(MB)):
            g.write(chunk)
            copied += len(chunk)
        g.flush()
        os.fsync(g.fileno())
    elapsed = time.perf_counter() - started
    out.unlink()
    return round(copied / MB / elapsed, 1)


def bench_upload(server: Server, http: httpx.Client, path: Path, work: Path) -> dict[str, Any]:
    size = path.stat().st_size
    samples: list[tuple[float, int]] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            samples.append((time.monotonic(), rss_kib(server.pid)[0]))
            stop.wait(0.2)

    baseline_mbps = disk_copy_baseline(path, work)
    before = []
    for _ in range(5):
        before.append(rss_kib(server.pid)[0])
        time.sleep(0.2)
    hwm_before = rss_kib(server.pid)[1]
    sent = 0

    def chunks() -> Iterator[bytes]:
        nonlocal sent
        with path.open("rb") as f:
            while chunk := f.read(MB):
                sent += len(chunk)
                if sent % (GB // 2) < MB:
                    log(f"upload: {sent / GB:.1f}/{size / GB:.1f} GiB")
                yield chunk

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    r = http.post(
        "/api/video_file/upload",
        content=chunks(),
        headers={
            "X-Filename": "upload-" + path.name,
            "Content-Type": "application/octet-stream",
            "Content-Length": str(size),
        },
        timeout=httpx.Timeout(1800, connect=10),
    )
    elapsed = time.perf_counter() - started
    stop.set()
    sampler.join()
    hwm_after = rss_kib(server.pid)[1]
    if r.status_code != 201:
        raise RuntimeError(f"upload: {r.status_code} {r.text[:300]}")
    video_id = int(r.json()["id"])
    http.post(f"/api/video_file/{video_id}/cancel")  # measure HLS without the indexer running
    base = float(np.median(before)) / 1024
    peak = max(kib for _, kib in samples) / 1024
    return {
        "video_id": video_id,
        "bytes": size,
        "seconds": round(elapsed, 1),
        "mb_per_s": round(size / MB / elapsed, 1),
        "baseline_disk_copy_mb_per_s": baseline_mbps,
        "ratio_to_disk_copy": round(size / MB / elapsed / baseline_mbps, 2),
        "rss_baseline_mb": round(base, 1),
        "rss_peak_mb": round(peak, 1),
        "rss_growth_mb": round(peak - base, 1),
        "vmhwm_before_mb": round(hwm_before / 1024, 1),
        "vmhwm_after_mb": round(hwm_after / 1024, 1),
        "rss_samples": len(samples),
    }


def bench_hls_http(
    http: httpx.Client, video_id: int, path: Path, n: int, rng: random.Random, work: Path
) -> dict[str, Any]:
    """The playlist and cold/cached segments through the server (its cache starts empty),
    beside remuxing the same segments in this process (the server's own copy of the file,
    dropped from the page cache before each)."""
    url = f"/api/video_file/stream_hls/{video_id}"
    playlist_ms = []
    for _ in range(20):
        started = time.perf_counter()
        r = http.get(url, headers={"Accept-Encoding": "gzip"})
        playlist_ms.append(ms(time.perf_counter() - started))
        r.raise_for_status()
    count = r.text.count("#EXTINF")
    picked = rng.sample(range(count), min(n, count))
    info = probe_video(path)
    segments = plan_segments(info.keyframes, info.duration_s)
    cold, cached, local = [], [], []
    out = work / "segment.ts"
    for k in picked:  # interleaved: a load that varies over time falls on both alike
        drop_cache(path)
        started = time.perf_counter()
        http.get(f"{url}/{k}.ts").raise_for_status()
        cold.append(ms(time.perf_counter() - started))
        drop_cache(path)
        started = time.perf_counter()
        remux_segment(path, info, segments[k], out)
        local.append(ms(time.perf_counter() - started))
    for k in picked:
        started = time.perf_counter()
        http.get(f"{url}/{k}.ts").raise_for_status()
        cached.append(ms(time.perf_counter() - started))
    out.unlink(missing_ok=True)
    return {
        "playlist_gzip_bytes": len(r.content),
        "playlist_p50_ms": pct(playlist_ms, 50),
        "playlist_max_ms": max(playlist_ms),
        "segments": len(picked),
        "segment_cold_p50_ms": pct(cold, 50),
        "segment_cold_p95_ms": pct(cold, 95),
        "segment_cached_p50_ms": pct(cached, 50),
        "baseline_in_process_remux_p50_ms": pct(local, 50),
        "ratio_cold_p50_to_in_process": round(pct(cold, 50) / pct(local, 50), 2),
    }


def bench_server(args: argparse.Namespace, work: Path, media: Path, files: dict[str, Path]) -> Any:
    out: dict[str, Any] = {}
    with Server(
        work / "server",
        MEDIA_ROOTS=str(media),
        AUTO_START_CAM="false",
        INDEX_INTERVAL_S=str(args.interval),
    ) as server:
        with httpx.Client(base_url=server.url, timeout=60) as http:
            out["count_at_time"] = bench_count_at(server, http, files["hour"], args)
            upload_file = files.get("big", files["hour"])
            log(f"uploading {upload_file.name} ({upload_file.stat().st_size / GB:.1f} GiB)")
            out["upload"] = bench_upload(server, http, upload_file, work)
            out["upload"]["file"] = upload_file.name
            log("HLS over HTTP")
            video_id = out["upload"]["video_id"]
            name = http.get(f"/api/video_file/{video_id}").json()["name"]
            server_copy = server.root / "data" / "videos" / name
            out["hls_http"] = bench_hls_http(
                http, video_id, server_copy, 10, random.Random(3), work
            )
        out["tracebacks_in_log"] = server.tracebacks()
    return out


# --- summary -------------------------------------------------------------------------------


def target(name: str, value: float, op: str, limit: float, unit: str, note: str = "") -> Any:
    met = value >= limit if op == ">=" else value < limit
    return {
        "name": name,
        "value": value,
        "target": f"{op} {limit:g} {unit}".rstrip(),
        "met": met,
        **({"note": note} if note else {}),
    }


def targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    index = result.get("index")
    if index:
        classic = index["runs"][0]  # the classic segmenter at the default frame size
        for run in index["runs"]:
            if run["segmenter"] == "pig":  # the default counter since issue 17
                found.append(target("index pig, x real time", run["x_real_time"], ">=", 30, "x"))
        found.append(target("index classic, x real time", classic["x_real_time"], ">=", 30, "x"))
        found.append(
            target(
                "index classic / keyframe decode",
                classic["ratio_to_keyframe_decode"],
                ">=",
                0.8,
                "",
            )
        )
    hls_file = "10 GB" if "big" in result["files"]["paths"] else "1 h (--no-10gb)"
    found.append(
        target(f"playlist on {hls_file} file, max", result["playlist"]["max_ms"], "<", 50, "ms")
    )
    found.append(
        target(f"segment on {hls_file} file, p95", result["segments"]["p95_ms"], "<", 200, "ms")
    )
    found.append(target("exact-frame seek 1080p, p95", result["seek"]["p95_ms"], "<", 100, "ms"))
    found.append(
        target(
            "exact-frame seek 1080p, one slice a frame, p95",
            result["seek_one_slice"]["p95_ms"],
            "<",
            100,
            "ms",
        )
    )
    server = result.get("server")
    if server:
        hits = server["count_at_time"]["indexed_hits"]
        found.append(target("count_at_time p99, 10 clients", hits["p99_ms"], "<", 5, "ms"))
        upload = server["upload"]
        found.append(target("upload RSS growth", upload["rss_growth_mb"], "<", 100, "MB"))
    return found


def print_summary(result: dict[str, Any]) -> None:
    lines = []
    for key in ("hour", "big"):
        if key in result["probe"]:
            p = result["probe"][key]
            lines.append(
                f"probe {key:4} ({p['size_gib']:.2f} GiB, {p['duration_s']:.0f} s): "
                f"cold {p['cold_ms']} ms, warm {p['warm_ms']} ms "
                f"(open only {p['baseline_open_only_ms']} ms, x{p['ratio_to_open']})"
            )
    pl, sg, sk = result["playlist"], result["segments"], result["seek"]
    lines.append(
        f"playlist: p50 {pl['p50_ms']} ms, max {pl['max_ms']} ms ({pl['segments']} segments)"
    )
    lines.append(
        f"segment (cold): p50 {sg['p50_ms']} ms, p95 {sg['p95_ms']} ms "
        f"(demux only p50 {sg['baseline_demux_only_p50_ms']} ms, x{sg['ratio_p50_to_demux']})"
    )
    lines.append(
        f"seek {sk['resolution']}: p50 {sk['p50_ms']} ms, p95 {sk['p95_ms']} ms "
        f"(opening the file each time p95 {sk['opening_the_file_each_time_p95_ms']} ms; "
        f"at keyframes p95 {sk['baseline_at_keyframe_p95_ms']} ms, "
        f"x{sk['ratio_p95_to_keyframe']}); wrong frames: {sk['not_the_frame_shown_at_t']}"
    )
    so = result["seek_one_slice"]
    lines.append(
        f"seek, one slice a frame: p50 {so['p50_ms']} ms, p95 {so['p95_ms']} ms (at keyframes "
        f"p95 {so['baseline_at_keyframe_p95_ms']} ms); wrong frames: "
        f"{so['not_the_frame_shown_at_t']}"
    )
    index = result.get("index")
    if index:
        lines.append(
            f"keyframe-only decode of {index['window_s']:.0f} s (baseline: the best): "
            + ", ".join(f"{d['thread_type']} {d['x_real_time']}x" for d in index["keyframe_decode"])
        )
        for r in index["runs"]:
            lines.append(
                f"index {r['segmenter']} every {r['interval_s']:g} s at {r['max_side_px']} px "
                f"over {r['video_s']:.0f} s: "
                f"{r['x_real_time']}x real time ({r['samples_per_s']} samples/s, an hour in "
                f"{r['hour_takes_min']} min), x{r['ratio_to_keyframe_decode']} of keyframe decode"
            )
        if "onnx_note" in index:
            lines.append(index["onnx_note"])
    server = result.get("server")
    if server:
        c = server["count_at_time"]
        h, b, one = c["indexed_hits"], c["baseline_healthz"], c["indexed_hits_one_client"]
        lines.append(
            f"count_at_time, {h['clients']} clients, {h['requests']} indexed hits: p50 "
            f"{h['p50_ms']} ms, p99 {h['p99_ms']} ms, {h['requests_per_s']} req/s "
            f"(/healthz p99 {b['p99_ms']} ms, x{c['ratio_p99_to_healthz']}; one client p50 "
            f"{one['p50_ms']} ms, p99 {one['p99_ms']} ms); failures {h['failures']}"
        )
        misses = ", ".join(f"{m['ms']:.0f}" for m in c["on_demand_misses"])
        lines.append(f"count_at_time on-demand misses: {misses} ms")
        u = server["upload"]
        lines.append(
            f"upload {u['bytes'] / GB:.1f} GiB: {u['mb_per_s']} MB/s (disk copy "
            f"{u['baseline_disk_copy_mb_per_s']} MB/s), RSS {u['rss_baseline_mb']} -> peak "
            f"{u['rss_peak_mb']} MB (+{u['rss_growth_mb']} MB)"
        )
        hh = server["hls_http"]
        lines.append(
            f"HLS over HTTP: playlist p50 {hh['playlist_p50_ms']} ms, segment cold p50 "
            f"{hh['segment_cold_p50_ms']} ms p95 {hh['segment_cold_p95_ms']} ms (in process "
            f"{hh['baseline_in_process_remux_p50_ms']} ms, x{hh['ratio_cold_p50_to_in_process']}),"
            f" cached p50 {hh['segment_cached_p50_ms']} ms"
        )
    print("\n".join(lines))
    print("targets (issue 5):")
    for t in result["targets"]:
        verdict = "met" if t["met"] else "NOT MET"
        print(f"  {t['name']}: {t['value']} (target {t['target']}): {verdict}")


# --- main ------------------------------------------------------------------------------------


def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    media = work / "media"
    media.mkdir(parents=True, exist_ok=True)
    have = sum(p.stat().st_size for p in media.glob("archive-*.mp4"))
    hour_estimate = int(HOUR_BITRATE / 8 * 3600 * 1.3)
    need = hour_estimate + 2 * GB
    if not args.no_10gb:
        need += 2 * int(args.big_gib * GB)  # the file and its uploaded copy
    check_disk(work, max(need - have, 0), args.no_10gb)
    result: dict[str, Any] = {
        "machine": {"cpu_cores": os.cpu_count(), "loadavg_start": os.getloadavg()},
        "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
    }
    result["files"] = make_files(args, media)
    files = {k: Path(p) for k, p in result["files"]["paths"].items()}
    log(f"files: {result['files']['sizes_gib']} GiB")
    infos: dict[str, VideoInfo] = {}
    result["probe"] = {}
    for key, path in files.items():
        infos[key], result["probe"][key] = bench_probe(path)
    hls_key = "big" if "big" in files else "hour"
    rng = random.Random(args.seed)
    log("playlist and segments")
    result["playlist"] = bench_playlist(infos[hls_key])
    result["segments"] = bench_segments(files[hls_key], infos[hls_key], args.segments, work, rng)
    log("exact-frame seeks")
    result["seek"] = bench_seek(files["hour"], infos["hour"], args.seeks, rng)
    one_slice = Path(result["files"]["one_slice"])
    result["seek_one_slice"] = bench_seek(one_slice, probe_video(one_slice), args.seeks, rng)
    result["index"] = bench_index(args, files["hour"], infos["hour"], work)
    if not args.no_server:
        result["server"] = bench_server(args, work, media, files)
    result["machine"]["loadavg_end"] = os.getloadavg()
    result["targets"] = targets(result)
    result["wall_s"] = round(time.monotonic() - T0, 1)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--work",
        type=Path,
        default=Path(tempfile.gettempdir()),
        help="the files go in WORK/pigweight-archive-bench/ (default: the temp folder)",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the files there (the next run reuses them)"
    )
    parser.add_argument("--no-10gb", action="store_true", help="skip the 10 GB file")
    parser.add_argument("--big-gib", type=float, default=10.0, help="size of the big file")
    parser.add_argument("--clip-seconds", type=float, default=60.0, help="source clip length")
    parser.add_argument("--index-minutes", type=float, default=5.0, help="index window")
    parser.add_argument(
        "--interval", type=float, default=2.0, help="index interval (2 = the keyframe interval)"
    )
    parser.add_argument("--segments", type=int, default=30)
    parser.add_argument("--seeks", type=int, default=50)
    parser.add_argument("--count-requests", type=int, default=2000)
    parser.add_argument("--count-window-s", type=float, default=120.0, help="indexed by the server")
    parser.add_argument("--misses", type=int, default=5, help="on-demand count_at_time queries")
    parser.add_argument("--no-server", action="store_true", help="skip the server figures")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    work = (args.work / "pigweight-archive-bench").resolve()
    shutil.rmtree(work / "server", ignore_errors=True)  # a fresh server: no index, no uploads
    work.mkdir(parents=True, exist_ok=True)
    try:
        result = run(args, work)
    finally:
        if args.keep:
            # Only the generated files stay; the server's copy of the upload goes.
            shutil.rmtree(work / "server", ignore_errors=True)
            log(f"kept {work / 'media'}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=1) + "\n")
    print_summary(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())

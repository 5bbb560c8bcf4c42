"""Archive indexing by `pigweight worker` processes against indexing in-process.

    python bench/index_workers.py                      # 2 minutes of video, 2 files, 1280x720
    python bench/index_workers.py --seconds 120 --width 640 --height 360   # performance.md
    python bench/index_workers.py --seconds 3600       # the issue's hour (slow to write)

Writes `--seconds` of synthetic 1280x720 piglets as `--files` files (an NVR exports an hour in
parts; one job is one file, so two workers need two files), then indexes them three ways on a
fresh database each: in-process (`index_file_blocking`, one after the other), by one worker
and by two workers (subprocesses `pigweight worker`, started and idle before the clock
starts) through a local JetStream nats-server and the server's QueuedIndexer. The time is from
the first enqueue to every file done in the database.

Each is run `--repeat` times, interleaved; the best counts.
Prints the ratios: 1 worker against in-process (the queue's overhead), 1 against 2 workers;
writes bench/results/index_workers.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from archive import concat  # noqa: E402  (a sibling script: bench/ is first on the path)

from pigweight.pipeline.archive import store_file  # noqa: E402
from pigweight.pipeline.indexer import index_file_blocking  # noqa: E402
from pigweight.settings import SiteSettings, load_settings  # noqa: E402
from pigweight.sites.index_queue import QueuedIndexer, ensure_streams  # noqa: E402
from pigweight.store.db import open_database  # noqa: E402
from pigweight.synthetic import write_demo_video  # noqa: E402
from pigweight.vision.segmenter import create_segmenter  # noqa: E402

WORKER = [sys.executable, "-m", "pigweight", "worker"]
RESULTS = REPO / "bench" / "results" / "index_workers.json"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _nats(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    folder.mkdir(parents=True, exist_ok=True)
    conf = folder / "nats.conf"
    conf.write_text(f'listen: 127.0.0.1:{port}\njetstream {{ store_dir: "{folder / "js"}" }}\n')
    binary = shutil.which("nats-server") or "/usr/sbin/nats-server"
    proc = subprocess.Popen([binary, "-c", str(conf)], stderr=subprocess.DEVNULL)
    url = f"nats://127.0.0.1:{port}"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    asyncio.run(_streams(url))
    return proc, url


async def _streams(url: str) -> None:
    import nats

    nc = await nats.connect(url)
    await ensure_streams(nc.jetstream())
    await nc.drain()


def _in_process(folder: Path, clips: list[Path], args: argparse.Namespace) -> float:
    settings = load_settings(segmenter=args.segmenter)
    segmenter = create_segmenter(settings.vision)
    engine = open_database(folder / "inproc")  # (open_database makes the folder)
    ids = [store_file(engine, c, c.name, "register")[0] for c in clips]
    started = time.perf_counter()
    for video_id in ids:
        index_file_blocking(engine, video_id, segmenter, args.interval, batch=args.batch)
    elapsed = time.perf_counter() - started
    engine.dispose()
    return elapsed


def _workers(folder: Path, clips: list[Path], n: int, args: argparse.Namespace) -> float:
    proc, url = _nats(folder / f"nats{n}")
    engine = open_database(folder / f"queue{n}")
    settings = load_settings(segmenter=args.segmenter)
    indexer = QueuedIndexer(
        engine,
        lambda: create_segmenter(settings.vision),
        SiteSettings(nats_url=url),
        clips[0].parent,
        interval_s=args.interval,
    )
    env = os.environ | {
        "NATS_URL": url,
        "INDEX_SHARED_ROOT": str(clips[0].parent),
        "PYTHONPATH": str(REPO),
    }
    logs = [folder / f"worker{n}-{k}.log" for k in range(n)]
    workers = []
    for log in logs:
        with log.open("wb") as out:
            workers.append(
                subprocess.Popen(
                    [*WORKER, "--segmenter", args.segmenter, "--batch", str(args.batch)],
                    env=env,
                    cwd=folder,
                    stdout=subprocess.DEVNULL,
                    stderr=out,
                )
            )
    try:
        while not all("waiting for index jobs" in log.read_text() for log in logs):
            time.sleep(0.05)
        indexer.start()
        ids = [store_file(engine, c, c.name, "register")[0] for c in clips]
        started = time.perf_counter()
        for video_id in ids:
            indexer.enqueue(video_id)
        while not all(indexer.progress(v).state == "done" for v in ids):
            time.sleep(0.02)
        return time.perf_counter() - started
    finally:
        for w in workers:
            w.terminate()
        for w in workers:
            try:
                w.wait(10)
            except subprocess.TimeoutExpired:
                w.kill()
        indexer.stop()
        engine.dispose()
        proc.terminate()
        proc.wait(10)


def _clip(path: Path, seed: int, args: argparse.Namespace) -> Path:
    """One file of seconds/files: encoded whole, or a --clip-s clip copied to its length."""
    seconds = args.seconds / args.files
    size = {"width": args.width, "height": args.height, "seed": seed}
    if not args.clip_s or args.clip_s >= seconds:
        return write_demo_video(path, seconds=seconds, **size)
    short = write_demo_video(path.with_name(f"clip{seed}.mp4"), seconds=args.clip_s, **size)
    concat(short, path, copies=round(seconds / args.clip_s))
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=120.0, help="video in all (s)")
    parser.add_argument("--files", type=int, default=2, help="split into this many files")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--interval", type=float, default=1.0, help="INDEX_INTERVAL_S")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--segmenter", default="pig", choices=["pig", "classic"])
    parser.add_argument("--repeat", type=int, default=3, help="runs of each; the best counts")
    parser.add_argument(
        "--clip-s",
        type=float,
        default=0.0,
        help="encode a clip this long a file and stream-copy it to the file's length (an hour "
        "in seconds instead of an hour's encoding); 0: encode every second",
    )
    args = parser.parse_args()
    load_at_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="pw-index-workers-") as tmp:
        folder = Path(tmp)
        shared = folder / "shared"
        shared.mkdir()
        t0 = time.perf_counter()
        clips = [_clip(shared / f"part{k}.mp4", k, args) for k in range(args.files)]
        print(f"wrote {args.files} files, {args.seconds:.0f} s in {time.perf_counter() - t0:.1f} s")
        runs: dict[str, list[float]] = {"in_process": [], "one": [], "two": []}
        for r in range(args.repeat):  # interleaved: a load that comes and goes hits all three
            runs["in_process"].append(_in_process(folder / f"r{r}", clips, args))
            runs["one"].append(_workers(folder / f"r{r}", clips, 1, args))
            runs["two"].append(_workers(folder / f"r{r}", clips, 2, args))
            print(f"run {r + 1}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in runs.items()))
        inproc, one, two = (min(runs[k]) for k in ("in_process", "one", "two"))
        print(f"best of {args.repeat}: in-process {inproc:.2f} s, 1 worker {one:.2f} s, ", end="")
        print(f"2 workers {two:.2f} s")
    overhead = one / inproc - 1.0
    per_job_s = (one - inproc) / args.files
    print(
        f"queue overhead (1 worker vs in-process): {100 * overhead:+.1f} % ({per_job_s:+.2f} s/job)"
    )
    print(f"2 workers vs 1: x{one / two:.2f}")
    result: dict[str, Any] = {
        "video_s": args.seconds,
        "clip_s": args.clip_s or None,
        "files": args.files,
        "size": f"{args.width}x{args.height}",
        "interval_s": args.interval,
        "segmenter": args.segmenter,
        "in_process_s": round(inproc, 3),
        "one_worker_s": round(one, 3),
        "two_workers_s": round(two, 3),
        "overhead_pct": round(100 * overhead, 2),
        "overhead_per_job_s": round(per_job_s, 3),
        "two_vs_one": round(one / two, 3),
        "runs_s": {k: [round(x, 3) for x in v] for k, v in runs.items()},
        "speed_x_in_process": round(args.seconds / inproc, 2),
        "cpus": os.cpu_count(),
        "load_avg_at_start": round(load_at_start, 2),
        "machine": platform.platform(),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {RESULTS.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

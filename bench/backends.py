"""SQLite and PostgreSQL side by side: recording weighings, storing an index, counting at t.

    .venv/bin/python bench/backends.py                  # ~1 min on 2 cores
    .venv/bin/python bench/backends.py --records 1000 --hours 3

Each part runs on DATA_DIR's own SQLite file (WAL, synchronous=FULL: the default) and on a
PostgreSQL started for the run from Debian's packages (tests/postgres.py) with fsync and
synchronous commit on, as a farm's server runs; the SQLite figure is the baseline, and the
ratio PostgreSQL / SQLite is printed:

- record: `RecordBook.record` of --records manual weighings one after another (the row, its
  CSV line), p50/p99 per call and the rate;
- index: an hour of samples at 1 a second (--hours), stored in batches of 50 as the indexer
  stores them, with 20 outlines each; seconds per hour of video;
- count_at: the sample at or before a random t read from the database (the path a
  `count_at_time` takes before a video's samples are in memory) 2000 times, p50/p99; and
  the read of a whole hour's samples that fills the memory cache (`sample_counts`).

`GET /api/video_file/count_at_time` itself answers from memory once a video is loaded
(pipeline/sample_cache.py): the same on both backends. Writes bench/results/backends.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # tests/postgres.py starts the PostgreSQL

from pigweight.media.probe import VideoInfo  # noqa: E402
from pigweight.settings import Settings  # noqa: E402
from pigweight.store import videos  # noqa: E402
from pigweight.store.db import open_database  # noqa: E402
from pigweight.weighing.records import RecordBook  # noqa: E402
from pigweight.weighing.rules import Weighing  # noqa: E402
from tests.postgres import PostgresServer, installed  # noqa: E402

RESULTS = REPO / "bench" / "results" / "backends.json"
BATCH = 50  # samples a transaction, as the indexer writes them
OUTLINES = 20  # animals a sample, each a 12-point outline


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def timed(call: Callable[[], Any]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def bench_record(root: Path, url: str | None, n: int) -> dict[str, Any]:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=root / "data",
        records_dir=root / "records",
        log_dir=root / "logs",
        database_url=url,
    )
    engine = open_database(settings.server.data_dir, settings.server.database_url)
    try:
        book = RecordBook(settings.weighing, settings.server.data_dir)
        book.start(engine)
        rng = random.Random(1)
        calls = [
            timed(lambda: book.record(Weighing("cam1", rng.uniform(200, 400), count=20), None))
            for _ in range(n)
        ]
    finally:
        engine.dispose()
    return {
        "records": n,
        "p50_ms": round(pct(calls, 0.5) * 1000, 2),
        "p99_ms": round(pct(calls, 0.99) * 1000, 2),
        "per_s": round(n / sum(calls), 1),
    }


def _outlines(rng: random.Random) -> str:
    shapes = []
    for _ in range(OUTLINES):
        x, y = rng.random(), rng.random()
        shapes.append(
            [
                [round(x + 0.02 * rng.random(), 3), round(y + 0.02 * rng.random(), 3)]
                for _ in range(12)
            ]
        )
    return json.dumps(shapes, separators=(",", ":"))


def bench_index(root: Path, url: str | None, hours: float) -> dict[str, Any]:
    data_dir = root / "data"
    engine = open_database(data_dir, url)
    seconds = int(hours * 3600)
    info = VideoInfo(
        root / "hour.mp4",
        10 << 30,
        "mp4",
        "h264",
        1920,
        1080,
        25.0,
        float(seconds),
        0.0,
        seconds * 25,
        tuple(float(k) for k in range(0, seconds, 2)),
        False,
        True,
    )
    rng = random.Random(2)
    try:
        with engine.begin() as conn:
            video_id = videos.add_video(conn, info, "hour.mp4", "register")
        rows = [
            videos.SampleRow(float(t), rng.randint(10, 40), 0.9, _outlines(rng))
            for t in range(seconds)
        ]
        started = time.perf_counter()
        for i in range(0, len(rows), BATCH):
            with engine.begin() as conn:
                videos.add_samples(conn, video_id, rows[i : i + BATCH])
        write_s = time.perf_counter() - started
        reads = []
        with engine.connect() as conn:
            for _ in range(2000):
                t = rng.uniform(0, seconds)
                started = time.perf_counter()
                videos.nearest_sample_at_or_before(conn, video_id, t)
                reads.append(time.perf_counter() - started)
            load_s = timed(lambda: videos.sample_counts(conn, video_id))
    finally:
        engine.dispose()
    return {
        "samples": seconds,
        "write_s_per_hour": round(write_s / hours, 2),
        "count_at_p50_ms": round(pct(reads, 0.5) * 1000, 3),
        "count_at_p99_ms": round(pct(reads, 0.99) * 1000, 3),
        "cache_fill_ms_per_hour": round(load_s / hours * 1000, 1),
    }


@contextmanager
def postgres() -> Iterator[Callable[[], str]]:
    bin_dir = installed()
    if bin_dir is None:
        sys.exit("PostgreSQL is not installed (apt-get install postgresql)")
    server = PostgresServer(bin_dir, durable=True)
    server.start()
    try:
        yield lambda: server.url(server.create_database())
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=500)
    parser.add_argument("--hours", type=float, default=1.0)
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args()
    load_start = os.getloadavg()[0]
    result: dict[str, Any] = {"machine": {"cpus": os.cpu_count()}}
    with tempfile.TemporaryDirectory(prefix="pw-backends-") as tmp, postgres() as new_pg:
        root = Path(tmp)
        for part, run in (
            ("record", lambda r, u: bench_record(r, u, args.records)),
            ("index", lambda r, u: bench_index(r, u, args.hours)),
        ):
            print(f"{part}: SQLite ...", flush=True)
            sqlite = run(root / f"{part}-sqlite", None)
            print(f"{part}: PostgreSQL ...", flush=True)
            pg = run(root / f"{part}-pg", new_pg())
            ratios = {
                k: round(pg[k] / sqlite[k], 2)
                for k in sqlite
                if isinstance(sqlite[k], float) and sqlite[k]
            }
            result[part] = {"sqlite": sqlite, "postgresql": pg, "postgresql_over_sqlite": ratios}
            for key, ratio in ratios.items():
                print(f"  {key:24} SQLite {sqlite[key]:>9}  PostgreSQL {pg[key]:>9}  x{ratio}")
    result["load_average"] = {"start": round(load_start, 2), "end": round(os.getloadavg()[0], 2)}
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.results}")


if __name__ == "__main__":
    main()

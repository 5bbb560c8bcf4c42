"""`pigweight worker`: index archive files for a server with INDEX_WORKERS=queue.

    NATS_URL=nats://hub:4222 INDEX_SHARED_ROOT=/mnt/nvr pigweight worker

Takes one job at a time from the JetStream work queue PW_INDEX_JOBS, counts with SEGMENTER
(as `pigweight serve` would) and sends the samples back (pigweight/sites/index_queue.py).
SIGTERM or Ctrl-C: the job in hand is handed back at once, to another worker.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from typing import Any

from pigweight.settings import load_settings
from pigweight.sites.index_worker import IndexWorker
from pigweight.vision.segmenter import create_segmenter


def add_parser(sub: Any) -> None:
    worker = sub.add_parser("worker", help="index archive files from the NATS job queue")
    worker.add_argument("--batch", type=int, default=4, help="samples counted per batch")
    worker.add_argument("--jobs", type=int, help="exit after this many jobs (default: never)")
    worker.add_argument(
        "--segmenter", choices=["pig", "classic", "yolo_onnx"], help="default SEGMENTER"
    )
    worker.set_defaults(func=_worker)


def _worker(args: argparse.Namespace) -> int:
    overrides: dict[str, Any] = {"segmenter": args.segmenter} if args.segmenter else {}
    settings = load_settings(**overrides)
    logging.getLogger("pigweight").setLevel(min(logging.INFO, logging.root.level))
    worker = IndexWorker(
        settings.sites,
        create_segmenter(settings.vision),
        settings.archive.index_shared_root,
        args.batch,
    )
    asyncio.run(_run(worker, args.jobs))
    return 0


async def _run(worker: IndexWorker, jobs: int | None) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await worker.run(stop, jobs)

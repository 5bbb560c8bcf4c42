"""Real nats-servers for the sites' tests: a hub for barn1 and barn2, and barn1's leaf; a
single JetStream server and two tiny recordings for the index queue's; and every log line of
a test, to look for a password in."""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from pigweight.sites.index_queue import ensure_streams
from pigweight.synthetic import write_demo_video
from tests.conftest import need_system
from tests.natsd import Hub, Leaf, Single, installed


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Hub]:
    need_system(installed(), "nats-server is not installed (Debian: apt-get install nats-server)")
    server = Hub(tmp_path, ["barn1", "barn2"])
    server.start()
    yield server
    server.stop()


@pytest.fixture
def barn1(tmp_path: Path, hub: Hub) -> Iterator[Leaf]:
    leaf = Leaf(tmp_path, "barn1", hub)
    leaf.start()
    yield leaf
    leaf.stop()


class LogLines(logging.Handler):
    """Every log record, formatted, as `lines`."""

    def __init__(self) -> None:
        super().__init__(logging.NOTSET)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.name}: {logging.Formatter().format(record)}")


@pytest.fixture
def every_log() -> Iterator[LogLines]:
    """What every logger says at DEBUG during the test."""
    handler = LogLines()
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


# --- the index queue's (test_index_queue.py, test_index_workers.py) ---------------------


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[Single]:
    need_system(installed(), "nats-server is not installed (Debian: apt-get install nats-server)")
    server = Single(tmp_path)
    server.start()
    # Made here first: a killed worker's job comes again after 2 s, not the default 30 s.
    asyncio.run(_prepare(server.url))
    yield server
    server.stop()


async def _prepare(url: str) -> None:
    import nats

    nc = await nats.connect(url)
    await ensure_streams(nc.jetstream(), job_ack_wait_s=2.0)
    await nc.drain()


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("shared")
    write_demo_video(folder / "a.mp4", seconds=12, width=640, height=360)
    write_demo_video(folder / "b.mp4", seconds=4, width=320, height=180, seed=1)
    shutil.copyfile(folder / "b.mp4", folder / "c.mp4")  # another file: another job
    return folder

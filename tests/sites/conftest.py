"""Real nats-servers for the sites' tests: a hub for barn1 and barn2, and barn1's leaf; and
every log line of a test, to look for a password in."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import need_system
from tests.natsd import Hub, Leaf, installed


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

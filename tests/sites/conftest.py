"""Real nats-servers for the sites' tests: a hub for barn1 and barn2, and barn1's leaf."""

from __future__ import annotations

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

"""A NATS server away for long writes one warning, not one a second: the client retries
every second, and a barn's link can be down for a day."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from pigweight.settings import Settings
from pigweight.sites import streams
from tests.conftest import need_system
from tests.natsd import Single, installed

pytestmark = pytest.mark.timeout(60)


def test_a_server_away_is_said_once_then_once_a_minute(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    need_system(installed(), "nats-server is not installed (Debian: apt-get install nats-server)")
    monkeypatch.setattr(streams, "REPEAT_LOG_EVERY", 3)
    server = Single(tmp_path)
    server.start()
    settings = Settings(_env_file=None, nats_url=server.url)  # type: ignore[call-arg]
    errors: list[str] = []

    async def run() -> None:
        nc = await streams.connect(settings.sites, "test", errors.append)
        try:
            server.stop()
            while len(errors) < 7:  # a retry a second
                await asyncio.sleep(0.1)
        finally:
            await nc.close()

    try:
        with caplog.at_level(logging.INFO, logger="pigweight.sites.streams"):
            asyncio.run(run())
    finally:
        server.stop()
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    refused = [w for w in warnings if "Connect call failed" in w]
    # the owner hears every one (its status says it); the log only the first and every third
    times = len([e for e in errors if "Connect call failed" in e])
    assert times >= 6
    assert len(refused) == 1 + (times - 1) // 3, warnings
    assert "again" not in refused[0] and "again, 3 times" in refused[1], warnings

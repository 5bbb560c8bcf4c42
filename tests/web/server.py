"""A real PigWeight server in a thread on 127.0.0.1 and a real Chromium, for page tests."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import uvicorn
from fastapi import FastAPI
from playwright.sync_api import Browser, sync_playwright

from pigweight.api.live import WS_PING_INTERVAL_S, WS_PING_TIMEOUT_S
from pigweight.app import create_app
from pigweight.settings import Settings
from tests.conftest import need_system

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # WebRTC on 127.0.0.1: loopback candidates, and real addresses instead of mDNS names.
    "--allow-loopback-in-peer-connection",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
]


@contextmanager
def serving(settings: Settings, ws: str = "auto") -> Iterator[str]:
    """The app of these settings served on a free port; its URL while the block runs."""
    with serving_app(create_app(settings), ws) as url:
        yield url


@contextmanager
def serving_app(app: FastAPI, ws: str = "auto") -> Iterator[str]:
    """This app served on a free port of 127.0.0.1; its URL while the block runs."""
    # WebSocket keepalive as `pigweight serve` sets it: it is how stalled clients are dropped.
    config = uvicorn.Config(
        app,
        log_level="warning",
        ws=ws,
        ws_ping_interval=WS_PING_INTERVAL_S,
        ws_ping_timeout=WS_PING_TIMEOUT_S,
    )
    server = uvicorn.Server(config)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


@contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's Chromium through Playwright (never a downloaded build)."""
    need_system(CHROMIUM.exists(), f"{CHROMIUM} is missing (apt-get install chromium)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def register_indexed(url: str, clip: Path, timeout_s: float = 60.0) -> int:
    """Register a recording of MEDIA_ROOTS with the server at url and wait until its index
    is done; its id."""
    video = httpx.post(f"{url}/api/video_file/register", json={"path": str(clip)})
    video_id = int(video.raise_for_status().json()[0]["id"])
    deadline = time.monotonic() + timeout_s
    while httpx.get(f"{url}/api/video_file/{video_id}").json()["index"]["state"] != "done":
        assert time.monotonic() < deadline, f"the recording was not indexed in {timeout_s:g} s"
        time.sleep(0.2)
    return video_id

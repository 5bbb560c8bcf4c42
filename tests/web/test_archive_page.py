"""The archive section in a real Chromium: a recording plays through hls.js with its count."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from playwright.sync_api import Browser, expect, sync_playwright

from pigweight.app import create_app
from pigweight.media.synth import write_demo_video
from tests.api.conftest import make_settings
from tests.conftest import need_system
from tests.web.test_page import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def archive_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server with one 12 s recording registered under its media root."""
    work = tmp_path_factory.mktemp("archive")
    (work / "nvr").mkdir()
    clip = write_demo_video(work / "nvr" / "cam1.mp4", seconds=12, width=640, height=360)
    settings = make_settings(work, media_roots=[work / "nvr"], demo_video_seconds=0)
    server = uvicorn.Server(uvicorn.Config(create_app(settings), log_level="warning"))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    httpx.post(f"{url}/api/video_file/register", json={"path": str(clip)}).raise_for_status()
    yield url
    server.should_exit = True
    thread.join(timeout=15)
    sock.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    need_system(CHROMIUM.exists(), f"{CHROMIUM} is missing (apt-get install chromium)")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def test_a_recording_plays_over_hls_with_the_count_of_the_moment(
    browser: Browser, archive_url: str
) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(archive_url)
    archive = page.locator("#archive")
    expect(archive).to_be_visible(timeout=15_000)
    expect(page.locator("#archive-select")).to_contain_text("cam1.mp4 · 0:12")
    expect(page.locator("#archive-state")).to_have_text(
        re.compile(r"Разбор записи: \d+ %|Запись разобрана|В очереди"), timeout=15_000
    )
    page.evaluate("document.getElementById('archive-video').play()")
    page.wait_for_function(
        "document.getElementById('archive-video').currentTime > 2", timeout=20_000
    )
    assert page.evaluate("window.__archiveError ?? null") is None
    assert page.evaluate("document.getElementById('archive-video').videoWidth") == 640
    expect(page.locator("#archive-count")).to_have_text(re.compile(r"^\d+$"), timeout=10_000)
    # Seek to the middle: the count follows the picture.
    page.evaluate("document.getElementById('archive-video').currentTime = 6")
    page.wait_for_function(
        "Math.abs(document.getElementById('archive-video').currentTime - 6) < 1", timeout=10_000
    )
    expect(page.locator("#archive-state")).to_have_text("Запись разобрана", timeout=60_000)
    page.get_by_role("button", name="EN").click()
    expect(page.locator("#archive-state")).to_have_text("Indexed")
    page.close()

"""The live section of the page in a real Chromium: stream with masks, count, status."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator

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
def live_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server whose one camera replays a tiny synthetic clip, started at start-up."""
    work = tmp_path_factory.mktemp("live")
    clip = write_demo_video(work / "clip.mp4", seconds=2, width=320, height=180)
    cameras = work / "cameras.yaml"
    cameras.write_text(f"cameras:\n  - {{id: scale1, name: Весы 1, url: '{clip}'}}\n")
    settings = make_settings(work, cameras_file=cameras, auto_start_cam=True)
    server = uvicorn.Server(uvicorn.Config(create_app(settings), log_level="warning"))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
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


def test_operator_sees_the_live_camera_with_its_count(browser: Browser, live_url: str) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(live_url)
    live = page.locator("#live")
    expect(live).to_be_visible(timeout=15_000)
    expect(live).to_contain_text("Весы 1")
    expect(page.locator("#live-status")).to_have_text("Идёт подсчёт", timeout=15_000)
    expect(page.locator("#live-count")).to_have_text(re.compile(r"^\d+$"))
    page.wait_for_function(
        "document.getElementById('live-stream').naturalWidth === 320", timeout=15_000
    )
    page.get_by_role("button", name="EN").click()
    expect(page.locator("#live-status")).to_have_text("Counting")
    # The photo counter is still there beside the live view.
    expect(page.get_by_text("Drop a photo here")).to_be_visible()
    page.close()

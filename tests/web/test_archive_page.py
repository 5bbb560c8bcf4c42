"""The archive section in a real Chromium: a recording plays through hls.js with its count."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, expect

from pigweight.media.synth import write_demo_video
from tests.api.conftest import make_settings
from tests.web.server import serving

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def archive_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server with one 12 s recording registered under its media root."""
    work = tmp_path_factory.mktemp("archive")
    (work / "nvr").mkdir()
    clip = write_demo_video(work / "nvr" / "cam1.mp4", seconds=12, width=640, height=360)
    settings = make_settings(work, media_roots=[work / "nvr"], demo_video_seconds=0)
    with serving(settings) as url:
        httpx.post(f"{url}/api/video_file/register", json={"path": str(clip)}).raise_for_status()
        yield url


def test_a_recording_plays_over_hls_with_the_count_of_the_moment(
    browser: Browser, archive_url: str
) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(archive_url + "/#archive")
    archive = page.locator("#view-archive")
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

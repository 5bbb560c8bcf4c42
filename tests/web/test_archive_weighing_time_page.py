"""The archive's weighing form dates the weighing when the group was on the scale: the
recording's start plus the frame's time, shown before saving; where the recording does not
say when it was made, the operator enters it, and cannot save without it."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from pigweight.synthetic import write_demo_video
from tests.api.conftest import make_settings
from tests.web.server import register_indexed, serving
from tests.web.test_archive_page import frame_on_screen, seek_by_timeline

pytestmark = pytest.mark.browser

ZONE = "Europe/Moscow"
CLIP_S = 4.0
AT_T = 2.5


@pytest.fixture(scope="module")
def archive_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Recording 1 keeps its creation time (07:30 UTC, 10:30 in Moscow); recording 2 none."""
    work = tmp_path_factory.mktemp("weighing-time")
    nvr = work / "nvr"
    dated = write_demo_video(nvr / "cam1.mp4", seconds=CLIP_S, width=640, height=360)
    undated = write_demo_video(
        nvr / "cam2.mp4", seconds=CLIP_S, width=640, height=360, creation_time=False
    )
    settings = make_settings(work, media_roots=[nvr], demo_video_seconds=0, farm_timezone=ZONE)
    with serving(settings) as url:
        for clip in (dated, undated):
            register_indexed(url, clip)
        yield url


def open_form(browser: Browser, url: str, video_id: int) -> tuple[Page, float]:
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    page.goto(f"{url}/#archive?id={video_id}")
    expect(page.locator("#archive-play")).to_be_enabled(timeout=15_000)
    page.wait_for_function("document.getElementById('archive-video').readyState >= 2")
    seek_by_timeline(page, AT_T, duration_s=CLIP_S)
    frame_t = frame_on_screen(page, AT_T)["frame_t"]
    page.locator("#archive-weigh").click()
    expect(page.locator("#archive-weigh-form")).to_be_visible()
    return page, frame_t


def newest(url: str) -> dict[str, object]:
    record: dict[str, object] = httpx.get(f"{url}/api/weight/records").json()["records"][0]
    return record


def test_a_dated_recordings_weighing_carries_the_recordings_time(
    browser: Browser, archive_url: str
) -> None:
    page, frame_t = open_form(browser, archive_url, 1)
    at = page.locator("#archive-weigh-at")
    expected = f"2024-05-14T10:30:{int(frame_t):02d}"
    expect(at).to_have_value(expected, timeout=10_000)
    expect(page.locator("#archive-weigh-at-source")).to_have_text(
        "Начало записи взято из самого файла, плюс время кадра."
    )
    page.locator("#archive-weight").fill("228")
    page.locator("#archive-weight").press("Enter")
    expect(page.locator("#archive-weigh-result")).to_contain_text("Записано", timeout=15_000)
    assert newest(archive_url)["local_time"] == f"{expected}+03:00"
    page.close()


def test_an_undated_recording_needs_the_operators_time(browser: Browser, archive_url: str) -> None:
    page, _ = open_form(browser, archive_url, 2)
    at = page.locator("#archive-weigh-at")
    expect(page.locator("#archive-weigh-at-source")).to_have_text(
        "Когда сделана запись, неизвестно: укажите дату и время взвешивания.", timeout=10_000
    )
    expect(at).to_have_value("")
    before = httpx.get(f"{archive_url}/api/weight/records").json()["total"]
    page.locator("#archive-weight").fill("230")
    page.locator("#archive-weight").press("Enter")
    result = page.locator("#archive-weigh-result")
    expect(result).to_have_text("Укажите дату и время взвешивания: по записи их не узнать.")
    expect(at).to_be_focused()
    assert httpx.get(f"{archive_url}/api/weight/records").json()["total"] == before
    at.fill("2026-12-05T09:41:00")
    page.locator("#archive-weight").press("Enter")
    expect(result).to_contain_text("Записано", timeout=15_000)
    assert newest(archive_url)["local_time"] == "2026-12-05T09:41:00+03:00"
    page.close()

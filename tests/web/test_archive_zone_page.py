"""The platform zone of a recording on the archive page in a real Chromium: an operator
draws it on the paused player, the frame's count drops to the animals inside it and the
server keeps it; «Убрать зону» brings the count back; a viewer has no button."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, Position, expect

from pigweight.app import create_app
from pigweight.auth.users import UserBook
from pigweight.store.db import open_database
from pigweight.synthetic import write_demo_video
from tests.api.conftest import make_settings
from tests.web.conftest import Screenshot
from tests.web.server import serving_app
from tests.web.test_archive_page import STANDING_T, frame_on_screen, seek_by_timeline

pytestmark = pytest.mark.browser
PASSWORD = "correct horse battery"
# The left half of the picture: the standing group spreads over the whole platform.
CORNERS = [(0.02, 0.02), (0.5, 0.02), (0.5, 0.98), (0.02, 0.98)]
TOLERANCE = 0.02

# Whether the outlines canvas has grey paint (r = g = b): an animal outside the zone.
GREY_OUTLINES = """() => {
  const c = document.getElementById('archive-outlines');
  if (c.width < 2) return false;
  const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  for (let i = 0; i < px.length; i += 4) {
    const [r, g, b, a] = [px[i], px[i + 1], px[i + 2], px[i + 3]];
    if (a > 30 && Math.abs(r - g) < 12 && Math.abs(g - b) < 12) return true;
  }
  return false;
}"""


@pytest.fixture(scope="module")
def zone_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server with an admin, an operator and a viewer, and one indexed 6 s recording."""
    work = tmp_path_factory.mktemp("archive-zone")
    clip = write_demo_video(work / "nvr" / "cam1.mp4", seconds=6, width=640, height=360)
    settings = make_settings(work, media_roots=[clip.parent], demo_video_seconds=0)
    engine = open_database(settings.server.data_dir)
    book = UserBook(engine)
    book.add("anna", "admin", PASSWORD)
    book.add("oleg", "operator", PASSWORD)
    book.add("vera", "viewer", PASSWORD)
    engine.dispose()
    with serving_app(create_app(settings)) as url, httpx.Client(base_url=url) as admin:
        admin.post("/api/auth/login", json={"name": "anna", "password": PASSWORD})
        admin.post("/api/video_file/register", json={"path": str(clip)}).raise_for_status()
        deadline = time.monotonic() + 60
        while admin.get("/api/video_file/1").json()["index"]["state"] != "done":
            assert time.monotonic() < deadline, "the recording was not indexed in 60 s"
            time.sleep(0.2)
        yield url


def logged_in(browser: Browser, url: str, name: str) -> Page:
    page = browser.new_context(viewport={"width": 1366, "height": 768}).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(url)
    page.get_by_label("Имя пользователя").fill(name)
    page.get_by_label("Пароль").fill(PASSWORD)
    page.get_by_role("button", name="Войти").click()
    expect(page.locator("#user-name")).to_have_text(name, timeout=10_000)
    page.goto(url + "/#archive?id=1")
    expect(page.locator("#archive-play")).to_be_enabled(timeout=15_000)
    page.wait_for_function("document.getElementById('archive-video').readyState >= 2")
    assert errors == []
    return page


def recording(page: Page, url: str) -> Any:
    return page.request.get(url + "/api/video_file/1").json()


def click_at(page: Page, x: float, y: float) -> None:
    """A click at x, y in 0-1 of the zone canvas laid over the picture."""
    canvas = page.locator("#archive-zone")
    box = canvas.bounding_box()
    assert box is not None
    position: Position = {"x": x * box["width"], "y": y * box["height"]}
    canvas.click(position=position)


def shown_count(page: Page) -> int:
    return int(page.locator("#archive-count").inner_text())


def test_an_operator_draws_the_zone_and_the_count_follows(
    browser: Browser, zone_url: str, screenshot: Screenshot
) -> None:
    page = logged_in(browser, zone_url, "oleg")
    assert recording(page, zone_url)["zone"] is None
    seek_by_timeline(page, STANDING_T, duration_s=6.0)
    everyone = frame_on_screen(page, STANDING_T)["count"]
    assert everyone > 2

    page.get_by_role("button", name="Зона платформы").click()
    expect(page.locator("#archive-video")).to_have_js_property("paused", True)
    expect(page.locator("#archive-zone-save")).to_be_disabled()
    for x, y in [*CORNERS, (0.9, 0.5)]:
        click_at(page, x, y)
    page.keyboard.press("Backspace")  # the stray fifth point goes
    expect(page.locator("#archive-zone-hint")).to_contain_text("Точек: 4")
    screenshot(page, "archive-zone")
    # Saving reads the timeline's count curve again (it follows the zone too).
    with page.expect_request(lambda r: "/api/video_file/count_series" in r.url):
        bar = page.get_by_role("group", name="Зона платформы")
        bar.get_by_role("button", name="Сохранить").click()
    expect(page.locator("#archive-zone-bar")).to_be_hidden()

    zone = recording(page, zone_url)["zone"]
    assert len(zone) == 4
    for (x, y), (cx, cy) in zip(zone, CORNERS, strict=True):
        assert abs(x - cx) <= TOLERANCE and abs(y - cy) <= TOLERANCE, (zone, CORNERS)
    # The frame's count drops to the animals inside; those outside are outlined grey.
    page.wait_for_function(
        "(n) => Number(document.getElementById('archive-count').textContent) < n",
        arg=everyone,
        timeout=15_000,
    )
    assert 0 < shown_count(page) < everyone
    expect(page.locator("#archive-frame")).to_contain_text("вне зоны")
    page.wait_for_function(GREY_OUTLINES, timeout=15_000)
    expect(page.locator("#archive-zone")).to_be_visible()
    expect(page.locator("#archive-zone")).to_have_attribute("data-points", "4")

    # Esc leaves a new drawing without a change.
    page.get_by_role("button", name="Зона платформы").click()
    click_at(page, 0.9, 0.9)
    page.keyboard.press("Escape")
    expect(page.locator("#archive-zone-bar")).to_be_hidden()
    assert len(recording(page, zone_url)["zone"]) == 4

    # «Убрать зону»: every animal counts again.
    page.get_by_role("button", name="Зона платформы").click()
    page.get_by_role("button", name="Убрать зону").click()
    expect(page.locator("#archive-zone-bar")).to_be_hidden()
    expect(page.locator("#archive-count")).to_have_text(str(everyone), timeout=15_000)
    expect(page.locator("#archive-frame")).not_to_contain_text("вне зоны")
    assert recording(page, zone_url)["zone"] is None
    expect(page.locator("#archive-zone")).to_be_hidden()
    page.context.close()


def test_a_viewer_has_no_zone_button(browser: Browser, zone_url: str) -> None:
    page = logged_in(browser, zone_url, "vera")
    expect(page.locator("#archive-count")).to_be_visible()
    expect(page.get_by_role("button", name="Зона платформы")).to_have_count(0)
    # The server refuses a viewer too (the button is not the only guard).
    refused = page.request.put(zone_url + "/api/video_file/1/zone", data={"zone": None})
    assert refused.status == 403
    page.context.close()

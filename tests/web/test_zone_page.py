"""The platform zone on the live page in a real Chromium: an admin draws it on the camera's
picture, it is saved and drawn after a reload, an operator only sees it, and it can be
removed; a phone's taps draw it too, over the MJPEG picture."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Position, expect

from pigweight.app import create_app
from pigweight.auth.users import UserBook
from pigweight.store.db import open_database
from pigweight.synthetic import write_demo_video
from tests.api.conftest import make_settings
from tests.web.conftest import Screenshot
from tests.web.server import serving_app

pytestmark = pytest.mark.browser
PASSWORD = "correct horse battery"
CORNERS = [(0.2, 0.2), (0.8, 0.25), (0.75, 0.8), (0.15, 0.7)]  # in 0-1 of the picture
TOLERANCE = 0.02


@pytest.fixture(scope="module")
def zone_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server with an admin and an operator, and one camera replaying a tiny clip."""
    work = tmp_path_factory.mktemp("zone")
    clip = write_demo_video(work / "clip.mp4", seconds=2, width=320, height=180)
    cameras = work / "cameras.yaml"
    cameras.write_text(f"cameras:\n  - {{id: scale1, name: Весы 1, url: '{clip}'}}\n")
    settings = make_settings(work, cameras_file=cameras, auto_start_cam=True, demo_scale=False)
    engine = open_database(settings.server.data_dir)
    book = UserBook(engine)
    book.add("anna", "admin", PASSWORD)
    book.add("oleg", "operator", PASSWORD)
    engine.dispose()
    with serving_app(create_app(settings)) as url:
        yield url


def logged_in(browser: Browser, url: str, name: str, mjpeg: bool = False, **context: Any) -> Page:
    page = browser.new_context(**context).new_page()
    if mjpeg:  # WebRTC blocked on the way: the zone lies over the MJPEG picture instead
        page.context.route("**/api/webrtc/**", lambda route: route.abort())
    page.goto(url)
    page.get_by_label("Имя пользователя").fill(name)
    page.get_by_label("Пароль").fill(PASSWORD)
    page.get_by_role("button", name="Войти").click()
    expect(page.locator("#user-name")).to_have_text(name, timeout=10_000)
    # The picture is on screen (WebRTC or its MJPEG fallback): the zone is drawn over it.
    expect(page.locator("#live-transport")).not_to_be_empty(timeout=15_000)
    return page


def camera_zone(page: Page) -> Any:
    cameras = page.request.get(page.url.split("#")[0].rstrip("/") + "/api/cameras").json()
    return cameras[0]["zone"], cameras[0]["zone_source"]


def click_at(page: Page, x: float, y: float, tap: bool = False) -> None:
    """A click (or a tap) at x, y in 0-1 of the zone canvas laid over the picture."""
    canvas = page.locator("#live-zone")
    box = canvas.bounding_box()
    assert box is not None
    position: Position = {"x": x * box["width"], "y": y * box["height"]}
    if tap:
        canvas.tap(position=position)
    else:
        canvas.click(position=position)


# Whether the picture (the WebRTC <video> or the MJPEG <img>: both show the counted frames)
# has the server's sky-blue zone line within a few pixels of (x, y).
PICTURE_ZONE_NEAR = """([id, x, y]) => {
  const el = document.getElementById(id);
  const video = id === 'live-video';
  const [w, h] = video ? [el.videoWidth, el.videoHeight] : [el.naturalWidth, el.naturalHeight];
  if (!el || el.hidden || !w) return false;
  const c = document.createElement('canvas');
  [c.width, c.height] = [w, h];
  const ctx = c.getContext('2d');
  ctx.drawImage(el, 0, 0);
  const r = 6, cx = Math.round(x * c.width), cy = Math.round(y * c.height);
  const px = ctx.getImageData(cx - r, cy - r, 2 * r + 1, 2 * r + 1).data;
  for (let i = 0; i < px.length; i += 4) {
    if (px[i] < 150 && px[i + 1] > 160 && px[i + 2] > 200) return true;
  }
  return false;
}"""


def zone_in_picture(
    page: Page, picture: str, a: tuple[float, float], b: tuple[float, float]
) -> None:
    """Wait until the server's zone line shows in the picture halfway between a and b."""
    middle = [picture, (a[0] + b[0]) / 2, (a[1] + b[1]) / 2]
    page.wait_for_function(PICTURE_ZONE_NEAR, arg=middle, timeout=15_000)


def test_an_admin_draws_the_zone_saves_it_and_removes_it(
    browser: Browser, zone_url: str, screenshot: Screenshot
) -> None:
    page = logged_in(browser, zone_url, "anna", viewport={"width": 1366, "height": 768})
    assert camera_zone(page) == (None, None)
    page.get_by_role("button", name="Зона платформы").click()
    expect(page.locator("#live-zone-save")).to_be_disabled()
    for x, y in [*CORNERS, (0.5, 0.5)]:
        click_at(page, x, y)
    page.keyboard.press("Backspace")  # the stray fifth point goes
    expect(page.locator("#live-zone-hint")).to_contain_text("Точек: 4")
    expect(page.locator("#live-zone-save")).to_be_enabled()
    screenshot(page, "live-zone")
    bar = page.get_by_role("group", name="Зона платформы")
    bar.get_by_role("button", name="Сохранить").click()
    expect(page.locator("#live-zone-bar")).to_be_hidden()
    zone, source = camera_zone(page)
    assert source == "page"
    assert len(zone) == 4
    for (x, y), (cx, cy) in zip(zone, CORNERS, strict=True):
        assert abs(x - cx) <= TOLERANCE and abs(y - cy) <= TOLERANCE, (zone, CORNERS)

    # After a reload the zone is in the picture: the server draws it into the counted frames
    # the page shows (the page does not draw it a second time on top).
    page.reload()
    expect(page.locator("#live-transport")).to_contain_text("WebRTC", timeout=15_000)
    zone_in_picture(page, "live-video", CORNERS[0], CORNERS[1])
    expect(page.locator("#live-zone")).to_be_hidden()

    # Esc leaves the drawing without a change.
    page.get_by_role("button", name="Зона платформы").click()
    click_at(page, 0.5, 0.5)
    page.keyboard.press("Escape")
    expect(page.locator("#live-zone-bar")).to_be_hidden()
    assert len(camera_zone(page)[0]) == 4

    # Three points on one line: the server refuses, the page says why in Russian.
    page.get_by_role("button", name="Зона платформы").click()
    for x in (0.1, 0.5, 0.9):
        click_at(page, x, 0.5)
    page.locator("#live-zone-save").click()
    expect(page.locator("#live-zone-error")).to_contain_text("нужно не меньше 3 точек")
    expect(page.locator("#live-zone-bar")).to_be_visible()  # the drawing is still there
    assert len(camera_zone(page)[0]) == 4

    # «Убрать зону» removes the page's zone: nothing is drawn any more.
    page.get_by_role("button", name="Убрать зону").click()
    expect(page.locator("#live-zone-bar")).to_be_hidden()
    expect(page.locator("#live-zone-error")).to_be_hidden()
    assert camera_zone(page) == (None, None)
    expect(page.locator("#live-zone")).to_be_hidden()
    page.context.close()


def test_an_operator_sees_the_zone_but_no_button(browser: Browser, zone_url: str) -> None:
    admin = logged_in(browser, zone_url, "anna", viewport={"width": 1366, "height": 768})
    response = admin.request.put(
        zone_url + "/api/cameras/scale1/zone", data={"zone": [list(p) for p in CORNERS]}
    )
    assert response.ok, response.text()
    admin.context.close()
    page = logged_in(browser, zone_url, "oleg", viewport={"width": 1366, "height": 768})
    expect(page.locator("#live-transport")).to_contain_text("WebRTC", timeout=15_000)
    zone_in_picture(page, "live-video", CORNERS[1], CORNERS[2])
    expect(page.locator("#camera-select")).to_contain_text("Весы 1")
    expect(page.get_by_role("button", name="Зона платформы")).to_have_count(0)
    # The server refuses an operator too (the button is not the only guard).
    refused = page.request.put(zone_url + "/api/cameras/scale1/zone", data={"zone": None})
    assert refused.status == 403
    page.context.close()


def test_a_phone_draws_the_zone_with_taps(
    browser: Browser, zone_url: str, screenshot: Screenshot
) -> None:
    page = logged_in(
        browser,
        zone_url,
        "anna",
        mjpeg=True,
        viewport={"width": 390, "height": 844},
        has_touch=True,
        is_mobile=True,
    )
    expect(page.locator("#live-transport")).to_contain_text("MJPEG")
    page.wait_for_function("document.getElementById('live-stream').naturalWidth === 320")
    page.get_by_role("button", name="Зона платформы").tap()
    page.locator("#live-zone").scroll_into_view_if_needed()
    for x, y in CORNERS[:3]:
        click_at(page, x, y, tap=True)
    page.get_by_role("button", name="Убрать точку").tap()
    click_at(page, *CORNERS[2], tap=True)
    screenshot(page, "live-zone-phone")
    page.locator("#live-zone-save").tap()
    expect(page.locator("#live-zone-bar")).to_be_hidden()
    zone, source = camera_zone(page)
    assert source == "page"
    for (x, y), (cx, cy) in zip(zone, CORNERS[:3], strict=True):
        assert abs(x - cx) <= TOLERANCE and abs(y - cy) <= TOLERANCE, (zone, CORNERS)
    # No part of the drawing bar runs off the phone's screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    # Over MJPEG the server draws the zone into the frames (sky blue), the page does not draw it
    # a second time on top.
    expect(page.locator("#live-zone")).to_be_hidden()
    zone_in_picture(page, "live-stream", CORNERS[0], CORNERS[1])
    page.context.close()

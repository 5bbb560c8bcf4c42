"""The live view in a real Chromium: camera picker with states, picture, count, chart."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Route, expect

from pigweight.synthetic import write_demo_video
from tests.api.conftest import make_settings
from tests.web.conftest import Screenshot
from tests.web.server import serving

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def two_cameras(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Scale 1 replays 8 s of piglets (a group walks off, the next comes); scale 2 is an
    RTSP camera nobody answers for."""
    work = tmp_path_factory.mktemp("live2")
    clip = write_demo_video(work / "clip.mp4", seconds=8, width=640, height=360)
    cameras = work / "cameras.yaml"
    cameras.write_text(
        "cameras:\n"
        f"  - {{id: scale1, name: Весы 1, url: '{clip}'}}\n"
        "  - {id: scale2, name: Весы 2, url: 'rtsp://127.0.0.1:9/stream'}\n"
    )
    settings = make_settings(
        work, cameras_file=cameras, auto_start_cam=True, webrtc_hosts=["127.0.0.1"]
    )
    with serving(settings) as url:
        yield url


def test_operator_sees_the_count_change_and_its_chart(
    browser: Browser, two_cameras: str, screenshot: Screenshot
) -> None:
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    page.goto(two_cameras)
    expect(page.locator("#view-live")).to_be_visible()
    picker = page.locator("#camera-select")
    expect(picker).to_contain_text("Весы 1 — Идёт подсчёт", timeout=15_000)
    expect(page.locator("#live-status")).to_have_text("Идёт подсчёт")
    # The group walks off and the next one comes: the big number follows.
    seen: set[str] = set()
    deadline = time.monotonic() + 25
    while len(seen) < 2 and time.monotonic() < deadline:
        text = page.locator("#live-count").inner_text()
        if re.fullmatch(r"\d+", text):
            seen.add(text)
        page.wait_for_timeout(200)
    assert len(seen) >= 2, f"the count never changed: {seen}"
    expect(page.locator("#live-stability")).to_have_text(
        re.compile("Счёт устойчив|Счёт устанавливается…")
    )
    page.wait_for_function(
        "Number(document.getElementById('live-chart').dataset.points) >= 10", timeout=15_000
    )
    expect(page.locator("#live-chart canvas").first).to_be_visible()
    # The picture comes over WebRTC: a <video> whose frames keep coming, the counted frames
    # with their outlines on them (tests/web/test_live_outline_sync.py measures that).
    expect(page.locator("#live-transport")).to_contain_text("WebRTC", timeout=10_000)
    assert page.evaluate("document.getElementById('live-video').videoWidth") == 640
    played = page.evaluate("document.getElementById('live-video').currentTime")
    page.wait_for_function(
        f"document.getElementById('live-video').currentTime > {played} + 1", timeout=10_000
    )
    expect(page.locator("#live-count-age")).to_have_text(re.compile(r"^Счёт \d+,\d с назад$"))
    screenshot(page, "live")
    page.close()


def test_without_webrtc_the_page_falls_back_to_mjpeg_within_3_s(
    browser: Browser, two_cameras: str
) -> None:
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    page.route("**/api/webrtc/**", lambda route: route.abort())  # a firewall in between
    page.goto(two_cameras)
    expect(page.locator("#live-transport")).to_contain_text("MJPEG", timeout=4_000)
    page.wait_for_function(
        "document.getElementById('live-stream').naturalWidth === 640", timeout=15_000
    )
    expect(page.locator("#live-video")).to_be_hidden()
    page.close()
    # An answer whose ICE never connects (the server offers an address nobody reaches) falls
    # back the same way, on its timer.
    page = browser.new_page(viewport={"width": 1366, "height": 768})

    def unreachable(route: Route) -> None:
        # Both sides' candidates rewritten to an address nobody answers at (TEST-NET-1).
        offer = json.loads(route.request.post_data or "{}")
        offer["sdp"] = _unreachable(offer["sdp"])
        answer = route.fetch(post_data=json.dumps(offer)).json()
        route.fulfill(json={"sdp": _unreachable(answer["sdp"]), "type": "answer"})

    page.route("**/api/webrtc/**", unreachable)
    page.goto(two_cameras)
    expect(page.locator("#live-transport")).to_contain_text("MJPEG", timeout=5_000)
    page.close()


def _unreachable(sdp: str) -> str:
    return re.sub(r"(a=candidate:\S+ \d+ \S+ \d+ )\S+", r"\g<1>192.0.2.1", sdp)


def test_a_camera_that_does_not_answer_says_why_in_the_picker(
    browser: Browser, two_cameras: str
) -> None:
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    page.goto(two_cameras)
    picker = page.locator("#camera-select")
    expect(picker).to_contain_text("Весы 2 — Связь потеряна", timeout=15_000)
    picker.select_option("scale2")
    expect(page.locator("#live-status")).to_have_text(
        re.compile("Связь потеряна|Подключение"), timeout=10_000
    )
    # The last picture stays, marked: the camera is reconnecting.
    expect(page.locator("#live-stale")).to_be_visible(timeout=10_000)
    error = page.locator("#live-error")
    # Said in Russian from the error's kind; the system's English words only in English.
    expect(error).to_contain_text(
        "Последняя ошибка: устройство отказало в соединении", timeout=10_000
    )
    expect(error).not_to_contain_text("connection refused")
    # The choice is remembered across a reload.
    page.reload()
    expect(page.locator("#camera-select")).to_have_value("scale2")
    page.get_by_role("button", name="EN").click()
    expect(page.locator("#live-error")).to_contain_text(
        "Last error: the device refused the connection"
    )
    expect(page.locator("#live-error")).to_contain_text("connection refused")
    expect(page.get_by_role("link", name="Scale")).to_have_attribute("aria-current", "page")
    page.get_by_role("button", name="RU").click()
    page.close()


def test_the_ten_minute_chart_opens_with_the_counts_before_the_page(
    browser: Browser, two_cameras: str
) -> None:
    first = browser.new_page(viewport={"width": 1366, "height": 768})
    first.goto(two_cameras)
    expect(first.locator("#live-status")).to_have_text("Идёт подсчёт", timeout=15_000)
    first.wait_for_timeout(6_000)  # the server counts and stores for a while
    first.close()
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    opened = time.time()
    page.goto(two_cameras)
    chart = page.locator("#live-chart")
    page.wait_for_function(
        "Number(document.getElementById('live-chart').dataset.points) >= 10", timeout=15_000
    )
    # The stored counts from before the page opened are on it, not only the socket's.
    since = float(chart.get_attribute("data-since") or "inf")
    assert since <= opened - 4, f"the chart starts {opened - since:.1f} s before the page"
    # Ten minutes of axis, labelled once each: HH:MM steps, none repeated.
    labels = (chart.get_attribute("data-axis") or "").split(" · ")
    assert len(labels) >= 4 and len(set(labels)) == len(labels), labels
    assert all(re.fullmatch(r"\d\d:\d\d", label) for label in labels), labels
    page.close()

"""The live section of the page in a real Chromium: stream with masks, count, status."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, expect

pytestmark = pytest.mark.browser


def test_operator_sees_the_live_camera_with_its_count(browser: Browser, live_url: str) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(live_url)
    live = page.locator("#view-live")
    expect(live).to_be_visible(timeout=15_000)
    expect(page.locator("#camera-select")).to_contain_text("Весы 1")
    expect(page.locator("#live-status")).to_have_text("Идёт подсчёт", timeout=15_000)
    expect(page.locator("#live-count")).to_have_text(re.compile(r"^\d+$"))
    page.wait_for_function(
        "document.getElementById('live-stream').naturalWidth === 320", timeout=15_000
    )
    page.get_by_role("button", name="EN").click()
    expect(page.locator("#live-status")).to_have_text("Counting")
    # The photo counter is one tab away.
    page.get_by_role("link", name="Photo").click()
    expect(page.get_by_text("Drop a photo here")).to_be_visible()
    page.close()

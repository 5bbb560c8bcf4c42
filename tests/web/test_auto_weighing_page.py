"""The live view of a platform that weighs by itself: the record appears, with its state."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from tests.weighing.test_auto_weighing import KG_PER_HEAD, platform  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser


def test_the_operator_sees_the_weighing_the_platform_recorded(
    browser: Browser,
    platform: tuple[str, Any, list[int]],  # noqa: F811
) -> None:
    url, _sim, counts = platform
    standing = max(counts)
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    page.goto(url)
    expect(page.locator("#live-auto-state")).to_contain_text("Автовзвешивание", timeout=15_000)
    total = f"{standing * KG_PER_HEAD:g}"
    expect(page.locator("#live-auto-record")).to_contain_text("Записано само: №", timeout=40_000)
    expect(page.locator("#live-auto-record")).to_contain_text(f"{standing} гол., {total} кг")
    # It is in today's list too, as a camera count.
    expect(page.locator("#weigh-list")).to_contain_text(f"{standing}", timeout=10_000)
    page.close()

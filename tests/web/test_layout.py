"""The page as a whole: every view at a desk (1366x768) and on a phone (390x844) without
horizontal scroll, the tabs by keyboard, both languages complete, and the page's weight."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Response, expect

from tests.web.conftest import Screenshot

pytestmark = pytest.mark.browser

VIEWS = ("live", "history", "archive", "photo", "labelling")
MB = 1 << 20


@pytest.mark.parametrize(
    ("width", "height", "suffix"), [(1366, 768, ""), (390, 844, "-phone")], ids=["desk", "phone"]
)
def test_every_view_fits_the_screen_width(
    browser: Browser, live_url: str, screenshot: Screenshot, width: int, height: int, suffix: str
) -> None:
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(live_url)
    for view in VIEWS:
        page.goto(f"{live_url}/#{view}")
        expect(page.locator(f"#view-{view}")).to_be_visible()
        page.wait_for_timeout(300)  # let the view lay out what it loaded
        scroll = page.evaluate("document.documentElement.scrollWidth")
        assert scroll <= width, f"{view} at {width}px scrolls sideways: {scroll}px wide"
        if suffix:
            screenshot(page, f"layout-{view}{suffix}")
    page.close()


def test_tabs_work_by_keyboard_and_show_one_view(browser: Browser, live_url: str) -> None:
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    page.goto(live_url)
    page.keyboard.press("Tab")
    expect(page.get_by_text("К содержимому")).to_be_focused()  # the skip link comes first
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Весы", exact=True)).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="История", exact=True)).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{live_url}/#history")
    expect(page.locator("#view-history")).to_be_visible()
    for view in ("live", "archive", "photo"):
        expect(page.locator(f"#view-{view}")).to_be_hidden()
    expect(page.get_by_role("link", name="История", exact=True)).to_have_attribute(
        "aria-current", "page"
    )
    page.go_back()
    expect(page.locator("#view-live")).to_be_visible()
    page.close()


def test_both_languages_have_every_text_and_the_choice_stays(
    browser: Browser, live_url: str
) -> None:
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    page.goto(live_url)
    missing = page.evaluate("import('/static/js/i18n.js').then((m) => m.missingTexts())")
    assert missing == []
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    page.get_by_role("button", name="EN").click()
    expect(page.get_by_role("link", name="History", exact=True)).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.reload()
    expect(page.get_by_role("link", name="Archive", exact=True)).to_be_visible()
    # No key is left untranslated on any view (a raw key looks like "weigh.col.time").
    for view in VIEWS:
        page.goto(f"{live_url}/#{view}")
        text = page.locator(f"#view-{view}").inner_text()
        raw = [
            w
            for w in text.split()
            if w.count(".") >= 1
            and w.split(".")[0] in ("weigh", "live", "history", "archive", "nav", "error")
        ]
        assert raw == [], f"{view}: untranslated keys {raw}"
    page.close()


def _first_load_bytes(browser: Browser, url: str) -> tuple[int, list[str]]:
    """Bytes of every response a fresh page loads (the MJPEG stream never ends: left out)."""
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    sizes: dict[str, int] = {}

    def on_response(response: Response) -> None:
        if "/mjpeg" in response.url:
            return
        try:
            sizes[response.url] = len(response.body())
        except Exception:  # a response whose body was not kept (a redirect, a stream)
            sizes[response.url] = 0

    page.on("response", on_response)
    page.goto(url, wait_until="networkidle")
    page.close()
    return sum(sizes.values()), sorted(sizes)


def test_first_load_stays_under_a_megabyte(browser: Browser, live_url: str) -> None:
    # The live view (the chart library included), and the archive with its player: hls.js
    # loads when a recording is opened, so it is counted whether or not one was.
    hls = f"{live_url}/static/vendor/hls.light.esm.js"
    hls_bytes = len(browser.new_context().request.get(hls).body())
    assert hls_bytes > 100_000  # the real player, not an error page
    for view in ("live", "archive"):
        total, urls = _first_load_bytes(browser, f"{live_url}/#{view}")
        if view == "archive" and hls not in urls:
            total += hls_bytes
        assert total < MB, f"#{view} loads {total / MB:.2f} MB: {urls}"
        assert all(u.startswith(live_url) for u in urls), urls  # nothing from a CDN

"""A Russian page says everything in Russian: every view, and every refusal the server sends
(its code and numbers, rendered by the page), with no English sentence from the server's
`detail` or a stored note. English words that are names (WebRTC, MJPEG, CSV, Excel) pass; a
run of three Latin words is a sentence that slipped through."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

# Three Latin words in a row (with spaces or punctuation between): an English sentence.
# Names in capitals (MP4, MKV, TS, CSV) are not words of one.
_WORD = r"[A-Za-z']*[a-z][A-Za-z']*"
LATIN_SENTENCE = re.compile(rf"{_WORD}(?:[\s,.:;()/-]+{_WORD}){{2,}}")


def english_on(page: Page) -> list[str]:
    text = page.evaluate("document.body.innerText")
    return LATIN_SENTENCE.findall(text)


@pytest.fixture
def page(live_page: Page) -> Page:
    return live_page  # tests/web/conftest.py: the live view in Russian


def refusal(page: Page, total: str, count: str) -> str:
    form = page.locator("#weigh-form")
    form.get_by_label("Голов", exact=True).fill(count)
    form.get_by_label("Общий вес, кг").fill(total)
    form.get_by_role("button", name="Сохранить").click()
    error = page.locator("#weigh-error")
    expect(error).to_be_visible(timeout=10_000)
    return error.inner_text()


def test_every_view_and_every_refusal_is_in_russian(page: Page, live_url: str) -> None:
    expect(page.locator("#live-transport")).to_contain_text("WebRTC", timeout=15_000)
    assert english_on(page) == []
    # The server's refusals, said with their numbers in Russian.
    too_heavy = refusal(page, "99999", "10")
    plain = too_heavy.replace("\u00a0", " ").replace("\u202f", " ")
    assert "Общий вес 99 999 кг больше предела 5 000 кг" in plain
    assert english_on(page) == []
    too_light = refusal(page, "1000", "1")
    plain = too_light.replace("\u00a0", " ").replace("\u202f", " ")
    assert "1 000 кг / 1 гол. = 1 000 кг на голову — вне допустимого 0,5–200 кг" in plain
    assert english_on(page) == []
    # A weighing saved, then a correction the server refuses.
    form = page.locator("#weigh-form")
    form.get_by_label("Голов", exact=True).fill("20")
    form.get_by_label("Общий вес, кг").fill("240")
    form.get_by_role("button", name="Сохранить").click()
    expect(page.locator("#weigh-saved")).to_contain_text("Сохранено", timeout=10_000)
    record = httpx.get(f"{live_url}/api/weight/records?limit=1").json()["records"][0]
    item = page.locator(f'#weigh-list .weigh-item[data-record-id="{record["id"]}"]')
    item.get_by_role("button", name="Исправить").click()
    item.get_by_label("Голов").fill("1")
    item.get_by_role("button", name="Сохранить исправление").click()
    expect(item.locator(".weigh-fix-error")).to_contain_text("кг на голову — вне допустимого")
    assert english_on(page) == []

    page.goto(f"{live_url}/#history")
    expect(page.locator("#history-records-body tr").first).to_be_visible(timeout=10_000)
    assert english_on(page) == []
    page.fill("#history-from", "2026-12-31")
    page.fill("#history-to", "2026-01-01")
    page.locator("#history-to").dispatch_event("change")
    expect(page.locator("#history-error")).to_be_visible()
    assert english_on(page) == []

    page.goto(f"{live_url}/#archive")
    upload = {"name": "notes.mp4", "mimeType": "video/mp4", "buffer": b"this is not a video"}
    page.set_input_files("#archive-file", files=[upload])
    error = page.locator("#archive-error")
    expect(error).to_contain_text("Это не видеозапись или файл повреждён", timeout=15_000)
    assert english_on(page) == []

    page.goto(f"{live_url}/#photo")
    photo = {"name": "pen.jpg", "mimeType": "image/jpeg", "buffer": b"not a picture at all"}
    page.set_input_files("#file-input", files=[photo])
    expect(page.locator("#error")).to_be_visible(timeout=10_000)
    assert english_on(page) == []

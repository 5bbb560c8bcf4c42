"""The weighing panel beside the live picture, in a real Chromium."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.web.conftest import Screenshot

pytestmark = pytest.mark.browser

STREAMING = "Идёт подсчёт"


@pytest.fixture
def page(browser: Browser, live_url: str) -> Iterator[Page]:
    """The live view at 1366×768, Russian; fails the test on any script error."""
    context = browser.new_context(
        viewport={"width": 1366, "height": 768}, locale="ru-RU", accept_downloads=True
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(live_url)
    expect(page.locator("#live-status")).to_have_text(STREAMING, timeout=15_000)
    yield page
    context.close()
    assert errors == []


def form(page: Page) -> Locator:
    return page.locator("#weigh-form")


def records_total(page: Page, live_url: str) -> int:
    total: int = page.request.get(f"{live_url}/api/weight/records").json()["total"]
    return total


def no_horizontal_scroll(page: Page) -> int:
    overflow: int = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    return overflow


def test_typed_count_and_total_save_with_enter_and_show_at_once_everywhere(
    page: Page, live_url: str, screenshot: Screenshot
) -> None:
    count = form(page).get_by_label("Голов", exact=True)
    source = page.locator("#weigh-count-source")
    # The camera's stable count fills the field until the operator types one.
    expect(count).to_have_value(re.compile(r"^\d+$"), timeout=15_000)
    expect(source).to_have_text("Счёт камеры")
    count.fill("25")
    expect(source).to_have_text("Введено вручную")
    total = form(page).get_by_label("Общий вес, кг")
    total.fill("250,5")
    # The average is there before anything is sent.
    expect(page.locator("#weigh-avg")).to_have_text("10,02 кг")
    form(page).get_by_label("Примечание").fill("=1+1 группа 3")
    before = records_total(page, live_url)
    total.press("Enter")
    expect(page.locator("#weigh-saved")).to_contain_text("Сохранено, запись №", timeout=10_000)
    expect(page.locator("#weigh-error")).to_be_hidden()
    assert records_total(page, live_url) == before + 1
    record = page.request.get(f"{live_url}/api/weight/records?limit=1").json()["records"][0]
    assert (record["total_weight_kg"], record["count"]) == (250.5, 25)
    assert (record["count_source"], record["avg_weight_kg"]) == ("manual", 10.02)
    assert record["note"] == "=1+1 группа 3"
    assert record["snapshot_url"], "a typed count on a streaming camera keeps its picture"
    expect(page.locator("#weigh-saved")).to_contain_text("25 гол. (вручную) · 250,5 кг")
    # Ready for the next group: fields cleared, the camera's count back, focus on the total.
    expect(total).to_have_value("")
    expect(total).to_be_focused()
    expect(source).to_have_text("Счёт камеры")
    # Today's list has it on top, with its picture.
    first = page.locator("#weigh-list > li").first
    expect(first).to_have_attribute("data-record-id", str(record["id"]))
    expect(first).to_contain_text("10,02 кг на голову")
    expect(first).to_contain_text("=1+1 группа 3")
    thumb = first.locator("img")
    expect(thumb).to_have_attribute("src", record["snapshot_url"])
    thumb.evaluate("img => img.decode()")
    assert thumb.evaluate("img => img.naturalWidth") > 0
    page.locator("#weigh-form").evaluate("form => form.scrollIntoView()")
    screenshot(page, "weighing-saved")
    with page.expect_download() as download:
        page.get_by_role("link", name="Скачать CSV").click()
    # What a Russian Excel opens by a double click: a BOM (else cp1251 mojibake), `;`
    # between cells, decimal commas, Russian headers.
    data = download.value.path().read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    mine = [r for r in rows if r["Запись №"] == str(record["id"])]
    assert len(mine) == 1 and mine[0]["Общий вес, кг"] == "250,5"
    assert (mine[0]["Средний вес, кг"], mine[0]["Счёт"]) == ("10,02", "вручную")
    # The History view shows it first, and its picture enlarges.
    page.get_by_role("link", name="История", exact=True).click()
    row = page.locator("#history-records-body > tr").first
    expect(row).to_have_attribute("data-record-id", str(record["id"]))
    expect(row).to_contain_text("10,02")
    row.locator(".history-thumb").click()
    dialog = page.locator(".snapshot-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator("img")).to_have_attribute("src", record["snapshot_url"])
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()


def test_refused_weighings_say_why_and_record_nothing(page: Page, live_url: str) -> None:
    before = records_total(page, live_url)
    total = form(page).get_by_label("Общий вес, кг")
    count = form(page).get_by_label("Голов", exact=True)
    error = page.locator("#weigh-error")
    save = form(page).get_by_role("button", name="Сохранить")
    # Caught on the page, before anything is sent.
    save.click()
    expect(error).to_contain_text("Введите общий вес")
    expect(total).to_have_attribute("aria-invalid", "true")
    expect(total).to_be_focused()
    total.fill("двести")
    expect(page.locator("#weigh-avg")).to_have_text("—")
    total.press("Enter")
    expect(error).to_contain_text("число килограммов больше нуля")
    total.fill("412.5")
    count.fill("2,5")
    save.click()
    expect(error).to_contain_text("целое от 1 до 1000")
    expect(count).to_be_focused()
    # Refused by the server: the check that refused it, with its numbers, in Russian (the
    # server's English detail stays off a Russian page).
    count.fill("2")
    total.fill("5000")
    expect(page.locator("#weigh-avg")).to_have_text("2 500 кг".replace(" ", "\u00a0"))
    save.click()
    nbsp = "\u00a0"
    expect(error).to_contain_text(
        f"5{nbsp}000 кг / 2 гол. = 2{nbsp}500 кг на голову — вне допустимого 0,5–200 кг"
    )
    expect(error).not_to_contain_text("MAX_AVG_WEIGHT_KG")
    total.fill("6000")
    count.fill("500")
    total.press("Enter")
    expect(error).to_contain_text(f"Общий вес 6{nbsp}000 кг больше предела 5{nbsp}000 кг")
    expect(page.locator("#weigh-saved")).to_be_hidden()
    # The typed count can be handed back to the camera.
    use_camera = form(page).get_by_role("button", name=re.compile(r"^Взять счёт камеры \(\d+\)$"))
    expect(use_camera).to_be_visible(timeout=15_000)
    use_camera.click()
    expect(page.locator("#weigh-count-source")).to_have_text("Счёт камеры")
    assert records_total(page, live_url) == before


def test_a_camera_without_a_count_asks_for_one(page: Page, live_url: str) -> None:
    before = records_total(page, live_url)
    stopped = page.request.post(f"{live_url}/api/cameras/scale1/stop")
    assert stopped.ok
    try:
        form(page).get_by_label("Общий вес, кг").fill("300")
        form(page).get_by_label("Общий вес, кг").press("Enter")
        error = page.locator("#weigh-error")
        expect(error).to_contain_text("не даёт устойчивого счёта", timeout=10_000)
        expect(error).not_to_contain_text("enter the count")  # the server's English
        count = form(page).get_by_label("Голов", exact=True)
        expect(count).to_be_focused()
        assert records_total(page, live_url) == before
    finally:
        assert page.request.post(f"{live_url}/api/cameras/scale1/start").ok


def test_panel_fits_a_phone_and_speaks_english(browser: Browser, live_url: str) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True)
    page = context.new_page()
    page.goto(live_url)
    expect(page.locator("#weighing")).to_be_visible(timeout=15_000)
    # Gloved fingers: every control of the panel is at least 44 px high.
    for selector in ["#weigh-count", "#weigh-total", "#weigh-note", "#weigh-save", "#weigh-csv"]:
        box = page.locator(selector).bounding_box()
        assert box is not None and box["height"] >= 44, selector
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, selector
    form(page).get_by_label("Общий вес, кг").fill("412,5")
    form(page).get_by_label("Голов", exact=True).fill("30")
    expect(page.locator("#weigh-avg")).to_have_text("13,75 кг")
    assert no_horizontal_scroll(page) == 0
    page.get_by_role("button", name="EN").click()
    expect(form(page).get_by_role("button", name="Save")).to_be_visible()
    expect(form(page).get_by_label("Total weight, kg")).to_have_value("412,5")
    expect(page.locator("#weigh-avg")).to_have_text("13.75 kg")
    expect(page.locator("#weigh-count-source")).to_have_text("Typed by hand")
    expect(page.get_by_text("Average per head")).to_be_visible()
    expect(page.get_by_role("link", name="Download CSV")).to_be_visible()
    expect(page.get_by_role("link", name="Full history")).to_be_visible()
    assert no_horizontal_scroll(page) == 0
    context.close()


def test_tab_goes_weight_count_note_save_past_the_take_back_buttons(page: Page) -> None:
    count = form(page).get_by_label("Голов", exact=True)
    expect(count).to_have_value(re.compile(r"^\d+$"), timeout=15_000)
    count.fill("25")  # typed: «Взять счёт камеры» shows, and must not catch a Tab or a space
    use_camera = form(page).get_by_role("button", name=re.compile(r"^Взять счёт камеры"))
    expect(use_camera).to_be_visible(timeout=15_000)
    total = form(page).get_by_label("Общий вес, кг")
    total.click()
    page.keyboard.type("250,5")
    page.keyboard.press("Tab")
    expect(count).to_be_focused()
    page.keyboard.press("Tab")
    note = form(page).get_by_label("Примечание")
    expect(note).to_be_focused()
    page.keyboard.type("загон 3 ")
    page.keyboard.press("Tab")
    expect(form(page).get_by_role("button", name="Сохранить")).to_be_focused()
    # Nothing pressed the take-back buttons on the way: the typed values stand.
    expect(total).to_have_value("250,5")
    expect(count).to_have_value("25")
    expect(note).to_have_value("загон 3 ")
    # Neither «Взять …» button is in the Tab order (a mouse or a finger uses them).
    for button in ("#weigh-use-camera", "#weigh-use-scale"):
        expect(page.locator(button)).to_have_attribute("tabindex", "-1")

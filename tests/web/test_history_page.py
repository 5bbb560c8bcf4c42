"""The History view in a real Chromium: filters, daily summary, snapshots, CSV, paging."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import cv2
import numpy as np
import openpyxl
import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from pigweight.settings import Settings
from pigweight.store.db import open_database
from pigweight.synthetic import write_demo_video
from pigweight.weighing.records import RecordBook
from pigweight.weighing.rules import LiveCount, Weighing
from tests.api.conftest import make_settings
from tests.web.conftest import Screenshot
from tests.web.server import serving

pytestmark = pytest.mark.browser

ZONE = "Europe/Moscow"
BUSY_DAY_WEIGHINGS = 55  # more than a page (50): "show more" is needed


def farm_today() -> date:
    return datetime.now(ZoneInfo(ZONE)).date()


def day(days_ago: int) -> date:
    return farm_today() - timedelta(days=days_ago)


def picture() -> bytes:
    image = np.full((180, 320, 3), (60, 110, 80), np.uint8)
    cv2.ellipse(image, (160, 95), (70, 40), 0, 0, 360, (200, 170, 240), -1)
    ok, jpeg = cv2.imencode(".jpg", image)
    assert ok
    return jpeg.tobytes()


def write_records(settings: Settings) -> None:
    """Weighings on past days, written as the server writes them, before it starts."""
    moment = [0.0]
    book = RecordBook(settings.weighing, settings.server.data_dir, clock=lambda: moment[0])
    engine = open_database(Path(settings.server.data_dir))
    book.start(engine)
    jpeg = picture()

    def add(days_ago: int, minute: int, camera: str, total: float, count: int, **kw: str) -> None:
        at = datetime.combine(day(days_ago), time(9, 0), ZoneInfo(ZONE))
        moment[0] = (at + timedelta(minutes=minute)).timestamp()
        photo = None if kw.get("photo") == "no" else jpeg
        live = LiveCount(stable_count=None, confidence=None, segmenter="classic", jpeg=photo)
        book.record(Weighing(camera, total, count, kw.get("note", "")), live)

    for minute in range(BUSY_DAY_WEIGHINGS):
        add(5, minute, "scale1", 200.0 + minute, 20)
    add(3, 0, "scale1", 300.0, 25)
    add(3, 5, "scale2", 250.0, 20, note="вторые весы")
    add(2, 0, "scale1", 390.0, 30, photo="no")
    add(20, 0, "scale1", 100.0, 10, note="давно")
    engine.dispose()


@pytest.fixture(scope="module")
def farm_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Two scales (neither started) and weighings on days 2, 3, 5 and 20 days ago."""
    work = tmp_path_factory.mktemp("farm")
    clip = write_demo_video(work / "clip.mp4", seconds=1, width=160, height=90)
    cameras = work / "cameras.yaml"
    cameras.write_text(
        "cameras:\n"
        f"  - {{id: scale1, name: Весы 1, url: '{clip}'}}\n"
        f"  - {{id: scale2, name: Весы 2, url: '{clip}', enabled: false}}\n"
    )
    settings = make_settings(work, cameras_file=cameras, farm_timezone=ZONE)
    write_records(settings)
    with serving(settings) as url:
        yield url


def open_history(browser: Browser, url: str, width: int, height: int) -> tuple[Page, list[str]]:
    context = browser.new_context(
        viewport={"width": width, "height": height},
        locale="ru-RU",
        timezone_id=ZONE,
        accept_downloads=True,
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{url}/#history")
    expect(page.locator("#history-records-body > tr").first).to_be_visible(timeout=15_000)
    return page, errors


def filters(page: Page) -> Locator:
    return page.get_by_role("search", name="Отбор взвешиваний")


def rows(page: Page) -> Locator:
    return page.locator("#history-records-body > tr")


def summary_rows(page: Page) -> Locator:
    return page.locator("#history-summary-body > tr")


def horizontal_overflow(page: Page) -> int:
    overflow: int = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    return overflow


def test_history_filters_summarises_and_pages(
    browser: Browser, farm_url: str, screenshot: Screenshot
) -> None:
    page, errors = open_history(browser, farm_url, 1366, 768)
    # The last 7 days by default: the busy day, day 3 (both scales) and day 2.
    in_week = BUSY_DAY_WEIGHINGS + 3
    expect(page.get_by_role("button", name="7 дней")).to_have_attribute("aria-pressed", "true")
    expect(rows(page)).to_have_count(50)
    expect(page.locator("#history-shown")).to_have_text(f"Показано 50 из {in_week}")
    expect(summary_rows(page)).to_have_count(4)
    # Day 3 on scale 2: one weighing of 250 kg over 20 head.
    scale2_day = summary_rows(page).filter(has_text="Весы 2")
    for column, value in [("Взвешиваний", "1"), ("Голов", "20"), ("Средний вес, кг", "12,5")]:
        expect(scale2_day.locator(f"td[data-label='{column}']")).to_have_text(value)
    foot = page.locator("#history-summary-foot")
    expect(foot.locator("td[data-label='Взвешиваний']")).to_have_text(str(in_week))
    # Newest first; the newest (2 days ago) has no picture, the one before has.
    expect(rows(page).first).to_contain_text("нет снимка")
    thumb = rows(page).nth(1).locator("img")
    thumb.evaluate("img => img.decode()")
    assert thumb.evaluate("img => img.naturalWidth") == 320
    screenshot(page, "history")
    page.get_by_role("button", name="Показать ещё").click()
    expect(rows(page)).to_have_count(in_week)
    expect(page.get_by_role("button", name="Показать ещё")).to_be_hidden()
    # One scale: its records, its summary, its CSV; the filter is kept in the URL.
    filters(page).get_by_label("Камера", exact=True).select_option(label="Весы 2")
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first).to_contain_text("вторые весы")
    expect(summary_rows(page)).to_have_count(1)
    expect(foot).to_be_empty()
    assert "camera=scale2" in page.url
    with page.expect_download() as download:
        page.get_by_role("link", name="Скачать CSV").click()
    csv_lines = download.value.path().read_text(encoding="utf-8").splitlines()
    assert len(csv_lines) == 2 and "вторые весы" in csv_lines[1]
    # The same selection as a workbook the office opens: Russian sheets, numbers as numbers.
    with page.expect_download() as download:
        page.get_by_role("link", name="Скачать Excel").click()
    assert download.value.suggested_filename.endswith(".xlsx")
    book = openpyxl.load_workbook(io.BytesIO(download.value.path().read_bytes()))
    assert book.sheetnames == ["Взвешивания", "Сводка"]
    sheet = list(book["Взвешивания"].iter_rows(values_only=True))
    assert len(sheet) == 2 and sheet[1][1:6] == ("scale2", None, 20, 250, 12.5)  # no batch
    assert sheet[1][9] == "вторые весы" and isinstance(sheet[1][0], datetime)
    assert list(book["Сводка"].iter_rows(values_only=True))[1][2:4] == (1, 20)
    # A date range: one day 20 days ago, both scales.
    filters(page).get_by_label("Камера", exact=True).select_option(value="")
    filters(page).get_by_label("С даты").fill(day(20).isoformat())
    filters(page).get_by_label("По дату").fill(day(20).isoformat())
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first).to_contain_text("давно")
    expect(summary_rows(page)).to_have_count(1)
    expect(page.get_by_role("button", name="7 дней")).to_have_attribute("aria-pressed", "false")
    # Days with nothing, and a range the wrong way round, say so.
    filters(page).get_by_label("С даты").fill(day(1).isoformat())
    filters(page).get_by_label("По дату").fill(day(0).isoformat())
    expect(page.locator("#history-records-empty")).to_have_text("За выбранные дни взвешиваний нет")
    expect(rows(page)).to_have_count(0)
    filters(page).get_by_label("С даты").fill(day(0).isoformat())
    filters(page).get_by_label("По дату").fill(day(3).isoformat())
    expect(page.locator("#history-error")).to_contain_text("Начальная дата позже конечной")
    page.get_by_role("button", name="30 дней").click()
    expect(page.locator("#history-error")).to_be_hidden()
    expect(rows(page)).to_have_count(50)
    expect(page.locator("#history-shown")).to_have_text(f"Показано 50 из {in_week + 1}")
    page.context.close()
    assert errors == []


def test_snapshot_enlarges_and_closes(browser: Browser, farm_url: str) -> None:
    page, errors = open_history(browser, farm_url, 1366, 768)
    row = rows(page).filter(has_text="вторые весы")
    row.locator(".history-thumb").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("20 гол., 12,5 кг на голову")
    big = dialog.locator("img")
    big.evaluate("img => img.decode()")
    assert big.evaluate("img => img.getBoundingClientRect().width") > 300
    dialog.get_by_role("button", name="Закрыть").click()
    expect(dialog).to_be_hidden()
    page.context.close()
    assert errors == []


def test_history_fits_a_phone_and_speaks_english(
    browser: Browser, farm_url: str, screenshot: Screenshot
) -> None:
    page, errors = open_history(browser, farm_url, 390, 844)
    expect(rows(page)).to_have_count(50)
    assert horizontal_overflow(page) == 0
    # Rows are cards: each value carries its column's name, every control is reachable.
    first = rows(page).nth(1)
    box = first.bounding_box()
    assert box is not None and box["width"] <= 390
    avg = first.locator("td[data-label='Средний вес, кг']")
    expect(avg).to_be_visible()
    for control in [
        filters(page).get_by_label("С даты"),
        page.get_by_role("button", name="Сегодня"),
    ]:
        control_box = control.bounding_box()
        assert control_box is not None and control_box["height"] >= 44
        assert control_box["x"] + control_box["width"] <= 390
    screenshot(page, "history-phone")
    page.get_by_role("button", name="EN").click()
    expect(page.get_by_role("heading", name="Weighing history")).to_be_visible()
    expect(page.get_by_role("heading", name="Summary by day")).to_be_visible()
    expect(page.locator("#history-shown")).to_have_text(re.compile(r"^Showing 50 of \d+$"))
    expect(first.locator("td[data-label='Average weight, kg']")).to_be_visible()
    expect(page.get_by_role("button", name="Show more")).to_be_visible()
    expect(page.locator("#history-summary-foot")).to_contain_text("Total")
    assert horizontal_overflow(page) == 0
    page.context.close()
    assert errors == []

"""A wrong weighing is fixed from the page: correct or delete any record in today's list and
in History (a deletion says why), undo the last weighing for a minute; a viewer sees none
of it."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from pigweight.app import create_app
from pigweight.auth.users import UserBook
from pigweight.settings import Settings
from pigweight.store.db import open_database
from pigweight.synthetic import write_demo_video
from pigweight.weighing.records import RecordBook
from pigweight.weighing.rules import LiveCount, Weighing
from tests.api.conftest import make_settings
from tests.web.conftest import Screenshot
from tests.web.server import serving_app

pytestmark = pytest.mark.browser

NBSP = "\u00a0"
CAMERA = "scale1"
PASSWORD = "correct horse battery"


def weigh(url: str, total: float, count: int, note: str = "") -> dict[str, Any]:
    """A manual weighing recorded through the API, as another operator's page would."""
    body = {"camera_id": CAMERA, "total_weight_kg": total, "count": count, "note": note}
    answer = httpx.post(f"{url}/api/weight/average", json=body)
    answer.raise_for_status()
    record: dict[str, Any] = answer.json()
    return record


def stored(url: str, record_id: int) -> dict[str, Any]:
    record: dict[str, Any] = httpx.get(f"{url}/api/weight/records/{record_id}").json()
    return record


def csv_totals(url: str) -> list[str]:
    """The total_weight_kg cells of the records CSV (what the farm's spreadsheet gets)."""
    rows = list(csv.DictReader(io.StringIO(httpx.get(f"{url}/api/weight/records.csv").text)))
    return [r["total_weight_kg"] for r in rows]


@pytest.fixture
def open_page(browser: Browser, live_url: str) -> Iterator[Any]:
    """open_page("#history") opens the page at 1366×768 in Russian; no script errors."""
    pages: list[tuple[Page, list[str]]] = []

    def open_(hash_: str = "") -> Page:
        context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="ru-RU")
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{live_url}/{hash_}")
        pages.append((page, errors))
        return page

    yield open_
    for page, errors in pages:
        page.context.close()
        assert errors == []


def item(page: Page, record_id: int) -> Locator:
    return page.locator(f'#weigh-list .weigh-item[data-record-id="{record_id}"]')


def test_a_ten_times_too_heavy_weighing_is_corrected_from_todays_list(
    open_page: Any, live_url: str, screenshot: Screenshot
) -> None:
    wrong = weigh(live_url, 2125, 20, note="загон 3")
    page = open_page()
    mine = item(page, wrong["id"])
    expect(mine).to_contain_text("106,25 кг", timeout=15_000)
    mine.get_by_role("button", name="Исправить").click()
    form = mine.locator(".weigh-fix")
    total = form.get_by_label("Общий вес, кг")
    expect(total).to_have_value(f"2{NBSP}125")
    expect(form.get_by_label("Примечание")).to_have_value("загон 3")
    total.fill("212,5,")
    form.get_by_role("button", name="Сохранить исправление").click()
    expect(form.locator(".weigh-fix-error")).to_contain_text("число килограммов больше нуля")
    expect(total).to_have_attribute("aria-invalid", "true")
    total.fill("212,5")
    # What it will become is shown before it is saved.
    expect(form.locator(".record-fix-average")).to_have_text("Станет: 10,625 кг на голову")
    screenshot(page, "record-correction")
    form.get_by_role("button", name="Сохранить исправление").click()
    fixed = page.locator("#weigh-list .weigh-item", has_text=f"вместо записи №{wrong['id']}")
    expect(fixed).to_contain_text("10,625 кг", timeout=10_000)
    expect(fixed).to_contain_text("212,5 кг")
    expect(item(page, wrong["id"])).to_have_count(0)
    assert stored(live_url, wrong["id"])["status"] == "corrected"
    totals = csv_totals(live_url)
    assert "2125" not in totals and "212.5" in totals


def test_a_record_is_deleted_only_with_a_reason(open_page: Any, live_url: str) -> None:
    record = weigh(live_url, 260, 20)
    page = open_page()
    mine = item(page, record["id"])
    expect(mine).to_be_visible(timeout=15_000)
    # Escape leaves the record as it was.
    mine.get_by_role("button", name="Удалить").click()
    mine.get_by_label("Почему удалить").press("Escape")
    expect(mine.locator(".weigh-fix")).to_have_count(0)
    mine.get_by_role("button", name="Удалить").click()
    form = mine.locator(".weigh-fix")
    form.get_by_role("button", name="Удалить запись").click()
    expect(form.locator(".weigh-fix-error")).to_contain_text("Напишите, почему запись удаляется")
    assert stored(live_url, record["id"])["status"] == "active"
    form.get_by_label("Почему удалить").fill("группа взвешена дважды")
    form.get_by_role("button", name="Удалить запись").click()
    expect(item(page, record["id"])).to_have_count(0, timeout=10_000)
    gone = stored(live_url, record["id"])
    assert (gone["status"], gone["deleted_reason"]) == ("deleted", "группа взвешена дважды")
    assert "260" not in csv_totals(live_url)


def test_the_last_weighing_can_be_undone_for_a_minute(open_page: Any, live_url: str) -> None:
    page = open_page()
    page.clock.install()
    form = page.locator("#weigh-form")
    count = form.get_by_label("Голов", exact=True)
    total = form.get_by_label("Общий вес, кг")
    saved = page.locator("#weigh-saved")
    undo = saved.get_by_role("button", name=re.compile(r"^Отменить запись \(\d+ с\)$"))

    count.fill("20")  # typed: the camera's count may be settling
    total.fill("301")
    total.press("Enter")
    expect(saved).to_contain_text("Сохранено, запись №", timeout=10_000)
    first = httpx.get(f"{live_url}/api/weight/records?limit=1").json()["records"][0]
    assert first["total_weight_kg"] == 301.0
    undo.click()
    expect(saved).to_contain_text(f"Запись №{first['id']} отменена")
    expect(item(page, first["id"])).to_have_count(0, timeout=10_000)
    gone = stored(live_url, first["id"])
    assert (gone["status"], gone["deleted_reason"]) == (
        "deleted",
        "отменено оператором сразу после записи",
    )
    # A minute later the weighing stands: no undo any more.
    count.fill("20")  # a saved weighing hands the count back to the camera
    total.fill("302")
    total.press("Enter")
    expect(saved).to_contain_text("Сохранено, запись №", timeout=10_000)
    expect(undo).to_be_visible()
    page.clock.fast_forward(61_000)
    expect(undo).to_have_count(0)
    expect(saved).to_contain_text("Сохранено, запись №")


def row(page: Page, record_id: int) -> Locator:
    return page.locator(f'#history-records-body tr[data-record-id="{record_id}"]')


def test_history_corrects_and_deletes_any_record(open_page: Any, live_url: str) -> None:
    to_fix = weigh(live_url, 480, 25)
    to_drop = weigh(live_url, 470, 25)
    page = open_page("#history")
    fix_row = row(page, to_fix["id"])
    expect(fix_row).to_be_visible(timeout=15_000)
    fix_row.get_by_role("button", name="Исправить").click()
    count = fix_row.get_by_label("Голов")
    count.fill("24")
    expect(fix_row.locator(".record-fix-average")).to_have_text("Станет: 20 кг на голову")
    count.press("Enter")
    corrected = page.locator("#history-records-body tr", has_text=f"вместо записи №{to_fix['id']}")
    expect(corrected).to_contain_text("24", timeout=10_000)
    expect(row(page, to_fix["id"])).to_have_count(0)
    drop_row = row(page, to_drop["id"])
    drop_row.get_by_role("button", name="Удалить").click()
    drop_row.get_by_label("Почему удалить").fill("пробное взвешивание")
    drop_row.get_by_role("button", name="Удалить запись").click()
    expect(row(page, to_drop["id"])).to_have_count(0, timeout=10_000)
    assert stored(live_url, to_drop["id"])["status"] == "deleted"
    assert "470" not in csv_totals(live_url) and "480" in csv_totals(live_url)


def write_record(settings: Settings) -> None:
    book = RecordBook(settings.weighing, settings.server.data_dir)
    engine = open_database(Path(settings.server.data_dir))
    book.start(engine)
    live = LiveCount(stable_count=None, confidence=None, segmenter="classic", jpeg=None)
    book.record(Weighing(CAMERA, 250.0, 20, "до входа"), live)
    engine.dispose()


def test_a_viewer_sees_the_records_but_no_correct_delete_or_undo(
    browser: Browser, tmp_path: Path
) -> None:
    clip = write_demo_video(tmp_path / "clip.mp4", seconds=1, width=160, height=90)
    cameras = tmp_path / "cameras.yaml"
    cameras.write_text(f"cameras:\n  - {{id: {CAMERA}, name: Весы 1, url: '{clip}'}}\n")
    settings = make_settings(tmp_path, cameras_file=cameras, demo_scale=False)
    write_record(settings)
    engine = open_database(settings.server.data_dir)
    UserBook(engine).add("vera", "viewer", PASSWORD)
    engine.dispose()
    with serving_app(create_app(settings)) as url:
        page = browser.new_page(viewport={"width": 1366, "height": 768})
        page.goto(url)
        page.get_by_label("Имя пользователя").fill("vera")
        page.get_by_label("Пароль").fill(PASSWORD)
        page.get_by_role("button", name="Войти").click()
        listed = page.locator("#weigh-list .weigh-item")
        expect(listed).to_contain_text("до входа", timeout=15_000)
        # The controls are on the page (an operator's page has them) and hidden from her.
        expect(listed.locator(".record-actions")).to_have_count(1)
        expect(listed.locator(".record-actions")).to_be_hidden()
        page.goto(f"{url}/#history")
        history_row = page.locator("#history-records-body tr")
        expect(history_row).to_contain_text("до входа")
        expect(history_row.locator(".record-actions")).to_have_count(1)
        expect(history_row.locator(".record-actions")).to_be_hidden()
        expect(history_row.get_by_role("button", name="Удалить")).to_have_count(0)
        page.close()

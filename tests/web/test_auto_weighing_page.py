"""The live view of a platform that weighs by itself: the record appears, with its state."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.weighing.test_auto_weighing import KG_PER_HEAD, platform  # noqa: F401  (fixture)

# alone: the platform counts its clip in real time (see the Makefile).
pytestmark = [pytest.mark.browser, pytest.mark.alone]


def live_page(browser: Browser, url: str) -> Page:
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    page.goto(url)
    return page


def test_the_operator_sees_the_weighing_the_platform_recorded(
    browser: Browser,
    platform: tuple[str, Any, list[int]],  # noqa: F811
) -> None:
    url, _sim, counts = platform
    standing = max(counts)
    page = live_page(browser, url)
    expect(page.locator("#live-auto-state")).to_contain_text("Автовзвешивание", timeout=15_000)
    total = f"{standing * KG_PER_HEAD:g}"
    expect(page.locator("#live-auto-record")).to_contain_text("Записано само: №", timeout=40_000)
    expect(page.locator("#live-auto-record")).to_contain_text(f"{standing} гол., {total} кг")
    # It is in today's list too, as a camera count.
    expect(page.locator("#weigh-list")).to_contain_text(f"{standing}", timeout=10_000)
    page.close()


def test_the_operator_confirms_and_corrects_an_automatic_record(
    browser: Browser,
    platform: tuple[str, Any, list[int]],  # noqa: F811
    screenshot: Any,
) -> None:
    url, _sim, counts = platform
    standing = max(counts)
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    page.goto(url)
    item = page.locator("#weigh-list .weigh-item.is-automatic").first
    expect(item).to_contain_text("Записано само — проверьте", timeout=40_000)
    record_id = item.get_attribute("data-record-id")
    assert record_id is not None
    mine = page.locator(f'#weigh-list .weigh-item[data-record-id="{record_id}"]')
    expect(mine.locator(".weigh-evidence")).to_have_attribute(
        "href", f"/api/weight/records/{record_id}/evidence"
    )
    # The evidence opens as a table the operator reads, the raw frames one click further.
    mine.locator(".weigh-evidence").click()
    dialog = page.locator("dialog.evidence-dialog")
    expect(dialog).to_contain_text(f"Взвешивание №{record_id}: данные весов и счёта")
    expect(dialog).to_contain_text("Записано само в ")
    expect(dialog).to_contain_text(f"{standing} гол., {standing * KG_PER_HEAD:g} кг")
    expect(dialog).to_contain_text(f"Камера насчитала за это время: {standing} гол. — ")
    header = dialog.locator("thead th")
    expect(header).to_have_text(["Время", "Весы, кг", "Устойчиво", "Голов на кадре"])
    last = dialog.locator("tbody tr").last
    expect(last.locator("td").nth(2)).to_have_text("да")
    expect(last.locator("td").nth(3)).to_have_text(str(standing))
    raw = dialog.locator(".evidence-raw")
    expect(raw).to_be_hidden()
    dialog.get_by_text("Подробнее: что присылали весы").click()
    expect(raw).to_contain_text("ST,GS")
    screenshot(page, "auto-record-evidence")
    dialog.get_by_role("button", name="Закрыть").click()
    expect(dialog).to_be_hidden()
    mine.get_by_role("button", name="Подтвердить").click()
    expect(mine).to_contain_text("Подтверждено оператором", timeout=10_000)
    expect(mine.get_by_role("button", name="Подтвердить")).to_have_count(0)
    # The operator recounts the picture and finds one animal fewer.
    mine.get_by_role("button", name="Исправить").click()
    form = mine.locator(".weigh-fix")
    count = form.get_by_label("Голов")
    expect(count).to_have_value(str(standing))
    count.fill("много")
    form.get_by_role("button", name="Сохранить исправление").click()
    expect(form.locator(".weigh-fix-error")).to_contain_text("Число голов — целое")
    expect(count).to_have_attribute("aria-invalid", "true")
    count.fill(str(standing - 1))
    expect(count).not_to_have_attribute("aria-invalid", "true")
    expect(form.locator(".weigh-fix-error")).to_be_empty()
    form.scroll_into_view_if_needed()
    screenshot(page, "auto-record-correction")
    form.get_by_role("button", name="Сохранить исправление").click()
    fixed = page.locator("#weigh-list .weigh-item", has_text=f"вместо записи №{record_id}")
    expect(fixed).to_contain_text(f"{standing - 1} гол.", timeout=10_000)
    expect(page.locator(f'#weigh-list .weigh-item[data-record-id="{record_id}"]')).to_have_count(0)
    page.close()


def test_saving_the_group_the_platform_just_recorded_asks_first(
    browser: Browser,
    platform: tuple[str, Any, list[int]],  # noqa: F811
) -> None:
    url, _sim, counts = platform
    standing = max(counts)
    page = live_page(browser, url)
    expect(page.locator("#live-auto-record")).to_contain_text("Записано само: №", timeout=40_000)

    def manual() -> list[dict[str, Any]]:
        records = httpx.get(f"{url}/api/weight/records?limit=100").json()["records"]
        return [r for r in records if r["count_source"] == "manual"]

    form = page.locator("#weigh-form")
    form.get_by_label("Голов", exact=True).fill(str(standing))
    total = form.get_by_label("Общий вес, кг")
    total.fill(f"{standing * KG_PER_HEAD:g}")
    total.press("Enter")
    ask = page.locator("#weigh-duplicate")
    expect(ask).to_contain_text("Эта группа уже записана автоматически (запись №")
    expect(ask).to_contain_text(f"{standing} гол.")
    expect(ask.get_by_role("button", name="Не записывать")).to_be_focused()
    ask.get_by_role("button", name="Не записывать").click()
    expect(ask).to_be_hidden()
    expect(page.locator("#weigh-saved")).to_be_hidden()
    assert manual() == []
    # Another group that looks the same: the operator says so, and it is recorded once.
    total.press("Enter")
    ask.get_by_role("button", name="Записать ещё раз").click()
    expect(page.locator("#weigh-saved")).to_contain_text("Сохранено, запись №", timeout=10_000)
    expect(ask).to_be_hidden()
    assert [r["total_weight_kg"] for r in manual()] == [standing * KG_PER_HEAD]
    page.close()

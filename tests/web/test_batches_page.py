"""Batches from the page: the operator starts a batch beside the live camera, weighs into it,
sees head weighed against expected and the uniformity, is warned when more head were weighed
than the batch has, closes it; History shows the batch and exports it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.web.conftest import Screenshot

pytestmark = pytest.mark.browser


@pytest.fixture
def page(live_page: Page) -> Page:
    return live_page  # tests/web/conftest.py: the live view in Russian


def weigh_on_page(page: Page, total: str, count: str) -> None:
    form = page.locator("#weigh-form")
    form.get_by_label("Голов", exact=True).fill(count)
    form.get_by_label("Общий вес, кг").fill(total)
    form.get_by_role("button", name="Сохранить").click()
    expect(page.locator("#weigh-saved")).to_contain_text("Сохранено", timeout=10_000)


def records(url: str, **query: Any) -> list[dict[str, Any]]:
    page = httpx.get(f"{url}/api/weight/records", params=query).json()
    found: list[dict[str, Any]] = page["records"]
    return found


def test_a_batch_is_started_weighed_into_warned_and_closed(
    page: Page, live_url: str, screenshot: Screenshot
) -> None:
    panel = page.locator("#batch")
    pick = panel.get_by_label("Партия", exact=True)
    expect(pick).to_be_visible(timeout=15_000)
    expect(panel.locator("#batch-figures")).to_have_text("Взвешивания записываются без партии.")
    pick.select_option(label="+ Новая партия…")
    new = panel.locator("#batch-new")
    # A bad input is said, and no batch is made of it.
    new.get_by_role("button", name="Начать партию").click()
    expect(panel.locator("#batch-error")).to_contain_text("Назовите партию")
    expect(new.get_by_label("Загон или группа")).to_have_attribute("aria-invalid", "true")
    new.get_by_label("Загон или группа").fill("Загон 3")
    new.get_by_label("Голов в партии").fill("двадцать")
    new.get_by_role("button", name="Начать партию").click()
    expect(panel.locator("#batch-error")).to_contain_text("целое число больше нуля")
    assert httpx.get(f"{live_url}/api/batches").json()["total"] == 0
    new.get_by_label("Голов в партии").fill("25")
    new.get_by_label("Цель, кг на голову").fill("12,5")
    new.get_by_role("button", name="Начать партию").click()
    expect(new).to_be_hidden()
    expect(panel.locator("#batch-error")).to_be_hidden()
    expect(pick.locator("option:checked")).to_have_text("Загон 3")
    expect(panel.locator("#batch-figures")).to_have_text(
        "Взвешиваний в партии ещё нет, ожидается 25 гол."
    )
    [batch] = httpx.get(f"{live_url}/api/batches").json()["batches"]
    assert (batch["expected_head"], batch["target_avg_kg"]) == (25, 12.5)

    weigh_on_page(page, "240", "20")
    figures = panel.locator("#batch-figures")
    expect(figures).to_contain_text("Взвешено 20 из 25 гол. (осталось 5)")
    expect(figures).to_contain_text("средний 12 кг")
    expect(figures).to_contain_text("до цели 0,5 кг")
    expect(panel.locator("#batch-over")).to_be_hidden()
    weigh_on_page(page, "140", "10")  # 14 a head: 30 head of 25
    expect(figures).to_contain_text("Взвешено 30 из 25 гол.")
    expect(figures).to_contain_text("мин–макс 12–14 кг")
    expect(figures).to_contain_text("однородность: CV 7,4 %")
    over = panel.locator("#batch-over")
    expect(over).to_be_visible()
    expect(over).to_contain_text("Взвешено 30 гол. — больше, чем в партии (25)")
    # Said where the operator looks after saving, too.
    saved_warning = page.locator('#weigh-saved [data-warning="over_count"]')
    expect(saved_warning).to_contain_text("больше, чем в партии (25)")
    panel.scroll_into_view_if_needed()
    screenshot(page, "batch-live")
    assert [r["batch_name"] for r in records(live_url)] == ["Загон 3", "Загон 3"]

    panel.get_by_role("button", name="Закрыть партию").click()
    expect(pick.locator("option:checked")).to_have_text("— без партии —")
    expect(pick.locator("option", has_text="Загон 3 (закрыта)")).to_have_count(1)
    weigh_on_page(page, "100", "10")
    assert records(live_url)[0]["batch_id"] is None
    # Picking the closed batch again takes the camera's weighings into it.
    pick.select_option(label="Загон 3 (закрыта)")
    expect(pick.locator("option:checked")).to_have_text("Загон 3")
    assert httpx.get(f"{live_url}/api/batches/{batch['id']}").json()["open"]


def test_history_filters_by_batch_and_exports_it(
    page: Page, live_url: str, screenshot: Screenshot
) -> None:
    started = httpx.post(
        f"{live_url}/api/batches",
        json={"camera_id": "scale1", "name": "Группа 7", "expected_head": 40},
    ).json()
    for total, count in ((300, 20), (330, 20)):
        body = {"camera_id": "scale1", "total_weight_kg": total, "count": count}
        httpx.post(f"{live_url}/api/weight/average", json=body).raise_for_status()
    page.goto(f"{live_url}/#history")
    page.locator("#history-filters").get_by_label("Партия").select_option(label="Группа 7 · Весы 1")
    rows = page.locator("#history-records-body tr")
    expect(rows).to_have_count(2, timeout=10_000)
    for row in rows.all():
        expect(row.locator("td").nth(2)).to_have_text("Группа 7")
    expect(page.locator("#history-batch-figures")).to_contain_text(
        "Партия «Группа 7»: Взвешено 40 из 40 гол. (осталось 0)"
    )
    expect(page.locator("#history-from")).to_have_value("")  # the whole batch, any day
    xlsx = page.locator("#history-xlsx")
    expect(xlsx).to_have_attribute(
        "href", f"/api/weight/records.xlsx?batch={started['id']}&lang=ru"
    )
    with page.expect_download() as download:
        xlsx.click()
    assert download.value.suggested_filename == f"weight_records_batch-{started['id']}.xlsx"
    screenshot(page, "batch-history")

"""The weighing panel beside the live picture, in a real Chromium."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, expect

pytestmark = pytest.mark.browser


def test_operator_records_a_weighing_and_sees_it_in_todays_list(
    browser: Browser, live_url: str
) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(live_url)
    expect(page.locator("#live-status")).to_have_text("Идёт подсчёт", timeout=15_000)
    expect(page.locator("#weigh-count")).to_have_attribute(
        "placeholder", re.compile(r"^с камеры: \d+$"), timeout=15_000
    )
    # A typo is caught before anything is sent.
    page.locator("#weigh-total").fill("двести")
    page.get_by_role("button", name="Сохранить").click()
    expect(page.locator("#weigh-error")).to_contain_text("Введите общий вес")
    # Russian decimal comma; the count typed (the tiny looping clip's count jumps around,
    # the API tests cover the camera's count).
    page.locator("#weigh-total").fill("250,5")
    page.locator("#weigh-count").fill("25")
    page.locator("#weigh-note").fill("=1+1 группа 3")
    page.get_by_role("button", name="Сохранить").click()
    saved = page.locator("#weigh-saved")
    expect(saved).to_contain_text("Запись №", timeout=10_000)
    expect(page.locator("#weigh-error")).to_be_hidden()
    record = page.request.get(f"{live_url}/api/weight/records?limit=1").json()["records"][0]
    assert record["total_weight_kg"] == 250.5 and record["count_source"] == "manual"
    assert record["avg_weight_kg"] == 10.02
    assert record["note"] == "=1+1 группа 3"
    avg_ru = f"{record['avg_weight_kg']:g}".replace(".", ",")
    expect(saved).to_contain_text(f"{avg_ru} кг на голову")
    row = page.locator(f"#weigh-history-body tr[data-record-id='{record['id']}']")
    expect(row).to_contain_text(avg_ru)
    expect(row).to_contain_text("=1+1 группа 3")
    expect(page.locator("#weigh-total")).to_have_value("")
    expect(page.locator("#weigh-count")).to_have_value("")
    # A count the server refuses: the reason is shown, nothing is recorded.
    page.locator("#weigh-total").fill("5000")
    page.locator("#weigh-count").fill("2")
    page.get_by_role("button", name="Сохранить").click()
    expect(page.locator("#weigh-error")).to_contain_text("проверьте вес и число голов")
    expect(page.locator("#weigh-error")).to_contain_text("MAX_AVG_WEIGHT_KG")
    total = page.request.get(f"{live_url}/api/weight/records").json()["total"]
    assert total == 1
    csv_link = page.locator("#weigh-csv")
    with page.expect_download() as download:
        csv_link.click()
    assert "record_id" in download.value.path().read_text(encoding="utf-8").splitlines()[0]
    page.get_by_role("button", name="EN").click()
    expect(page.get_by_role("button", name="Save")).to_be_visible()
    expect(page.get_by_role("link", name="Download CSV")).to_be_visible()
    page.close()

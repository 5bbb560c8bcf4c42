"""One reading of a typed weight on every form of the live page: the weighing form and the
correction of a record (typed or recorded by the platform: the same form). What is saved,
or refused with the reason, for each way an operator types a weight."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

COUNT = 20
# Typed -> the total saved; None: refused, nothing saved.
TYPED: dict[str, float | None] = {
    "212,5": 212.5,
    "212.5": 212.5,
    "1 212,5": 1212.5,
    "212,": None,
    ",5": None,
    "212.5.1": None,
    "2125": 2125.0,
}


@pytest.fixture
def page(live_page: Page) -> Page:
    return live_page  # tests/web/conftest.py: the live view in Russian


def records(url: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = httpx.get(f"{url}/api/weight/records?limit=500").json()["records"]
    return found


def test_the_weighing_form_saves_or_refuses_each_way_of_typing(page: Page, live_url: str) -> None:
    form = page.locator("#weigh-form")
    expect(form.get_by_label("Общий вес, кг")).to_be_visible(timeout=15_000)
    seen: dict[str, float | None] = {}
    for typed, expected in TYPED.items():
        before = len(records(live_url))
        form.get_by_label("Голов", exact=True).fill(str(COUNT))
        total = form.get_by_label("Общий вес, кг")
        total.fill("")
        total.press_sequentially(typed)
        total.press("Enter")
        if expected is None:
            expect(page.locator("#weigh-error")).to_contain_text("Общий вес", timeout=5_000)
            expect(total).to_have_attribute("aria-invalid", "true")
            page.wait_for_timeout(300)  # a wrong save would have the time to happen
            assert len(records(live_url)) == before, typed
            seen[typed] = None
        else:
            expect(page.locator("#weigh-saved")).to_contain_text("Сохранено", timeout=10_000)
            newest = records(live_url)[0]
            seen[typed] = newest["total_weight_kg"]
            assert newest["count"] == COUNT
    assert seen == TYPED


def test_the_correction_form_saves_or_refuses_each_way_of_typing(page: Page, live_url: str) -> None:
    seen: dict[str, float | None] = {}
    for typed, expected in TYPED.items():
        body = {"camera_id": "scale1", "total_weight_kg": 100, "count": COUNT}
        record = httpx.post(f"{live_url}/api/weight/average", json=body).json()
        page.reload()
        item = page.locator(f'#weigh-list .weigh-item[data-record-id="{record["id"]}"]')
        item.get_by_role("button", name="Исправить").click(timeout=15_000)
        fix = item.locator(".weigh-fix")
        total = fix.get_by_label("Общий вес, кг")
        total.fill("")
        total.press_sequentially(typed)
        fix.get_by_role("button", name="Сохранить исправление").click()
        if expected is None:
            expect(fix.locator(".weigh-fix-error")).to_contain_text("Общий вес")
            expect(total).to_have_attribute("aria-invalid", "true")
            page.wait_for_timeout(300)
            now = httpx.get(f"{live_url}/api/weight/records/{record['id']}").json()
            assert now["status"] == "active", typed
            seen[typed] = None
        else:
            replaced = page.locator("#weigh-list .weigh-item", has_text=f"записи №{record['id']}")
            expect(replaced).to_be_visible(timeout=10_000)
            newest = records(live_url)[0]
            assert newest["corrects_id"] == record["id"]
            seen[typed] = newest["total_weight_kg"]
    assert seen == TYPED

"""The page on PostgreSQL (DATABASE_URL): a weighing typed, corrected, listed in the history,
and still there after a restart."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from pigweight.synthetic import write_demo_video
from tests.api.conftest import make_settings
from tests.postgres import PostgresServer
from tests.web.server import serving

pytestmark = pytest.mark.browser


def test_a_weighing_typed_on_the_page_lives_in_postgresql(
    browser: Browser, postgres: PostgresServer, tmp_path: Path
) -> None:
    name = postgres.create_database()
    clip = write_demo_video(tmp_path / "clip.mp4", seconds=2, width=320, height=180)
    cameras = tmp_path / "cameras.yaml"
    cameras.write_text(f"cameras:\n  - {{id: scale1, name: Весы 1, url: '{clip}'}}\n")
    settings = make_settings(
        tmp_path, cameras_file=cameras, auto_start_cam=True, database_url=postgres.url(name)
    )
    try:
        with serving(settings) as url:
            page = browser.new_page(viewport={"width": 1366, "height": 768})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(url)
            page.locator("#weigh-total").fill("312,4")
            page.locator("#weigh-count").fill("26")
            page.locator("#weigh-count").press("Enter")
            expect(page.locator("#weigh-saved")).to_contain_text(
                "Сохранено, запись №1: 26 гол. (вручную) · 312,4 кг", timeout=10_000
            )
            page.close()
        # The server again, on the same database: the history lists the weighing.
        (tmp_path / "data" / "pigweight.sqlite3").unlink(missing_ok=True)
        with serving(settings) as url:
            page = browser.new_page(viewport={"width": 1366, "height": 768})
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"{url}/#history")
            row = page.locator("#history-records-body > tr").first
            expect(row).to_contain_text("312,4", timeout=15_000)
            expect(row).to_contain_text("26")
            assert not (tmp_path / "data" / "pigweight.sqlite3").exists()
            page.close()
        assert errors == []
    finally:
        postgres.drop_database(name)

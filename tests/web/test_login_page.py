"""Logging in and out in a real Chromium: the page asks for a login once users exist, says
what is wrong in Russian, shows who is logged in, and a viewer's Save is refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, expect

from pigweight.app import create_app
from pigweight.auth.users import UserBook
from pigweight.store.db import open_database
from tests.api.conftest import make_settings
from tests.web.server import serving_app

pytestmark = pytest.mark.browser
PASSWORD = "correct horse battery"


def test_the_operator_logs_in_works_and_logs_out(
    browser: Browser, tmp_path: Path, screenshot: Any
) -> None:
    settings = make_settings(tmp_path, demo_scale=False)
    engine = open_database(settings.server.data_dir)
    book = UserBook(engine)
    book.add("oleg", "operator", PASSWORD)
    book.add("vera", "viewer", PASSWORD)
    engine.dispose()
    with serving_app(create_app(settings)) as url:
        assert httpx.get(f"{url}/api/cameras").status_code == 401
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(f"{url}/#history")
        expect(page).to_have_url(f"{url}/login?next=%2F#history")  # the browser keeps #view
        expect(page.get_by_role("heading", name="Вход")).to_be_visible()
        page.get_by_label("Имя пользователя").fill("oleg")
        page.get_by_label("Пароль").fill("not my password")
        page.get_by_role("button", name="Войти").click()
        expect(page.locator("#login-error")).to_have_text("Неверное имя пользователя или пароль.")
        page.get_by_role("button", name="EN").click()
        expect(page.locator("#login-error")).to_have_text("Wrong user name or password.")
        page.get_by_role("button", name="RU").click()
        page.get_by_label("Пароль").fill(PASSWORD)
        screenshot(page, "login")
        page.get_by_role("button", name="Войти").click()
        expect(page.locator("#user-name")).to_have_text("oleg", timeout=10_000)
        expect(page.locator("#user-role")).to_have_text("оператор")
        expect(page).to_have_url(f"{url}/#history")  # back where the user was going
        cookies = {c["name"]: c for c in page.context.cookies()}
        assert cookies["pigweight_session"]["httpOnly"]
        assert cookies["pigweight_session"]["sameSite"] == "Strict"
        # The page works as before: today's list loads (it needs the session).
        page.get_by_role("link", name="Весы").click()
        expect(page.locator("#weigh-empty")).to_be_visible(timeout=10_000)
        page.get_by_role("button", name="Выйти").click()
        expect(page.get_by_role("heading", name="Вход")).to_be_visible()
        page.goto(url + "/")
        expect(page.get_by_role("heading", name="Вход")).to_be_visible()

        # A viewer sees everything but cannot record: Save is disabled and says why before
        # any click, and the archive offers no weighing.
        page.get_by_label("Имя пользователя").fill("vera")
        page.get_by_label("Пароль").fill(PASSWORD)
        page.get_by_role("button", name="Войти").click()
        expect(page.locator("#user-role")).to_have_text("только просмотр", timeout=10_000)
        page.locator("#weigh-count").fill("10")
        page.locator("#weigh-total").fill("120")
        expect(page.get_by_role("button", name="Сохранить")).to_be_disabled()
        expect(page.locator("#weigh-viewer")).to_have_text(
            "Только просмотр: записывать и исправлять взвешивания может оператор."
        )
        page.locator("#weigh-total").press("Enter")
        expect(page.locator("#weigh-error")).to_be_hidden()
        assert page.request.get(f"{url}/api/weight/records").json()["total"] == 0
        page.goto(f"{url}/#archive")
        expect(page.locator("#archive-weigh")).to_be_hidden()
        page.close()

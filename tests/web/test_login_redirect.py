"""After logging in on the real page, a hostile `?next=` never takes the browser to another
origin: Chromium's own URL parser reads `/\\host` and `/<tab>/host` as `//host`. Checked
through the server (which drops such a next) and with the page alone (the login page served
under the hostile URL as it is, as a stale cache or a proxy might)."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Route, expect

from pigweight.app import create_app
from pigweight.auth.users import UserBook
from pigweight.store.db import open_database
from tests.api.conftest import make_settings
from tests.web.server import serving_app

pytestmark = pytest.mark.browser
PASSWORD = "correct horse battery"
# {other} is this same server under another name (localhost): another origin, and one
# that answers, so a wrong turn shows as a page on it rather than a network error.
HOSTILE = [
    "/%5C{other}/x",
    "/%09/{other}/x",
    "//{other}/x",
    "javascript:alert(1)",
]


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = make_settings(tmp_path_factory.mktemp("login_redirect"), demo_scale=False)
    engine = open_database(settings.server.data_dir)
    UserBook(engine).add("oleg", "operator", PASSWORD)
    engine.dispose()
    with serving_app(create_app(settings)) as served:
        yield served


def log_in_at(browser: Browser, url: str, login_url: str, page_only: bool) -> str:
    """Log in on the page at `login_url`; the URL the browser ends up on."""
    context = browser.new_context()
    page = context.new_page()
    if page_only:  # the login page as it is, whatever the server would say about `next`

        def plain_page(route: Route) -> None:
            route.fulfill(response=route.fetch(url=f"{url}/login"))

        page.route(lambda u: u.startswith(f"{url}/login?"), plain_page)
    page.goto(login_url)
    page.get_by_label("Имя пользователя").fill("oleg")
    page.get_by_label("Пароль").fill(PASSWORD)
    page.get_by_role("button", name="Войти").click()
    page.wait_for_url(lambda u: not u.startswith(f"{url}/login"), timeout=10_000)
    page.wait_for_load_state()
    landed = page.url
    if landed.startswith(f"{url}/"):  # on the service: logged in there
        expect(page.locator("#user-name")).to_have_text("oleg", timeout=10_000)
    context.close()
    return landed


@pytest.mark.parametrize("page_only", [False, True], ids=["server-and-page", "page-alone"])
@pytest.mark.parametrize("target", HOSTILE)
def test_a_hostile_next_lands_on_the_service_itself(
    browser: Browser, url: str, target: str, page_only: bool
) -> None:
    other = f"localhost:{urlsplit(url).port}"
    landed = log_in_at(browser, url, f"{url}/login?next={target.format(other=other)}", page_only)
    assert landed == f"{url}/", f"next={target}: the browser left for {landed}"


@pytest.mark.parametrize("page_only", [False, True], ids=["server-and-page", "page-alone"])
def test_a_path_of_the_service_is_where_the_login_goes(
    browser: Browser, url: str, page_only: bool
) -> None:
    landed = log_in_at(browser, url, f"{url}/login?next=%2F%3Fx%3D1", page_only)
    assert landed == f"{url}/?x=1"

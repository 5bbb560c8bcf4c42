"""The photo page in a real Chromium against a real uvicorn server on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, FilePayload, expect

from tests.api.conftest import make_settings
from tests.api.photos import THREE_PIGS, pigs_on_floor
from tests.web.server import serving

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A PigWeight server on 127.0.0.1 and a free port, stopped after the module."""
    settings = make_settings(tmp_path_factory.mktemp("web"), preload_model=True)
    with serving(settings, ws="none") as url:
        yield url


def test_operator_counts_a_photo_in_russian_and_english(browser: Browser, server_url: str) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(server_url + "/#photo")

    # Russian by default; English on demand, remembered across reloads; back to Russian.
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    expect(page.get_by_text("Перетащите фото сюда")).to_be_visible()
    page.get_by_role("button", name="EN").click()
    expect(page.get_by_text("Drop a photo here")).to_be_visible()
    page.reload()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.get_by_role("button", name="RU").click()
    expect(page.get_by_role("button", name="Выбрать файл")).to_be_visible()

    page.set_input_files(
        "#file-input",
        files=[
            FilePayload(name="pigs.jpg", mimeType="image/jpeg", buffer=pigs_on_floor(THREE_PIGS))
        ],
    )

    expect(page.locator("#count")).to_have_text("3", timeout=30_000)
    expect(page.locator("#overlay")).to_be_visible()
    assert page.eval_on_selector("#overlay", "img => img.naturalWidth") == 1280
    expect(page.locator("#confidence")).to_contain_text("%")
    expect(page.get_by_text("Посчитать другое фото")).to_be_visible()
    expect(page.locator("#error")).to_be_hidden()
    page.close()


def test_text_file_named_jpg_shows_a_clear_error(browser: Browser, server_url: str) -> None:
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(server_url + "/#photo")

    page.set_input_files(
        "#file-input",
        files=[FilePayload(name="notes.jpg", mimeType="image/jpeg", buffer=b"weight 512 kg\n")],
    )

    error = page.locator("#error")
    expect(error).to_be_visible(timeout=30_000)
    expect(error).to_contain_text("Это не фото или файл повреждён")
    expect(page.locator("#count")).to_have_text("—")
    page.get_by_role("button", name="EN").click()
    expect(error).to_contain_text("This is not a photo")
    # Phone width: nothing sticks out sideways.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.close()

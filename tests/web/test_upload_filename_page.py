"""The archive page shows a Cyrillic file name as written: uploaded from the page, and sent
by a script as the raw body with a percent-encoded X-Filename."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from playwright.sync_api import Browser, expect

from pigweight.synthetic import write_demo_video
from tests.api.conftest import make_settings
from tests.web.server import serving

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def clip_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("names")
    write_demo_video(work / "демо.mp4", seconds=3, width=320, height=180)
    return work


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = make_settings(tmp_path_factory.mktemp("server"), demo_video_seconds=0)
    with serving(settings) as served:
        yield served


def test_the_archive_lists_cyrillic_names_as_written(
    browser: Browser, url: str, clip_dir: Path
) -> None:
    clip = clip_dir / "демо.mp4"
    sent = httpx.post(
        f"{url}/api/video_file/upload",
        content=clip.read_bytes(),
        headers={"X-Filename": quote("Свинарник 2.mp4")},
        timeout=60,
    )
    assert sent.status_code == 201, sent.text
    page = browser.new_page()
    page.goto(url + "/#archive")
    expect(page.locator("#view-archive")).to_be_visible(timeout=15_000)
    expect(page.locator("#archive-list li", has_text="Свинарник 2.mp4")).to_be_visible(
        timeout=15_000
    )
    page.set_input_files("#archive-file", clip)
    expect(page.locator("#archive-list li", has_text="демо.mp4")).to_be_visible(timeout=30_000)
    assert "Ð" not in page.locator("#archive-list").inner_text()
    page.close()

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from pigweight.synthetic import write_demo_video
from tests.api.conftest import make_settings
from tests.web.server import chromium, serving

REPO = Path(__file__).resolve().parents[2]
# Screenshots of every view, kept as artifacts of the run (docs/user-guide.md's pictures are
# taken with SCREENSHOT_DIR=docs/img).
SCREENSHOT_DIR = Path(os.environ.get("SCREENSHOT_DIR") or REPO / ".artifacts" / "screenshots")

Screenshot = Callable[[Page, str], Path]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as b:
        yield b


@pytest.fixture(scope="module")
def live_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server whose one camera replays a tiny synthetic clip, started at start-up."""
    work = tmp_path_factory.mktemp("live")
    clip = write_demo_video(work / "clip.mp4", seconds=2, width=320, height=180)
    cameras = work / "cameras.yaml"
    cameras.write_text(f"cameras:\n  - {{id: scale1, name: Весы 1, url: '{clip}'}}\n")
    settings = make_settings(work, cameras_file=cameras, auto_start_cam=True)
    with serving(settings) as url:
        yield url


@pytest.fixture
def screenshot() -> Screenshot:
    """screenshot(page, "archive-player") saves SCREENSHOT_DIR/archive-player.png."""

    def take(page: Page, name: str) -> Path:
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOT_DIR / f"{name}.png"
        page.screenshot(path=str(path))
        return path

    return take


@contextmanager
def russian_page(browser: Browser) -> Iterator[Page]:
    """A page in Russian at 1366×900 in a context of its own; fails on any script error."""
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="ru-RU")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert errors == []


@pytest.fixture
def live_page(browser: Browser, live_url: str) -> Iterator[Page]:
    """The live view of `live_url` in Russian at 1366×900; fails on any script error."""
    with russian_page(browser) as page:
        page.goto(f"{live_url}/")
        yield page

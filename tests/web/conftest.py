from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from tests.web.server import chromium

REPO = Path(__file__).resolve().parents[2]
# Screenshots of every view, kept as artifacts of the run (docs/user-guide.md's pictures are
# taken with SCREENSHOT_DIR=docs/img).
SCREENSHOT_DIR = Path(os.environ.get("SCREENSHOT_DIR") or REPO / ".artifacts" / "screenshots")

Screenshot = Callable[[Page, str], Path]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as b:
        yield b


@pytest.fixture
def screenshot() -> Screenshot:
    """screenshot(page, "archive-player") saves SCREENSHOT_DIR/archive-player.png."""

    def take(page: Page, name: str) -> Path:
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOT_DIR / f"{name}.png"
        page.screenshot(path=str(path))
        return path

    return take

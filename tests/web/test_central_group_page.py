"""The central's "Group model" card in a real Chromium over a real hub: barn1's labelled
frames are counted and shown as pictures; a training with too few frames is refused in
Russian, then in English."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nats
import numpy as np
import pytest
from playwright.sync_api import Browser, expect

from pigweight.media.images import encode_jpeg
from pigweight.sites import models
from tests.api.conftest import make_settings
from tests.natsd import CENTRAL_PASSWORD
from tests.web.conftest import russian_page
from tests.web.server import serving
from tests.web.test_sites_pages import _hub_and_leaf

pytestmark = pytest.mark.browser


async def _labelled_frames(url: str, n: int) -> None:
    """n labelled frames in barn1's stream, as its link puts them there."""
    nc = await nats.connect(url, user="central", password=CENTRAL_PASSWORD)
    js = nc.jetstream()
    await models.ensure_central_streams(js, ["barn1"])
    rng = np.random.default_rng(3)
    for frame_id in range(1, n + 1):
        image = rng.integers(0, 255, (90, 160, 3), dtype=np.uint8)
        label = {"frame_id": frame_id, "camera": "cam1", "ts": float(frame_id), "version": 1}
        label |= {"boxes": [[0.1, 0.1, 0.3, 0.4]], "labelled_by": "anna"}
        await js.publish(
            models.label_subject("barn1", frame_id),
            encode_jpeg(image, 90),
            headers={"Pw-Label": json.dumps(label)},
        )
    await nc.close()


def test_the_central_shows_the_sites_frames_and_refuses_too_few(
    browser: Browser, tmp_path: Path
) -> None:
    with _hub_and_leaf(tmp_path) as (hub, _leaf):
        with ThreadPoolExecutor(1) as pool:  # Playwright's loop runs in this thread
            pool.submit(asyncio.run, _labelled_frames(hub.url, 3)).result()
        central = make_settings(
            tmp_path / "central",
            central=True,
            central_sites=["barn1"],
            nats_url=hub.url,
            nats_user="central",
            nats_password=CENTRAL_PASSWORD,
        )
        with serving(central) as url, russian_page(browser) as page:
            page.goto(f"{url}/")
            row = page.locator('#central-labels-body tr[data-site="barn1"]')
            expect(row.locator("td").nth(1)).to_have_text("3", timeout=15_000)
            pictures = row.locator("img")
            expect(pictures).to_have_count(3)
            page.wait_for_function(
                "() => [...document.querySelectorAll('#central-labels-body img')]"
                ".every((img) => img.complete && img.naturalWidth === 160)"
            )
            expect(page.locator("#central-group-models-empty")).to_be_visible()
            page.fill("#central-group-steps", "2")
            page.click("#central-group-train")
            result = page.locator("#central-group-result")
            expect(result).to_contain_text("Обучение не началось")
            expect(result).to_contain_text("Размечено кадров: 3")
            page.click('[data-lang="en"]')
            expect(result).to_contain_text("training needs at least 5")
            expect(page.locator("#central-group-title")).to_have_text("Group model")

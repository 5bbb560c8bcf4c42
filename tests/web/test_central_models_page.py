"""The central's "Models of the sites" card in a real Chromium over real nats-servers: the
admin sends an ONNX model to barn1's cam1, the card says it is waiting, then counting once
barn1's app took it; a file that is not a model is not sent and the card says why."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, expect

from pigweight.vision.pig_model import DEFAULT_MODEL
from tests.api.conftest import make_settings
from tests.natsd import CENTRAL_PASSWORD, site_password
from tests.web.conftest import russian_page
from tests.web.server import serving
from tests.web.test_sites_pages import _hub_and_leaf

pytestmark = pytest.mark.browser


def test_the_central_sends_a_model_to_a_site_from_its_page(
    browser: Browser, tmp_path: Path
) -> None:
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a model")
    with _hub_and_leaf(tmp_path) as (hub, leaf):
        central = make_settings(
            tmp_path / "central",
            central=True,
            central_sites=["barn1"],
            nats_url=hub.url,
            nats_user="central",
            nats_password=CENTRAL_PASSWORD,
        )
        site = make_settings(
            tmp_path / "barn1",
            site_id="barn1",
            nats_url=leaf.url,
            nats_user="barn1",
            nats_password=site_password("barn1"),
        )
        with (
            serving(central) as url,
            serving(site) as site_url,
            russian_page(browser) as page,
        ):
            page.goto(f"{url}/")
            row = page.locator('#central-models-body tr[data-site="barn1"]')
            expect(row).to_contain_text("не отправлялась", timeout=15_000)
            page.set_input_files("#central-model-file", str(junk))
            page.click("#central-model-send")
            expect(page.locator("#central-model-result")).to_contain_text("не отправлена")
            page.set_input_files("#central-model-file", str(DEFAULT_MODEL))
            page.fill("#central-model-cameras", "cam1")
            page.click("#central-model-send")
            expect(page.locator("#central-model-result")).to_contain_text("barn1")
            expect(row).to_contain_text(DEFAULT_MODEL.name)
            page.reload()  # the card is read again every 10 s; a reload reads it now
            expect(row).to_contain_text("работает", timeout=15_000)
            health = httpx.get(f"{site_url}/api/health").json()
            assert health["central_model"]["state"] == "active"

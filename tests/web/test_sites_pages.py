"""The pages of sites and the central in a real Chromium: the central opens on its sites
(one online, a record from it, Russian then English), and a site's header says how its link
to the central stands (the hub stopped: no link and what waits; back: sent)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, expect

from tests.api.conftest import make_settings
from tests.conftest import need_system
from tests.natsd import Hub, Leaf, installed, site_password
from tests.sites.test_central_api import CLOSED_NATS, fill_central
from tests.web.conftest import russian_page
from tests.web.server import serving

pytestmark = pytest.mark.browser


def test_the_central_page_opens_on_its_sites(browser: Browser, tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path, central=True, central_sites=["barn1", "barn2"], nats_url=CLOSED_NATS
    )
    fill_central(settings.server.data_dir)
    with serving(settings) as url, russian_page(browser) as page:
        page.goto(f"{url}/")
        expect(page.locator("#view-central")).to_be_visible()
        # no cameras, archive or photos of its own: only its sites
        expect(page.locator('[data-view-link="live"]')).to_be_hidden()
        expect(page.locator('[data-view-link="archive"]')).to_be_hidden()
        expect(page.locator('[data-view-link="central"]')).to_have_text("Площадки")
        barn1 = page.locator('#central-sites-body tr[data-site="barn1"]')
        expect(barn1).to_contain_text("на связи")
        expect(barn1).to_contain_text("1 из 2")  # cameras at work
        expect(page.locator('#central-sites-body tr[data-site="barn2"]')).to_contain_text(
            "нет связи с"
        )
        first = page.locator("#central-records-body tr").first
        expect(first).to_contain_text("barn1")
        expect(first).to_contain_text("300")
        # 720 kg / 55 head, in the Russian way
        expect(page.locator("#central-batches-body")).to_contain_text("13,091")
        page.select_option("#central-site", "barn2")
        expect(page.locator("#central-records-body tr")).to_have_count(1)
        expect(page.locator("#central-records-body")).to_contain_text("barn2")
        page.click('[data-lang="en"]')
        expect(page.locator("#view-central-title")).to_have_text("Sites")
        page.select_option("#central-site", "")
        expect(barn1).to_contain_text("online")
        expect(page.locator("#central-batches-body")).to_contain_text("13.091")


@contextmanager
def _hub_and_leaf(folder: Path) -> Iterator[tuple[Hub, Leaf]]:
    need_system(installed(), "nats-server is not installed (Debian: apt-get install nats-server)")
    hub = Hub(folder, ["barn1"])
    hub.start()
    leaf = Leaf(folder, "barn1", hub)
    try:
        leaf.start()
        yield hub, leaf
    finally:
        leaf.stop()
        hub.stop()


def test_a_site_page_says_how_its_link_to_the_central_stands(
    browser: Browser, tmp_path: Path
) -> None:
    with _hub_and_leaf(tmp_path) as (hub, leaf):
        settings = make_settings(
            tmp_path,
            site_id="barn1",
            nats_url=leaf.url,
            nats_user="barn1",
            nats_password=site_password("barn1"),
            nats_monitor_url=f"http://127.0.0.1:{leaf.monitor_port}",
        )
        with serving(settings) as url, russian_page(browser) as page:
            page.goto(f"{url}/")
            link = page.locator("#site-link")
            expect(link).to_have_text("Центр: связь есть", timeout=15_000)
            hub.stop()  # the link is down; the site goes on recording
            weighing = {"camera_id": "demo", "total_weight_kg": 212.5, "count": 17}
            assert httpx.post(f"{url}/api/weight/average", json=weighing).status_code == 201
            expect(link).to_have_text(
                "Центр: нет связи · в очереди 1 запись (записи сохраняются здесь)",
                timeout=15_000,
            )
            page.click('[data-lang="en"]')
            expect(link).to_contain_text("Central: no link · 1 record waiting")
            page.click('[data-lang="ru"]')
            hub.start()
            expect(link).to_contain_text("Центр: связь есть · отправлено ", timeout=15_000)

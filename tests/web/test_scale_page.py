"""The platform's scale on the live view: its reading, and the total it fills in."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, expect

from pigweight.synthetic import write_demo_video
from pigweight.weighing.scale_sim import ScaleSimulator, WeighingCycle
from tests.api.conftest import make_settings
from tests.web.server import serving

pytestmark = pytest.mark.browser

STANDING = WeighingCycle(
    empty_s=0.3, loading_s=0.3, stable_s=600, unloading_s=0.3, total_kg=245.5, noise_kg=0.0
)


@pytest.fixture
def scale_page(tmp_path: Path) -> Iterator[tuple[str, ScaleSimulator]]:
    sim = ScaleSimulator("ascii", STANDING, rate_hz=20)
    port = sim.serve_tcp()
    clip = write_demo_video(tmp_path / "clip.mp4", seconds=2, width=320, height=180)
    cameras = tmp_path / "cameras.yaml"
    cameras.write_text(f"cameras:\n  - {{id: scale1, name: Весы 1, url: '{clip}'}}\n")
    settings = make_settings(
        tmp_path,
        cameras_file=cameras,
        auto_start_cam=True,
        scale_url=f"tcp://127.0.0.1:{port}?protocol=ascii",
        webrtc_hosts=["127.0.0.1"],
    )
    try:
        with serving(settings) as url:
            yield url, sim
    finally:
        sim.stop()


def test_the_scale_fills_the_total_and_says_when_it_is_silent(
    browser: Browser, scale_page: tuple[str, ScaleSimulator]
) -> None:
    url, sim = scale_page
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    expect(page.locator("#live-scale")).to_have_text("Весы: 245,5 кг · устойчиво", timeout=15_000)
    total = page.locator("#weigh-total")
    expect(total).to_have_value("245,5")
    expect(page.locator("#weigh-total-source")).to_have_text("С весов, показание устойчиво")
    page.locator("#weigh-count").fill("20")
    expect(page.locator("#weigh-avg")).to_contain_text("12,275")
    page.locator("#weigh-count").press("Enter")
    expect(page.locator("#weigh-saved")).to_contain_text("245,5", timeout=10_000)
    record = httpx.get(f"{url}/api/weight/records?limit=1").json()["records"][0]
    assert record["total_weight_kg"] == 245.5 and record["count"] == 20
    # The operator's own number wins over the scale until the field is emptied.
    total.fill("250")
    page.locator("#weigh-note").click()
    expect(total).to_have_value("250")
    expect(page.locator("#weigh-total-source")).to_have_text("Введено вручную")
    page.get_by_role("button", name="Взять вес с весов").click()
    expect(total).to_have_value("245,5")
    # The indicator goes quiet: said on the view, and the total is no longer filled in.
    sim.stop()
    expect(page.locator("#live-scale")).to_contain_text("Весы не отвечают", timeout=15_000)
    expect(page.locator("#weigh-total-source")).to_have_text("Весы не отвечают: введите вес")
    expect(total).to_have_value("")
    page.get_by_role("button", name="EN", exact=True).click()
    expect(page.locator("#live-scale")).to_contain_text("The scale does not answer")
    assert errors == []
    page.close()

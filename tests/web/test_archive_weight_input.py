"""The archive's weighing from a frame reads a typed weight as the live form does, and shows
what it will save before saving: `212,5` is 212.5 kg, never 2125. A weighing saved without
its picture (a full disk) says so, here and on the live page."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from pigweight.synthetic import write_demo_video
from tests.api.conftest import make_settings
from tests.api.test_snapshot_disk_full import full_disk
from tests.web.server import register_indexed, serving
from tests.web.test_archive_page import STANDING_T, frame_on_screen, open_archive, seek_by_timeline

pytestmark = pytest.mark.browser

CLIP_S = 4.0
NBSP = "\u00a0"
# Typed -> the weight saved, as the live form reads it (tests/web/test_weighing_page.py).
WEIGHTS = {
    "212,5": 212.5,
    "212.5": 212.5,
    "1 212,5": 1212.5,
    " 212,5 ": 212.5,
    "300": 300.0,
}
RUBBISH = ["212,5,1", "21a2", "-212,5", "2.1.2", "кг", "1e3", "212,", ",5", "212.5.1"]


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("weight-input")


@pytest.fixture(scope="module")
def archive_url(work: Path) -> Iterator[str]:
    """A server with one 4 s recording registered and indexed."""
    clip = write_demo_video(work / "nvr" / "cam1.mp4", seconds=CLIP_S, width=640, height=360)
    settings = make_settings(work, media_roots=[clip.parent], demo_video_seconds=0)
    with serving(settings) as url:
        register_indexed(url, clip)
        yield url


def ru_kg(value: float) -> str:
    """A weight as the page writes it in Russian: 1 212,5 (a no-break space in thousands)."""
    whole, _, fraction = f"{value:.3f}".rstrip("0").rstrip(".").partition(".")
    groups = f"{int(whole):,}".replace(",", NBSP)
    return groups + ("," + fraction if fraction else "")


def open_form(browser: Browser, url: str) -> tuple[Page, int]:
    """The archive with the weighing form open on the standing group; the frame's count."""
    page = open_archive(browser, url)
    seek_by_timeline(page, STANDING_T, duration_s=CLIP_S)
    shown = frame_on_screen(page, STANDING_T)
    page.locator("#archive-weigh").click()
    expect(page.locator("#archive-weigh-form")).to_be_visible()
    return page, int(shown["count"])


def newest(url: str) -> dict[str, object] | None:
    records = httpx.get(f"{url}/api/weight/records").json()["records"]
    return records[0] if records else None


def test_a_typed_weight_and_enter_save_the_weight_as_the_live_form_reads_it(
    browser: Browser, archive_url: str
) -> None:
    page, _ = open_form(browser, archive_url)
    result = page.locator("#archive-weigh-result")
    saved = {}
    for typed in WEIGHTS:
        if page.locator("#archive-weigh-form").is_hidden():
            page.locator("#archive-weigh").click()  # the form closes after each weighing
        weight = page.locator("#archive-weight")
        weight.press_sequentially(typed)
        before = newest(archive_url)
        weight.press("Enter")
        expect(result).to_contain_text("Записано", timeout=15_000)
        record = newest(archive_url)
        assert record is not None and record != before, typed
        expect(result).to_contain_text(f"№{record['id']}")
        saved[typed] = record["total_weight_kg"]
    assert saved == WEIGHTS
    page.close()


def test_a_weight_typed_ten_times_too_heavy_is_refused_with_its_numbers(
    browser: Browser, archive_url: str
) -> None:
    page, count = open_form(browser, archive_url)
    before = newest(archive_url)
    weight = page.locator("#archive-weight")
    weight.press_sequentially("2125")
    weight.press("Enter")
    result = page.locator("#archive-weigh-result")
    average = ru_kg(math.floor(2125 / count * 1000 + 0.5) / 1000)
    expect(result).to_contain_text(
        f"Взвешивание не записано: 2{NBSP}125 кг / {count} гол. = {average} кг на голову — "
        "вне допустимого 0,5–200 кг",
        timeout=15_000,
    )
    assert newest(archive_url) == before
    page.close()


@pytest.mark.parametrize("typed", ["212,5", "1 212,5"])
def test_the_weight_and_the_average_are_shown_before_saving(
    browser: Browser, archive_url: str, typed: str
) -> None:
    page, count = open_form(browser, archive_url)
    before = newest(archive_url)
    preview = page.locator("#archive-weigh-preview")
    page.locator("#archive-weight").press_sequentially(typed)
    total = WEIGHTS[typed]
    avg = math.floor(total / count * 1000 + 0.5) / 1000  # the page rounds halves up
    expect(preview).to_have_text(f"Будет записано: {ru_kg(total)} кг — {ru_kg(avg)} кг на голову")
    # A count typed over the frame's changes the average at once.
    page.locator("#archive-weigh-count").fill("10")
    expect(preview).to_have_text(
        f"Будет записано: {ru_kg(total)} кг — {ru_kg(round(total * 100) / 1000)} кг на голову"
    )
    assert newest(archive_url) == before  # shown, not saved
    page.close()


def test_rubbish_is_shown_as_a_mistake_and_cannot_be_saved(
    browser: Browser, archive_url: str
) -> None:
    page, _ = open_form(browser, archive_url)
    before = newest(archive_url)
    weight = page.locator("#archive-weight")
    preview = page.locator("#archive-weigh-preview")
    submit = page.locator("#archive-weigh-form button[type=submit]")
    for typed in RUBBISH:
        weight.fill("")
        weight.press_sequentially(typed)
        expect(preview).to_have_text("Это не вес: введите число килограммов, например 212,5")
        expect(preview).to_have_attribute("data-state", "error")
        expect(submit).to_be_disabled()
        weight.press("Enter")
    page.wait_for_timeout(300)  # nothing may arrive: give a wrong save the time to happen
    assert newest(archive_url) == before
    # Corrected, it saves.
    weight.fill("212,5")
    expect(submit).to_be_enabled()
    weight.press("Enter")
    expect(page.locator("#archive-weigh-result")).to_contain_text("Записано", timeout=15_000)
    record = newest(archive_url)
    assert record is not None and record["total_weight_kg"] == 212.5
    page.close()


@pytest.mark.parametrize("total", ["212,5", "212.5", "2125", True, [212.5]])
@pytest.mark.parametrize("route", ["frame", "live", "correction"])
def test_the_api_takes_a_weight_only_as_a_json_number(
    archive_url: str, route: str, total: object
) -> None:
    # Nothing on the server reads text as a number: a comma can never be multiplied there.
    before = newest(archive_url)
    url, body = {
        "frame": ("/api/video_file/1/weighing", {"t": STANDING_T, "count": 10}),
        "live": ("/api/weight/average", {"camera_id": "demo", "count": 10}),
        "correction": ("/api/weight/records/1/correction", {}),
    }[route]
    r = httpx.post(archive_url + url, json={**body, "total_weight_kg": total})
    assert r.status_code == 422, r.text
    assert "total_weight_kg" in r.json()["detail"] and r.json()["code"] == "invalid_request"
    assert newest(archive_url) == before


def test_a_weighing_saved_without_its_picture_says_so(
    browser: Browser, archive_url: str, work: Path
) -> None:
    page, _ = open_form(browser, archive_url)
    with full_disk(work / "data" / "snapshots"):
        page.locator("#archive-weight").press_sequentially("212,5")
        page.locator("#archive-weight").press("Enter")
        result = page.locator("#archive-weigh-result")
        expect(result).to_contain_text("Записано", timeout=15_000)
        expect(result).to_contain_text("взвешивание записано без снимка, диск заполнен")
        expect(result).not_to_contain_text("No space left on device")  # English: not here
    record = newest(archive_url)
    assert record is not None and record["total_weight_kg"] == 212.5
    assert record["snapshot_url"] is None
    page.close()


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A server whose one camera replays a tiny clip; its URL and its data folder."""
    live = tmp_path_factory.mktemp("live-full")
    clip = write_demo_video(live / "clip.mp4", seconds=2, width=320, height=180)
    cameras = live / "cameras.yaml"
    cameras.write_text(f"cameras:\n  - {{id: scale1, name: Весы 1, url: '{clip}'}}\n")
    settings = make_settings(live, cameras_file=cameras, auto_start_cam=True)
    with serving(settings) as url:
        yield url, live / "data"


def test_the_live_page_says_when_a_weighing_is_saved_without_its_picture(
    browser: Browser, live_server: tuple[str, Path]
) -> None:
    url, data = live_server
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    page.goto(url)
    expect(page.locator("#live-status")).to_have_text("Идёт подсчёт", timeout=15_000)
    # A weighing keeps the camera's current picture: there must be one to lose.
    deadline = time.monotonic() + 15
    while httpx.get(f"{url}/api/cameras/scale1/snapshot.jpg").status_code != 200:
        assert time.monotonic() < deadline, "the camera showed no picture in 15 s"
        time.sleep(0.1)
    with full_disk(data / "snapshots"):
        page.locator("#weigh-count").fill("19")
        page.locator("#weigh-total").fill("212,5")
        page.locator("#weigh-total").press("Enter")
        saved = page.locator("#weigh-saved")
        expect(saved).to_contain_text("212,5", timeout=15_000)
        record = newest(url)
        assert record is not None and record["total_weight_kg"] == 212.5
        assert record["snapshot_url"] is None, (record, saved.text_content())
        warning = saved.locator("[data-warning=snapshot_error]")
        expect(warning).to_contain_text("взвешивание записано без снимка, диск заполнен")
        expect(warning).not_to_contain_text("No space left on device")  # English: not here
    page.close()

"""The archive view in a real Chromium: upload (surviving a dropped connection), index
progress, HLS playback, the count and outlines of the frame on screen, the timeline's
thumbnails, a weighing from a frame, the phone layout and the language switch."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import cv2
import httpx
import numpy as np
import pytest
from playwright.sync_api import Browser, Page, Route, expect

from pigweight.synthetic import load_truth, write_demo_video
from tests.api.conftest import make_settings
from tests.web.conftest import Screenshot
from tests.web.server import register_indexed, serving

pytestmark = pytest.mark.browser

LIMIT_GB = 0.004  # ~4 MB: a 5 MB file is refused with 413
STANDING_T = 1.5  # the clip's first group of 19 stands still on the platform
WALKING_T = 4.0  # ... and walks off: every frame differs from the next second's


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    work = tmp_path_factory.mktemp("clips")
    return {
        "nvr": write_demo_video(work / "nvr" / "cam1.mp4", seconds=12, width=640, height=360),
        "upload": write_demo_video(work / "pen 7.mp4", seconds=8, seed=3, width=640, height=360),
    }


@pytest.fixture(scope="module")
def archive_url(tmp_path_factory: pytest.TempPathFactory, clips: dict[str, Path]) -> Iterator[str]:
    """A server with one 12 s recording registered and indexed."""
    work = tmp_path_factory.mktemp("archive")
    nvr = clips["nvr"].parent
    settings = make_settings(
        work, media_roots=[nvr], demo_video_seconds=0, max_video_upload_gb=LIMIT_GB
    )
    with serving(settings) as url:
        register_indexed(url, clips["nvr"])
        yield url


def open_archive(browser: Browser, url: str, width: int = 1366, height: int = 768) -> Page:
    page = browser.new_page(viewport={"width": width, "height": height})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(url + "/#archive?id=1")
    expect(page.locator("#view-archive")).to_be_visible(timeout=15_000)
    expect(page.locator("#archive-play")).to_be_enabled(timeout=15_000)
    page.wait_for_function("document.getElementById('archive-video').readyState >= 2")
    assert errors == []
    return page


def frame_on_screen(page: Page, near_t: float | None) -> dict[str, float]:
    """Wait until the page shows the frame at near_t (None: any) with its sample; its times
    and count."""
    page.wait_for_function(
        """(t) => {
            const c = document.getElementById('archive-count');
            const near = t === null || Math.abs(Number(c.dataset.frameT) - t) < 0.1;
            return Boolean(c.dataset.sampleT) && near;
        }""",
        arg=near_t,
        timeout=15_000,
    )
    return page.evaluate(
        """() => {
            const c = document.getElementById('archive-count');
            return {frame_t: Number(c.dataset.frameT), sample_t: Number(c.dataset.sampleT),
                    count: Number(c.textContent)};
        }"""
    )


def seek_by_timeline(page: Page, t: float, duration_s: float = 12.0) -> None:
    box = page.locator("#archive-timeline").bounding_box()
    assert box is not None
    x = box["x"] + box["width"] * t / duration_s
    page.mouse.move(x, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.up()


def inside_point(mask: np.ndarray) -> tuple[int, int]:
    """The pixel of a mask farthest from its edge: (x, y)."""
    distance = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 5)
    y, x = np.unravel_index(int(np.argmax(distance)), distance.shape)
    return int(x), int(y)


def outline_alpha(page: Page, points: list[tuple[float, float]]) -> list[int]:
    """Alpha of the outline canvas at points given in 0-1 of the frame."""
    return page.evaluate(
        """(points) => {
            const canvas = document.getElementById('archive-outlines');
            const ctx = canvas.getContext('2d');
            return points.map(([x, y]) => ctx.getImageData(
                Math.min(canvas.width - 1, Math.floor(x * canvas.width)),
                Math.min(canvas.height - 1, Math.floor(y * canvas.height)), 1, 1).data[3]);
        }""",
        [list(p) for p in points],
    )


def test_an_upload_survives_a_dropped_connection_shows_progress_then_plays(
    browser: Browser, archive_url: str, clips: dict[str, Path], screenshot: Screenshot
) -> None:
    page = open_archive(browser, archive_url)
    # Small chunks, and the second one's connection drops: the page must ask the server
    # where it stands and go on from there.
    page.evaluate("document.getElementById('view-archive').dataset.chunkBytes = 65536")
    patches: list[str] = []

    def drop_second(route: Route) -> None:
        if route.request.method == "PATCH":
            patches.append(route.request.headers.get("upload-offset", ""))
            if len(patches) == 2:
                route.abort("connectionreset")
                return
        route.continue_()

    page.route("**/api/video_file/uploads/*", drop_second)
    # Every status line the operator sees, in order.
    page.evaluate(
        """() => {
            window.seen = [];
            const note = () => document.querySelectorAll(
                '#archive-upload-state, #archive-list .archive-item-state'
            ).forEach((el) => {
                if (window.seen.at(-1) !== el.textContent) window.seen.push(el.textContent);
            });
            new MutationObserver(note).observe(document.getElementById('view-archive'),
                {subtree: true, childList: true, characterData: true});
        }"""
    )
    page.set_input_files("#archive-file", clips["upload"])
    item = page.locator("#archive-list li", has_text="pen 7.mp4")
    expect(item).to_be_visible(timeout=30_000)
    expect(page.locator("#archive-upload-state")).to_have_text(
        "Загружено, запись добавлена в список"
    )
    screenshot(page, "archive-upload")
    expect(item.locator(".archive-item-state")).to_have_text("Запись разобрана", timeout=30_000)
    seen = page.evaluate("window.seen")
    assert any(s.startswith("Связь прервалась") for s in seen), seen
    assert any(re.fullmatch(r"Разбор записи: \d+ %.*|В очереди на разбор", s) for s in seen), seen
    # The retry went on from the server's offset (a multiple of the chunk), not from 0.
    assert len(patches) > 3 and patches[2] == patches[1] != "0", patches
    size = clips["upload"].stat().st_size
    assert httpx.get(f"{archive_url}/api/video_file").json()[-1]["size_bytes"] == size
    # The upload opened in the player: it plays.
    expect(item.locator("button")).to_have_attribute("aria-current", "true")
    expect(page.locator("#archive-play")).to_be_enabled()
    page.locator("#archive-play").click()
    page.wait_for_function(
        "document.getElementById('archive-video').currentTime > 1.5", timeout=20_000
    )
    expect(page.locator("#archive-play")).to_have_text("Пауза")
    expect(page.locator("#archive-error")).to_be_hidden()
    page.close()


def test_a_refused_upload_shows_the_servers_reason(browser: Browser, archive_url: str) -> None:
    page = open_archive(browser, archive_url)
    too_big = {"name": "big.mp4", "mimeType": "video/mp4", "buffer": b"\0" * 5_000_000}
    page.set_input_files("#archive-file", files=[too_big])
    expect(page.locator("#archive-error")).to_be_visible(timeout=10_000)
    expect(page.locator("#archive-error-title")).to_have_text(
        "Файл больше допустимого размера загрузки: подключите запись с диска регистратора "
        "вместо загрузки."
    )
    expect(page.locator("#archive-error-detail")).to_be_empty()  # the English stays off
    page.get_by_role("button", name="EN", exact=True).click()
    expect(page.locator("#archive-error-detail")).to_contain_text("GB limit (MAX_VIDEO_UPLOAD_GB)")
    page.close()


def test_the_count_and_outlines_are_those_of_the_frame_on_screen(
    browser: Browser, archive_url: str, clips: dict[str, Path], screenshot: Screenshot
) -> None:
    page = open_archive(browser, archive_url)
    truth = load_truth(clips["nvr"])
    seek_by_timeline(page, STANDING_T)
    shown = frame_on_screen(page, STANDING_T)
    answer = httpx.get(
        f"{archive_url}/api/video_file/count_at_time",
        params={"id": 1, "t": shown["frame_t"]},
    ).json()
    assert (shown["count"], shown["sample_t"]) == (answer["count"], answer["sample_t"])
    # Outlines: a point deep inside each true animal is covered, open floor is not.
    masks = truth.masks(round(shown["frame_t"] * truth.fps))
    h, w = masks.shape[1:]
    animals = [(x / w, y / h) for x, y in map(inside_point, masks)]
    covered = [a > 0 for a in outline_alpha(page, animals)]
    assert sum(covered) >= 0.8 * len(animals), covered
    anywhere = cv2.dilate(masks.any(axis=0).astype(np.uint8), np.ones((41, 41), np.uint8))
    ys, xs = np.nonzero(anywhere[40:-40, 40:-40] == 0)
    pick = np.random.default_rng(0).choice(len(xs), 30, replace=False)
    floor = [((xs[i] + 40) / w, (ys[i] + 40) / h) for i in pick]
    assert sum(a > 0 for a in outline_alpha(page, floor)) <= 3
    # Hovering the timeline shows the thumbnail of that moment.
    box = page.locator("#archive-timeline").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * 0.85, box["y"] + box["height"] / 2)
    preview = page.locator("#archive-preview")
    expect(preview).to_be_visible()
    expect(page.locator("#archive-preview-time")).to_have_text("0:10")
    expect(page.locator("#archive-preview-img")).to_have_attribute("src", re.compile(r"sprite_0"))
    page.wait_for_function(
        "document.getElementById('archive-preview-img').naturalWidth >= 160", timeout=10_000
    )
    screenshot(page, "archive-player")
    # Keys step one frame forward and back.
    page.locator("#archive-player").focus()
    page.keyboard.press(".")
    step = 1 / truth.fps
    after = frame_on_screen(page, shown["frame_t"] + step)
    page.keyboard.press(",")
    frame_on_screen(page, after["frame_t"] - step)
    page.close()


def test_the_picture_is_the_frame_whose_time_the_page_shows(
    browser: Browser, archive_url: str
) -> None:
    """hls.js's clock maps to the file's time (the segments' 1 s PTS offset is removed)."""
    page = open_archive(browser, archive_url)
    seek_by_timeline(page, WALKING_T)
    frame_t = frame_on_screen(page, WALKING_T)["frame_t"]
    shown = np.array(
        page.evaluate(
            """() => {
                const video = document.getElementById('archive-video');
                const canvas = new OffscreenCanvas(160, 90);
                const ctx = canvas.getContext('2d', {willReadFrequently: true});
                ctx.drawImage(video, 0, 0, 160, 90);
                return Array.from(ctx.getImageData(0, 0, 160, 90).data);
            }"""
        ),
        np.float32,
    ).reshape(90, 160, 4)[:, :, :3]

    def distance(t: float) -> float:
        jpeg = httpx.get(f"{archive_url}/api/video_file/1/frame.jpg", params={"t": t}).content
        image = cv2.cvtColor(cv2.imdecode(np.frombuffer(jpeg, np.uint8), 1), cv2.COLOR_BGR2RGB)
        small = cv2.resize(image, (160, 90), interpolation=cv2.INTER_AREA).astype(np.float32)
        return float(np.abs(small - shown).mean())

    exact, before, after = distance(frame_t), distance(frame_t - 1), distance(frame_t + 1)
    assert exact < 0.5 * min(before, after), (exact, before, after)
    page.close()


def test_a_weighing_is_recorded_from_the_frame_on_screen(
    browser: Browser, archive_url: str
) -> None:
    page = open_archive(browser, archive_url)
    seek_by_timeline(page, STANDING_T)
    shown = frame_on_screen(page, STANDING_T)
    page.locator("#archive-weigh").click()
    expect(page.locator("#archive-weigh-count")).to_have_value(str(shown["count"]))
    page.locator("#archive-weigh-form button[type=submit]").click()
    expect(page.locator("#archive-weigh-result")).to_have_text("Введите общий вес с весов, кг")
    total = round(shown["count"] * 12.5, 1)
    page.locator("#view-archive").get_by_label("Общий вес, кг").fill(str(total))
    page.locator("#archive-weigh-form button[type=submit]").click()
    expect(page.locator("#archive-weigh-result")).to_contain_text("Записано", timeout=15_000)
    record = httpx.get(f"{archive_url}/api/weight/records").json()["records"][0]
    assert record["camera"] == "cam1.mp4"
    assert (record["count"], record["count_source"]) == (shown["count"], "auto")
    assert record["total_weight_kg"] == total
    # Where it comes from, with no English words: the recording and the moment in it.
    t = shown["frame_t"]
    assert record["note"] == f"cam1.mp4 · 0:{int(t // 60):02d}:{t % 60:05.2f}"
    snapshot = httpx.get(f"{archive_url}/api/weight/records/{record['id']}/snapshot.jpg")
    assert snapshot.status_code == 200
    assert snapshot.headers["content-type"] == "image/jpeg"
    page.close()


def test_the_phone_layout_has_no_horizontal_scroll_and_the_language_switches(
    browser: Browser, archive_url: str, screenshot: Screenshot
) -> None:
    page = open_archive(browser, archive_url, width=390, height=844)
    frame_on_screen(page, None)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    for selector in ["#archive-play", "#archive-timeline", "#archive-weigh", "#archive-list"]:
        box = page.locator(selector).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, selector
    screenshot(page, "archive-phone")
    expect(page.locator("#view-archive-title")).to_have_text("Архив видео")
    page.get_by_role("button", name="EN", exact=True).click()
    expect(page.locator("#view-archive-title")).to_have_text("Video archive")
    expect(page.locator("#archive-play")).to_have_text("Play")
    expect(page.locator("#archive-back")).to_have_text("−5 s")  # not the Russian «с»
    expect(page.locator("#archive-forward")).to_have_text("+5 s")
    expect(page.locator("#archive-index")).to_have_text("Indexed")
    expect(page.locator("#archive-frame")).to_contain_text("Frame 0:00.")
    expect(page.locator("#archive-keys")).to_contain_text("space pause")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.close()


def test_paused_between_samples_the_outlines_are_the_frames_own(
    browser: Browser, archive_url: str, clips: dict[str, Path]
) -> None:
    """The index counts a frame every interval; paused on a frame between two of them (the
    group walking off), the page shows that frame's own count and outlines: within a frame
    of the picture, never the last sample's up to a second earlier."""
    page = open_archive(browser, archive_url)
    truth = load_truth(clips["nvr"])
    between = WALKING_T + 1.2  # the index sampled 4.0 s; its next sample is 6.0 s
    seek_by_timeline(page, between)
    shown = frame_on_screen(page, between)
    assert page.evaluate("document.getElementById('archive-video').paused")
    assert 0 <= shown["frame_t"] - shown["sample_t"] < 1 / truth.fps, shown
    # The outlines cover the animals of the frame on screen.
    masks = truth.masks(round(shown["frame_t"] * truth.fps))
    h, w = masks.shape[1:]
    animals = [(x / w, y / h) for x, y in map(inside_point, masks)]
    covered = [a > 0 for a in outline_alpha(page, animals)]
    assert sum(covered) >= 0.8 * len(animals), covered
    # Played on and paused again: the new still frame gets its own count too.
    page.locator("#archive-play").click()
    page.wait_for_timeout(600)
    page.locator("#archive-play").click()
    page.wait_for_function(
        """(frameS) => {
            const c = document.getElementById('archive-count');
            const gap = Number(c.dataset.frameT) - Number(c.dataset.sampleT);
            return c.dataset.sampleT !== '' && gap >= 0 && gap < frameS;
        }""",
        arg=1 / truth.fps,
        timeout=15_000,
    )
    assert frame_on_screen(page, None)["frame_t"] > shown["frame_t"] + 0.3
    page.close()

"""End to end: the synthetic platform video and a scale simulator over TCP, kept in step,
record one weighing per cycle by themselves, with the right count and total."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from pigweight.app import create_app
from pigweight.media.synth import load_truth, write_demo_video
from pigweight.weighing.scale_sim import ScaleSimulator, SimSample
from tests.api.conftest import make_settings
from tests.web.server import serving_app

KG_PER_HEAD = 12.0


class VideoScale:
    """A weighing cycle that follows the video the camera is playing: the platform weighs
    the animals of the frame on screen, and swings while their number changes."""

    def __init__(self, counts: list[int], fps: float, frame_index: Any) -> None:
        self.counts = counts
        self.fps = fps
        self.frame_index = frame_index  # () -> the number of the camera's newest frame, or None

    def sample(self, t_s: float) -> SimSample:
        index = self.frame_index()
        if index is None:
            return SimSample(t_s, "empty", 0.0, True)
        i = index % len(self.counts)  # the file source loops, numbering on
        recent = [self.counts[(i - k) % len(self.counts)] for k in range(round(0.8 * self.fps))]
        count = self.counts[i]
        stable = len(set(recent)) == 1
        weight = count * KG_PER_HEAD + (0.0 if stable else 7.0 * ((i % 3) - 1))
        return SimSample(t_s, "stable" if stable else "loading", max(weight, 0.0), stable)


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[tuple[str, Any, list[int]]]:
    clip = write_demo_video(tmp_path / "platform.mp4", seconds=8, width=640, height=360)
    truth = load_truth(clip)
    cameras = tmp_path / "cameras.yaml"
    cameras.write_text(f"cameras:\n  - {{id: scale1, name: Весы 1, url: '{clip}'}}\n")
    holder: dict[str, Any] = {}

    def frame_index() -> int | None:
        app = holder.get("app")
        if app is None:
            return None
        frame = app.state.live.manager.worker("scale1").latest_frame()
        return None if frame is None else frame.index

    sim = ScaleSimulator(
        "ascii", VideoScale(list(truth.counts), truth.fps, frame_index), rate_hz=20
    )  # type: ignore[arg-type]
    port = sim.serve_tcp()
    settings = make_settings(
        tmp_path,
        cameras_file=cameras,
        auto_start_cam=True,
        scale_url=f"tcp://127.0.0.1:{port}?protocol=ascii",
        auto_weigh_settle_s=1.0,
        auto_weigh_min_confidence=0.3,  # the camera window agrees slowly on this short clip
    )
    app = create_app(settings)
    holder["app"] = app
    try:
        with serving_app(app) as url:
            yield url, sim, list(truth.counts)
    finally:
        sim.stop()


def _records(url: str) -> list[dict[str, Any]]:
    return httpx.get(f"{url}/api/weight/records?limit=100").json()["records"]


def test_each_cycle_records_itself_once_with_its_count_and_total(
    platform: tuple[str, Any, list[int]],
) -> None:
    url, _sim, counts = platform
    standing = max(counts)  # 19 animals stand on the platform each cycle
    deadline = time.monotonic() + 60
    while len(_records(url)) < 3 and time.monotonic() < deadline:
        time.sleep(0.5)
    records = _records(url)
    assert len(records) >= 3, (records, httpx.get(f"{url}/api/scales/scale1").json())
    for r in records:
        assert r["count_source"] == "auto" and r["count"] == standing, r
        assert abs(r["total_weight_kg"] - standing * KG_PER_HEAD) <= 0.5, r
        assert r["note"].startswith("auto: scale ascii") and r["snapshot_url"], r
    # One record per cycle: the 8 s clip loops, so records are about 8 s apart.
    times = sorted(r["ts"] for r in records)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert all(g > 5 for g in gaps), gaps
    events = httpx.get(f"{url}/api/scales/scale1").json()["events"]
    assert events["last_record"]["count"] == standing


def test_an_unplugged_scale_records_nothing_wrong_and_recording_resumes(
    platform: tuple[str, Any, list[int]],
) -> None:
    url, sim, counts = platform
    standing = max(counts)
    deadline = time.monotonic() + 40
    while not _records(url) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert len(_records(url)) == 1
    port = int(httpx.get(f"{url}/api/scales/scale1").json()["where"].rsplit(":", 1)[1])
    sim.stop()  # the converter loses power for more than a whole cycle
    silent_until = time.monotonic() + 12
    while time.monotonic() < silent_until:
        time.sleep(0.5)
    scale = httpx.get(f"{url}/api/scales/scale1").json()
    assert scale["state"] in ("reconnecting", "connecting", "no_data"), scale
    during = _records(url)
    assert len(during) == 1  # nothing recorded while the scale was silent
    back = ScaleSimulator("ascii", sim.cycle, rate_hz=20)
    back.serve_tcp(port=port)
    try:
        deadline = time.monotonic() + 45
        while len(_records(url)) < 2 and time.monotonic() < deadline:
            time.sleep(0.5)
        records = _records(url)
        assert len(records) >= 2, httpx.get(f"{url}/api/scales/scale1").json()
        for r in records:
            assert (
                r["count"] == standing and abs(r["total_weight_kg"] - standing * KG_PER_HEAD) <= 0.5
            )
    finally:
        back.stop()

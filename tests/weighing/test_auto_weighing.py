"""End to end: the synthetic platform video and a scale simulator over TCP, kept in step,
record one weighing per cycle by themselves, with the right count and total."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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


# One weighing a clip: its 19 animals stand still for 4.4 s of the 10 s (3.5 s of an 8 s
# clip left too little margin on a busy CI machine: a cycle was missed now and then).
CLIP_S = 10
CYCLES = 20  # the bar: exactly one record per cycle, across 20 cycles


@contextmanager
def serving_platforms(
    tmp_path: Path, scales: dict[str, str]
) -> Iterator[tuple[str, dict[str, ScaleSimulator], list[int]]]:
    """The server with one camera per entry of `scales` (camera id -> "tcp" or "pty"), each
    looping the synthetic platform clip, each with a simulated scale that follows it."""
    clip = write_demo_video(tmp_path / "platform.mp4", seconds=CLIP_S, width=640, height=360)
    truth = load_truth(clip)
    holder: dict[str, Any] = {}

    def frame_index(camera: str) -> Callable[[], int | None]:
        def index() -> int | None:
            app = holder.get("app")
            if app is None:
                return None
            frame = app.state.live.manager.worker(camera).latest_frame()
            return None if frame is None else frame.index

        return index

    sims: dict[str, ScaleSimulator] = {}
    urls: dict[str, str] = {}
    try:
        for camera, transport in scales.items():
            cycle = VideoScale(list(truth.counts), truth.fps, frame_index(camera))
            if transport == "tcp":
                sims[camera] = ScaleSimulator("ascii", cycle, rate_hz=20)  # type: ignore[arg-type]
                urls[camera] = f"tcp://127.0.0.1:{sims[camera].serve_tcp()}?protocol=ascii"
            else:  # an RS-232 indicator with Toledo continuous output, on a pseudo-terminal
                sims[camera] = ScaleSimulator("toledo", cycle, rate_hz=20)  # type: ignore[arg-type]
                urls[camera] = f"serial://{sims[camera].serve_pty()}?protocol=toledo&baud=9600"
        cameras = tmp_path / "cameras.yaml"
        cameras.write_text(
            "cameras:\n"
            + "".join(f"  - {{id: {c}, url: '{clip}', scale: '{u}'}}\n" for c, u in urls.items())
        )
        settings = make_settings(
            tmp_path,
            cameras_file=cameras,
            auto_start_cam=True,
            auto_weigh_settle_s=1.0,
            # The clip's animals stand still for 3.5 s, a real group for 20 s or more: a
            # shorter count window (8 counts at 5 a second) and settling fit that in.
            count_window=8,
            auto_weigh_min_confidence=0.3,
        )
        app = create_app(settings)
        holder["app"] = app
        with serving_app(app) as url:
            yield url, sims, list(truth.counts)
    finally:
        for sim in sims.values():
            sim.stop()


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[tuple[str, ScaleSimulator, list[int]]]:
    with serving_platforms(tmp_path, {"scale1": "tcp"}) as (url, sims, counts):
        yield url, sims["scale1"], counts


def _records(url: str, camera: str | None = None) -> list[dict[str, Any]]:
    query = "" if camera is None else f"&camera={camera}"
    return httpx.get(f"{url}/api/weight/records?limit=100{query}").json()["records"]


@pytest.mark.slow
def test_twenty_cycles_over_tcp_and_a_serial_line_record_once_each_with_count_and_total(
    tmp_path: Path,
) -> None:
    platforms = {"tcp1": "tcp", "serial1": "pty"}
    with serving_platforms(tmp_path, platforms) as (url, _sims, counts):
        standing = max(counts)  # 19 animals stand on the platform each cycle
        deadline = time.monotonic() + CYCLES * CLIP_S + 60
        while time.monotonic() < deadline and any(
            len(_records(url, c)) < CYCLES for c in platforms
        ):
            time.sleep(1.0)
        for camera, transport in platforms.items():
            records = _records(url, camera)
            scale = httpx.get(f"{url}/api/scales/{camera}").json()
            assert len(records) >= CYCLES, (camera, len(records), scale)
            assert scale["events"]["last_record"]["count"] == standing, scale
            for r in records:
                assert r["count_source"] == "auto" and r["count"] == standing, r
                assert r["weight_source"] == "scale", r
                assert abs(r["total_weight_kg"] - standing * KG_PER_HEAD) <= 0.5, r
                assert r["snapshot_url"] and r["evidence_url"], r
            # One record per cycle, none twice: the clip loops, so they are CLIP_S apart.
            times = sorted(r["ts"] for r in records)
            gaps = [b - a for a, b in itertools.pairwise(times)]
            assert all(0.7 * CLIP_S < g < 1.3 * CLIP_S for g in gaps), (camera, gaps)
            evidence = httpx.get(f"{url}{records[0]['evidence_url']}").json()
            assert evidence["count"] == standing
            assert int(max(evidence["count_histogram"], key=evidence["count_histogram"].get)) == (
                standing
            )
            frames = evidence["scale"]["frames"]
            assert len(frames) >= 10 and all(f["stable"] for f in frames[-5:]), frames
            assert evidence["scale"]["protocol"] == ("ascii" if transport == "tcp" else "toledo")
            if transport == "tcp":
                assert frames[-1]["raw"].startswith("ST,GS"), frames[-1]
            else:
                assert frames[-1]["raw"].startswith("\x02"), frames[-1]  # STX: as it came


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


def test_a_manual_weighing_of_the_group_just_recorded_is_refused_unless_allowed(
    platform: tuple[str, ScaleSimulator, list[int]],
) -> None:
    url, _sim, counts = platform
    deadline = time.monotonic() + 40
    while not _records(url) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _records(url), "the platform recorded nothing in 40 s"
    standing = max(counts)
    body = {"camera_id": "scale1", "total_weight_kg": standing * KG_PER_HEAD, "count": standing}
    refused = httpx.post(f"{url}/api/weight/average", json=body)
    assert refused.status_code == 409, refused.text
    answer = refused.json()
    assert answer["code"] == "duplicate_weighing"
    automatic = {r["id"]: r for r in _records(url) if r["count_source"] == "auto"}
    named = automatic[answer["params"]["record_id"]]  # the platform's own record
    assert answer["params"]["count"] == named["count"] == standing
    assert f"record {named['id']}" in answer["detail"] and "allow_duplicate" in answer["detail"]
    assert not [r for r in _records(url) if r["count_source"] == "manual"]
    # The operator says it is another group: it is recorded.
    saved = httpx.post(f"{url}/api/weight/average", json=body | {"allow_duplicate": True})
    assert saved.status_code == 201, saved.text
    assert [r["id"] for r in _records(url) if r["count_source"] == "manual"] == [saved.json()["id"]]

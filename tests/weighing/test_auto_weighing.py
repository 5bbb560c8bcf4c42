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
from pigweight.synthetic import load_truth, write_demo_video
from pigweight.weighing.scale_sim import FollowVideo, ScaleSimulator
from tests.api.conftest import make_settings
from tests.web.server import serving_app

KG_PER_HEAD = 12.0  # FollowVideo's: the demo platform's simulated scale


# One weighing a clip: its 19 animals stand still for 4.4 s of the 10 s (3.5 s of an 8 s
# clip left too little margin on a busy CI machine: a cycle was missed now and then).
CLIP_S = 10
# Exactly one record per cycle, none missed, none twice. Issue 18's bar, 20 of 20, was met
# and measured at e351c7e with 20 (stop 27's note on issue 18); the suite runs 8 (each
# cycle is 10 s of clip), its share of a 20-minute CI that PostgreSQL and NATS tests joined.
CYCLES = 8

# These count a playing clip in real time: `make test` runs them by themselves, after the
# rest, since a CPU shared with other tests makes them miss frames (a cycle now and then).
pytestmark = pytest.mark.alone


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
            counts = list(truth.counts)
            cycle = FollowVideo(lambda c=counts: c, frame_index(camera), truth.fps)
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


@contextmanager
def serving_demo(tmp_path: Path) -> Iterator[str]:
    """`make run`'s demo platform: the demo camera and its simulated scale (ASCII over TCP),
    the default segmenter and every weighing setting at its default; only the clip is
    shorter (10 s, one group, instead of 30 s) and smaller, to fit 20 cycles into CI."""
    settings = make_settings(
        tmp_path,
        auto_start_cam=True,
        segmenter="pig",
        demo_video_seconds=CLIP_S,
        demo_video_width=640,
    )
    with serving_app(create_app(settings)) as url:
        yield url


def _check_cycles(url: str, camera: str, protocol: str, raw_start: str) -> None:
    """One automatic record per cycle of the clip, each with the standing group's count and
    total, its snapshot and its evidence."""
    records = _records(url, camera)
    scale = httpx.get(f"{url}/api/scales/{camera}").json()
    assert len(records) >= CYCLES, (camera, len(records), scale)
    standing = max(r["count"] for r in records)  # the group the clip stands on the platform
    for r in records:
        assert r["count_source"] == "auto" and r["count"] == standing, r
        assert r["weight_source"] == "scale", r
        assert abs(r["total_weight_kg"] - standing * KG_PER_HEAD) <= 0.5, r
        assert r["snapshot_url"] and r["evidence_url"], r
        assert r["note"] == "", r  # no English note: the evidence says what was seen
    # One record per cycle, none twice: the clip loops, so they are CLIP_S apart.
    times = sorted(r["ts"] for r in records)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert all(0.7 * CLIP_S < g < 1.3 * CLIP_S for g in gaps), (camera, gaps)
    evidence = httpx.get(f"{url}{records[0]['evidence_url']}").json()
    assert evidence["count"] == standing
    histogram = evidence["count_histogram"]
    assert int(max(histogram, key=histogram.get)) == standing
    assert evidence["counts"] and evidence["counts"][-1]["count"] == standing
    frames = evidence["scale"]["frames"]
    assert len(frames) >= 10 and all(f["stable"] for f in frames[-5:]), frames
    assert evidence["scale"]["protocol"] == protocol
    assert frames[-1]["raw"].startswith(raw_start), frames[-1]


@pytest.mark.slow
@pytest.mark.timeout(480)
def test_the_demo_platform_and_a_serial_line_record_every_cycle(
    tmp_path: Path,
) -> None:
    """Every group that stands still is recorded, once: the demo platform with the default
    settings (settle 3 s, confidence 0.8, count window 15), and an RS-232 indicator."""
    with (
        serving_demo(tmp_path / "demo") as demo,
        serving_platforms(tmp_path / "serial", {"serial1": "pty"}) as (serial, _sims, _counts),
    ):
        platforms = {"demo": demo, "serial1": serial}
        # The demo renders its clip first: the cycles are counted from its first record.
        deadline = time.monotonic() + CYCLES * CLIP_S + 120
        while time.monotonic() < deadline and any(
            len(_records(url, camera)) < CYCLES for camera, url in platforms.items()
        ):
            time.sleep(1.0)
        _check_cycles(demo, "demo", "ascii", "ST,GS")
        _check_cycles(serial, "serial1", "toledo", "\x02")  # STX: as it came


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

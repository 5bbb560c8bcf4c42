"""The video indexer on real clips: PyAV-written synthetic piglets, a real SQLite file."""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import av
import numpy as np
import pytest
from sqlalchemy import Engine

from pigweight.domain import Detections, Image
from pigweight.errors import ModelLoadError
from pigweight.media.frame_reader import FrameReader
from pigweight.media.probe import VideoInfo, probe_video
from pigweight.pipeline.archive_answers import CountAt, IndexProgress
from pigweight.pipeline.index_job import plan_samples
from pigweight.pipeline.indexer import VideoIndexer, index_file_blocking
from pigweight.store import videos as repo
from pigweight.store.db import open_database
from pigweight.synthetic import load_truth, write_demo_video
from pigweight.vision.classic import ClassicSegmenter
from pigweight.vision.segmenter import Segmenter

# Classic counts 320x180 piglets badly (they are ~15 px wide: mean error 3-5 there), so the
# accuracy clip is 640x360, where it is within one animal on average.
SECONDS = 8


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """8 s of 640x360 synthetic piglets (a group leaves, the next comes), keyframe every 1.52 s."""
    return write_demo_video(
        tmp_path_factory.mktemp("clip") / "clip.mp4", seconds=SECONDS, width=640, height=360
    )


class Spy:
    """The classic segmenter, counting the frames it is given."""

    name = "classic"

    def __init__(self) -> None:
        self.inner = ClassicSegmenter()
        self.frames = 0

    def segment(self, image: Image) -> Detections:
        self.frames += 1
        return self.inner.segment(image)

    def segment_batch(self, images: Sequence[Image]) -> list[Detections]:
        self.frames += len(images)
        return self.inner.segment_batch(images)


def _add(engine: Engine, path: Path) -> int:
    with engine.begin() as conn:
        return repo.add_video(conn, probe_video(path), path.name, "register")


def _samples(engine: Engine, video_id: int) -> list[repo.SampleRow]:
    with engine.connect() as conn:
        return repo.samples_between(conn, video_id, -1.0, 1e9)


def _wait_for(indexer: VideoIndexer, video_id: int, states: set[str]) -> IndexProgress:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        progress = indexer.progress(video_id)
        if progress.state in states:
            return progress
        time.sleep(0.05)
    raise AssertionError(f"video {video_id} never reached {states}: {progress}")


def test_index_counts_agree_with_the_ground_truth(clip: Path, tmp_path: Path) -> None:
    engine = open_database(tmp_path)
    video_id = _add(engine, clip)
    calls: list[tuple[int, int]] = []
    final = index_file_blocking(
        engine, video_id, ClassicSegmenter(), 1.0, lambda d, n: calls.append((d, n)), tmp_path
    )
    assert final.state == "done" and final.percent == 100.0
    assert calls[-1] == (SECONDS, SECONDS) and calls == sorted(calls)

    truth = load_truth(clip)
    samples = _samples(engine, video_id)
    assert [s.t for s in samples] == [float(t) for t in range(SECONDS)]
    true = np.array([truth.counts[round(s.t * truth.fps)] for s in samples])
    counted = np.array([s.count for s in samples])
    # Measured: classic is exact at 7 of the 8 moments, one off while animals walk out.
    assert np.abs(counted - true).mean() <= 1.0, (counted, true)
    assert np.abs(counted - true).max() <= 2, (counted, true)
    # It follows the scene: the platform empties (truth 0) and fills again.
    assert counted[true == 0].max() <= 1 and counted[true >= 16].min() >= 14
    assert all(0 < s.confidence <= 1 for s in samples)

    indexer = VideoIndexer(engine, ClassicSegmenter)
    answer = indexer.count_at(video_id, 4.6)  # between two samples: the one before it
    assert answer == CountAt(
        t=4.6,
        count=samples[4].count,
        confidence=samples[4].confidence,
        sample_t=4.0,
        indexed=True,
        outside=0,  # no zone: every animal counts
    )
    # Outlines: one polygon per animal, at most 32 points, in 0-1 with 3 decimals.
    outlines = json.loads(samples[0].outlines)
    assert len(outlines) == samples[0].count
    assert all(3 <= len(p) <= 32 for p in outlines)
    assert all(0 <= v <= 1 and round(v, 3) == v for p in outlines for pt in p for v in pt)

    # Timeline previews: one sprite sheet of 160x90 tiles and the WebVTT that maps them.
    folder = tmp_path / str(video_id)
    vtt = (folder / "thumbs.vtt").read_text()
    assert vtt.startswith("WEBVTT\n") and "00:00:00.000 --> 00:00:08.000" in vtt
    assert "sprite_0.jpg#xywh=0,0,160,90" in vtt
    with av.open(str(folder / "sprite_0.jpg")) as sheet:
        image = next(sheet.decode(video=0)).to_ndarray(format="rgb24")
    assert image.shape == (900, 1600, 3) and image[:90, :160].std() > 10  # a picture, not blank


Opener = Callable[[], Engine]


@pytest.fixture
def opened(tmp_path: Path, database_url: str | None) -> Iterator[Opener]:
    """Opens the test's database (an SQLite file, then PostgreSQL) as a start of the server
    would; every engine is closed after the test."""
    engines: list[Engine] = []

    def open_again() -> Engine:
        engines.append(open_database(tmp_path, database_url))
        return engines[-1]

    yield open_again
    for engine in engines:
        engine.dispose()


def test_a_killed_job_resumes_without_redoing_or_duplicating(
    clip: Path, tmp_path: Path, opened: Opener
) -> None:
    engine = opened()
    video_id = _add(engine, clip)
    first = VideoIndexer(engine, ClassicSegmenter, batch=2)
    first.enqueue(video_id)
    assert first.step() and first.step()  # two batches committed, then the process dies
    with engine.connect() as conn:
        row = repo.get_video(conn, video_id)
    assert row is not None and (row.index_state, row.indexed_until_s, row.samples_done) == (
        "indexing",
        4.0,
        4,
    )
    engine.dispose()

    engine = opened()  # the restarted server
    spy = Spy()
    second = VideoIndexer(engine, lambda: spy, batch=2)
    second.start()
    try:
        progress = _wait_for(second, video_id, {"done", "error"})
    finally:
        second.stop()
    assert progress.state == "done" and progress.samples_done == SECONDS
    assert spy.frames == SECONDS - 4  # only what the first run had not committed
    assert [s.t for s in _samples(engine, video_id)] == [float(t) for t in range(SECONDS)]


def test_cancel_stops_a_job_and_enqueue_resumes_it(
    clip: Path, tmp_path: Path, opened: Opener
) -> None:
    engine = opened()
    video_id = _add(engine, clip)
    indexer = VideoIndexer(engine, ClassicSegmenter, batch=3)
    indexer.enqueue(video_id)
    assert indexer.step()
    running = indexer.progress(video_id)
    assert (running.state, running.percent, running.samples_total) == ("indexing", 37.5, 8)
    assert running.fps > 0 and running.eta_s > 0 and running.speed_x > 0
    indexer.cancel(video_id)
    assert not indexer.step()  # nothing left to do
    progress = indexer.progress(video_id)
    assert progress.state == "cancelled" and progress.samples_done == 3
    assert len(_samples(engine, video_id)) == 3  # what was indexed stays

    indexer.enqueue(video_id)
    while indexer.step():
        pass
    assert indexer.progress(video_id).state == "done"
    assert [s.t for s in _samples(engine, video_id)] == [float(t) for t in range(SECONDS)]


def test_cancel_while_the_worker_runs(clip: Path, tmp_path: Path) -> None:
    engine = open_database(tmp_path)
    video_id = _add(engine, clip)
    started = threading.Event()

    class Slow(Spy):
        def segment_batch(self, images: Sequence[Image]) -> list[Detections]:
            started.set()
            time.sleep(0.2)
            return super().segment_batch(images)

    spy = Slow()
    indexer = VideoIndexer(engine, lambda: spy, batch=1)
    indexer.start()
    indexer.enqueue(video_id)
    assert started.wait(10)
    indexer.cancel(video_id)
    deadline = time.monotonic() + 10  # the batch in hand commits first, and no other follows
    while indexer._jobs and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not indexer._jobs  # idle: the cancelled file is closed, not held until shutdown
    indexer.stop()
    progress = indexer.progress(video_id)
    assert progress.state == "cancelled"
    assert progress.samples_done == spy.frames < SECONDS


def test_focus_indexes_what_the_user_watches_first(
    clip: Path, tmp_path: Path, opened: Opener
) -> None:
    engine = opened()
    other = tmp_path / "other.mp4"
    shutil.copy(clip, other)
    first, watched = _add(engine, clip), _add(engine, other)
    indexer = VideoIndexer(engine, ClassicSegmenter, batch=2)
    indexer.enqueue(first)
    indexer.enqueue(watched)
    indexer.focus(watched, 5.3)
    assert indexer.step()
    assert _samples(engine, first) == []
    assert [s.t for s in _samples(engine, watched)] == [5.0, 6.0]
    while indexer.step():
        pass
    # The samples indexed for the focus are neither redone nor duplicated later.
    assert [s.t for s in _samples(engine, watched)] == [float(t) for t in range(SECONDS)]
    assert indexer.progress(watched).samples_done == SECONDS


def test_count_at_an_unindexed_moment_counts_it_once_and_keeps_it(
    clip: Path, tmp_path: Path, opened: Opener
) -> None:
    engine = opened()
    video_id = _add(engine, clip)
    spy = Spy()
    indexer = VideoIndexer(engine, lambda: spy)
    answer = indexer.count_at(video_id, 3.3)
    assert answer.indexed is False and answer.sample_t == 3.28  # frame 82, shown at 3.3
    truth = load_truth(clip).counts[82]
    assert abs(answer.count - truth) <= 2
    stored = _samples(engine, video_id)
    assert [(s.t, s.count, s.on_demand) for s in stored] == [(3.28, answer.count, True)]
    again = indexer.count_at(video_id, 3.35)
    assert again.sample_t == 3.28 and again.count == answer.count
    assert spy.frames == 1  # the second query read the stored sample


def test_a_model_that_does_not_load_marks_the_job_and_the_worker_goes_on(
    clip: Path, tmp_path: Path
) -> None:
    engine = open_database(tmp_path)
    broken, fine = _add(engine, clip), _add(engine, shutil.copy(clip, tmp_path / "b.mp4"))
    loads: list[int] = []

    def segmenter() -> Segmenter:
        loads.append(1)
        if len(loads) == 1:
            raise ModelLoadError("model.onnx: no such file; set MODEL_PATH")
        return ClassicSegmenter()

    indexer = VideoIndexer(engine, segmenter)
    indexer.enqueue(broken)
    indexer.start()
    try:
        failed = _wait_for(indexer, broken, {"error", "done"})
        indexer.enqueue(fine)
        done = _wait_for(indexer, fine, {"error", "done"})
    finally:
        indexer.stop()
    assert failed.state == "error" and "MODEL_PATH" in failed.error
    assert done.state == "done"


def _info(keyframes: tuple[float, ...], duration_s: float = 10.0) -> VideoInfo:
    return VideoInfo(
        Path("x.mp4"), 1, "mp4", "h264", 64, 64, 25.0, duration_s, 0.0, 250, keyframes, False, True
    )


def test_sample_plan_uses_keyframes_when_they_are_close_enough() -> None:
    every_half = tuple(i * 0.5 for i in range(20))
    assert plan_samples(_info(every_half), 1.0) == ([float(i) for i in range(10)], True)
    every_two = tuple(float(i) for i in range(0, 10, 2))
    assert plan_samples(_info(every_two), 1.0) == ([float(i) for i in range(10)], False)
    assert plan_samples(_info(every_two), 2.0) == (list(every_two), True)
    # An irregular GOP: a keyframe is kept wherever skipping it leaves a gap over 1 s.
    irregular = (0.0, 0.8, 1.6, 2.4, 2.9, 3.4, 4.0)
    assert plan_samples(_info(irregular, 4.5), 1.0) == ([0.0, 0.8, 1.6, 2.4, 3.4, 4.0], True)
    # A short clip with one keyframe (a 1 s upload: the zip of keyframes and ends was a 500).
    assert plan_samples(_info((0.0,), 1.0), 1.0) == ([0.0], True)
    assert plan_samples(_info((0.0,), 1.0), 0.5) == ([0.0, 0.5], False)


@pytest.mark.parametrize("interval_s", [0.5, 1.0, 2.0])
def test_reader_gives_the_first_frame_at_or_after_each_time(clip: Path, interval_s: float) -> None:
    info = probe_video(clip)
    with av.open(str(clip)) as container:
        frames = [
            (round(float(f.time) - info.start_s, 3), f.to_ndarray(format="rgb24"))
            for f in container.decode(video=0)
        ]
    frames.sort(key=lambda f: f[0])
    times, keyframes_only = plan_samples(info, interval_s)
    assert keyframes_only == (interval_s >= 1.52)
    reader = FrameReader(info, keyframes_only)
    order = list(range(0, len(times), 3))
    try:
        for start in order + order[::-1]:  # forward, then jumping back (seeks)
            wanted = times[start : start + 3]
            decoded, ended = reader.read(wanted)
            assert not ended
            assert [i for d in decoded for i in range(d.first, d.last + 1)] == list(
                range(len(wanted))
            )
            for d in decoded:
                expected = next(f for f in frames if f[0] + 1e-3 >= wanted[d.first])
                assert d.t == expected[0] and np.array_equal(d.image, expected[1])
    finally:
        reader.close()


def test_a_truncated_recording_is_indexed_as_far_as_it_reads(tmp_path: Path) -> None:
    whole = write_demo_video(tmp_path / "nvr.ts", seconds=4, width=320, height=180)
    cut = tmp_path / "cut.ts"
    cut.write_bytes(whole.read_bytes()[: int(whole.stat().st_size * 0.6)])
    engine = open_database(tmp_path)
    video_id = _add(engine, cut)
    final = index_file_blocking(engine, video_id, ClassicSegmenter(), 0.5, None)
    assert final.state == "done" and final.percent == 100.0 and final.error is None
    times = [s.t for s in _samples(engine, video_id)]
    assert times and times == sorted(set(times)) and times[-1] < 4.0 * 0.7


def test_large_frames_are_counted_at_the_working_size(tmp_path: Path) -> None:
    from pigweight.media.frame_reader import INDEX_MAX_SIDE_PX
    from tests.media.videos import write_clip

    clip = write_clip(tmp_path / "hd.mp4", seconds=2, gop_s=1.0, width=1920, height=1080)
    info = probe_video(clip)
    with av.open(str(clip)) as container:
        first = next(container.decode(video=0)).to_ndarray(format="rgb24")
    for max_side, shape in ((INDEX_MAX_SIDE_PX, (720, 1280, 3)), (None, (1080, 1920, 3))):
        reader = FrameReader(info, keyframes_only=True, max_side_px=max_side)
        try:
            [decoded], _ = reader.read([0.0])
        finally:
            reader.close()
        assert decoded.image.shape == shape
        # The same picture, smaller: not a crop or a shifted frame.
        small = decoded.image.astype(np.float32).mean(axis=(0, 1))
        assert np.allclose(small, first.astype(np.float32).mean(axis=(0, 1)), atol=3)


def test_count_at_answers_from_memory_once_loaded_and_sees_new_batches(
    clip: Path, tmp_path: Path
) -> None:
    engine = open_database(tmp_path)
    video_id = _add(engine, clip)
    indexer = VideoIndexer(engine, ClassicSegmenter, interval_s=1.0, batch=2)
    indexer.enqueue(video_id)
    assert indexer.step()  # samples at 0 s and 1 s
    assert indexer.count_at_cached(video_id, 0.5) is None  # nothing asked yet: not loaded
    first = indexer.count_at(video_id, 0.5)  # loads the video's samples
    assert first.sample_t == 0.0 and first.indexed is True
    assert indexer.count_at_cached(video_id, 0.5) == first
    assert indexer.count_at_cached(video_id, 3.5) is None  # not indexed yet: no answer
    assert indexer.step()  # samples at 2 s and 3 s, committed after the load
    stored = {s.t: s.count for s in _samples(engine, video_id)}
    answer = indexer.count_at_cached(video_id, 3.5)
    assert answer is not None and answer.sample_t == 3.0 and answer.indexed is True
    assert answer.count == stored[3.0]
    indexer.stop()


def test_on_demand_counts_use_the_index_frame_size(tmp_path: Path) -> None:
    from tests.media.videos import write_clip

    clip = write_clip(tmp_path / "hd.mp4", seconds=2, gop_s=1.0, width=1280, height=720)
    engine = open_database(tmp_path)
    video_id = _add(engine, clip)
    seen: list[tuple[int, ...]] = []

    class Recorder(Spy):
        def segment(self, image: Image) -> Detections:
            seen.append(image.shape)
            return Detections.empty(image.shape[:2])

    indexer = VideoIndexer(engine, Recorder, max_side_px=640)
    assert indexer.count_at(video_id, 0.5).indexed is False
    assert seen == [(360, 640, 3)]  # as the index pass would have counted it

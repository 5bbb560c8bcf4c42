"""HLS from the keyframe index: what a player gets must be every source frame, once, in time."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import av
import numpy as np
import pytest

from pigweight.errors import InvalidVideo
from pigweight.media.hls import (
    PTS_OFFSET_S,
    Segment,
    frame_at,
    plan_segments,
    playlist,
    remux_segment,
)
from pigweight.media.open_files import OpenFiles
from pigweight.media.probe import VideoInfo, probe_video, slices_in
from tests.media.videos import decode_all, truncated_copy, write_clip, write_vfr_clip

FPS = 25
FRAME_S = 1 / FPS


def keys(every_s: float, duration_s: float) -> list[float]:
    return [i * every_s for i in range(math.ceil(duration_s / every_s - 1e-9))]


@pytest.mark.parametrize(
    ("keyframes", "duration_s", "expected"),
    [
        (keys(2, 12), 12, [(0, 6), (6, 12)]),
        (keys(1, 12), 12, [(0, 5), (5, 10), (10, 12)]),
        (keys(FRAME_S, 11), 11, [(0, 5), (5, 11)]),  # every frame a keyframe
        (keys(3, 20), 20, [(0, 6), (6, 12), (12, 18), (18, 20)]),
        (keys(10, 35), 35, [(0, 10), (10, 20), (20, 30), (30, 35)]),
        (keys(7, 21), 21, [(0, 7), (7, 14), (14, 21)]),
        ([0.0], 20, [(0, 20)]),  # one keyframe: nowhere else to cut
        ([0.0, 1.0, 2.0], 2.5, [(0, 2.5)]),
        ([], 0, []),
    ],
)
def test_plan_segments(
    keyframes: list[float], duration_s: float, expected: list[tuple[float, float]]
) -> None:
    segments = plan_segments(keyframes, duration_s)
    bounds = [t for s in segments for t in (s.start_s, s.end_s)]
    assert bounds == pytest.approx([t for pair in expected for t in pair])
    assert [s.index for s in segments] == list(range(len(segments)))


@pytest.mark.parametrize("every_s", [0.5, 1.0, 2.0, 2.5, 3.0])
def test_segments_start_on_keyframes_and_last_four_to_six_seconds(every_s: float) -> None:
    duration_s = 600.0
    keyframes = keys(every_s, duration_s)
    segments = plan_segments(keyframes, duration_s)
    for a, b in itertools.pairwise(segments):
        assert a.end_s == b.start_s  # contiguous: nothing lost, nothing twice
    assert all(s.start_s in keyframes for s in segments)
    assert segments[-1].end_s == duration_s
    assert all(4.0 - 1e-9 <= s.duration_s <= 6.0 + 1e-9 for s in segments[:-1])


def test_playlist_is_valid_vod_hls() -> None:
    segments = plan_segments(keys(2.5, 13.3), 13.3)
    text = playlist(segments, lambda n: f"seg/{n}.ts")
    lines = text.splitlines()
    assert text.endswith("\n")
    assert lines[0] == "#EXTM3U"
    assert "#EXT-X-VERSION:3" in lines
    assert "#EXT-X-PLAYLIST-TYPE:VOD" in lines
    assert lines[-1] == "#EXT-X-ENDLIST"
    longest = max(s.duration_s for s in segments)
    assert f"#EXT-X-TARGETDURATION:{math.ceil(longest)}" in lines
    extinf = [i for i, line in enumerate(lines) if line.startswith("#EXTINF:")]
    assert len(extinf) == len(segments)
    for i, segment in zip(extinf, segments, strict=True):
        assert float(lines[i][len("#EXTINF:") :].rstrip(",")) == pytest.approx(segment.duration_s)
        assert lines[i + 1] == f"seg/{segment.index}.ts"
    assert sum(float(lines[i][8:].rstrip(",")) for i in extinf) == pytest.approx(13.3)


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """12 s at 25 fps, a keyframe every 2 s, B-frames (reordered timestamps) as x264 makes."""
    root = tmp_path_factory.mktemp("hls")
    return {
        suffix: write_clip(root / f"clip{suffix}", seconds=12, gop_s=2.0)
        for suffix in (".mp4", ".mkv", ".ts")
    }


def frame_times(frames: list[av.VideoFrame], start_s: float) -> list[float]:
    return [float(f.pts * f.time_base) - start_s for f in frames]


def remux_all(
    source: Path, info: VideoInfo, out_dir: Path, files: OpenFiles | None = None
) -> list[tuple[Segment, Path]]:
    segments = plan_segments(info.keyframes, info.duration_s)
    written = []
    # Backwards as well: a kept file is left wherever the last reader stopped.
    for segment in [*segments[::-1], *segments]:
        out = out_dir / f"{segment.index}.ts"
        remux_segment(source, info, segment, out, files)
        written.append((segment, out))
    return written[len(segments) :]


@pytest.mark.parametrize("kept_open", [False, True], ids=["fresh", "kept-open"])
@pytest.mark.parametrize("suffix", [".mp4", ".mkv", ".ts"])
def test_segments_played_in_order_give_every_source_frame_once(
    sources: dict[str, Path], tmp_path: Path, suffix: str, kept_open: bool
) -> None:
    source = sources[suffix]
    info = probe_video(source)
    reference = decode_all(source)
    assert len(reference) == 300

    played: list[av.VideoFrame] = []
    files = OpenFiles() if kept_open else None
    written = remux_all(source, info, tmp_path, files)
    if files is not None:
        assert files.opened == 1  # segment 1 each time from one open file; 0 opens its own
        files.close()
    assert len(written) == 2
    for segment, path in written:
        assert path.read_bytes()[:1] == b"\x47"  # MPEG-TS sync byte
        with av.open(str(path)) as ts:
            stream = ts.streams.video[0]
            assert stream.codec_context.name == "h264"
            first = next(p for p in ts.demux(stream) if p.size)
            assert first.is_keyframe  # a player can start any segment
        frames = decode_all(path)
        times = frame_times(frames, PTS_OFFSET_S)
        assert times[0] == pytest.approx(segment.start_s, abs=1e-6)
        assert times[-1] < segment.end_s
        played += frames

    source_t = frame_times(reference, info.start_s)
    played_t = frame_times(played, PTS_OFFSET_S)
    assert len(played) == len(reference)
    assert played_t == pytest.approx(source_t, abs=1e-6)  # each frame once, at its own time
    gaps = np.diff(played_t)
    assert np.all(np.abs(gaps - FRAME_S) < FRAME_S / 2)  # no gap or overlap at the joins
    # Stream copy: a player decodes exactly the pictures of the source.
    for ours, theirs in zip(played, reference, strict=True):
        assert np.array_equal(ours.to_ndarray(format="rgb24"), theirs.to_ndarray(format="rgb24"))


def test_remux_writes_atomically_and_replaces(sources: dict[str, Path], tmp_path: Path) -> None:
    source = sources[".mp4"]
    info = probe_video(source)
    segment = plan_segments(info.keyframes, info.duration_s)[1]
    out = tmp_path / "1.ts"
    out.write_bytes(b"stale")
    remux_segment(source, info, segment, out)
    assert out.read_bytes()[:1] == b"\x47"
    assert [p.name for p in tmp_path.iterdir()] == ["1.ts"]  # no temporary file left behind


def test_remux_of_a_truncated_file_ends_where_the_data_ends(
    sources: dict[str, Path], tmp_path: Path
) -> None:
    cut = truncated_copy(sources[".ts"], tmp_path / "cut.ts", fraction=0.6)
    info = probe_video(cut)
    assert info.truncated
    segments = plan_segments(info.keyframes, info.duration_s)
    frames = 0
    for segment in segments:
        remux_segment(cut, info, segment, tmp_path / f"{segment.index}.ts")
        frames += len(decode_all(tmp_path / f"{segment.index}.ts"))
    assert abs(frames - info.frames) <= 2  # the partial last packet(s) may not decode


def test_h265_is_transcoded_to_h264(tmp_path: Path) -> None:
    if "libx265" not in av.codecs_available:
        pytest.skip("this PyAV build has no libx265 encoder to write an H.265 clip")
    source = write_clip(tmp_path / "hevc.mp4", seconds=6, gop_s=2.0, codec="libx265")
    info = probe_video(source)
    assert not info.browser_playable
    reference = decode_all(source)
    played: list[av.VideoFrame] = []
    for segment, path in remux_all(source, info, tmp_path):
        with av.open(str(path)) as ts:
            assert ts.streams.video[0].codec_context.name == "h264"
        played += decode_all(path)
        assert frame_times(played, PTS_OFFSET_S)[-1] < segment.end_s
    assert frame_times(played, PTS_OFFSET_S) == pytest.approx(
        frame_times(reference, info.start_s), abs=1e-6
    )
    for ours, theirs in zip(played[::25], reference[::25], strict=True):
        diff = np.abs(
            ours.to_ndarray(format="rgb24").astype(int) - theirs.to_ndarray(format="rgb24")
        )
        assert diff.mean() < 4  # re-encoded: close to the source, not identical


@pytest.mark.parametrize("kept_open", [False, True], ids=["fresh", "kept-open"])
@pytest.mark.parametrize(("suffix", "bframes"), [(".mp4", None), (".ts", None), (".mp4", 0)])
def test_frame_at_returns_the_exact_frame(
    tmp_path: Path, suffix: str, bframes: int | None, kept_open: bool
) -> None:
    source = write_clip(tmp_path / f"clip{suffix}", seconds=6, gop_s=2.0, bframes=bframes)
    info = probe_video(source)
    reference = decode_all(source)
    times = frame_times(reference, info.start_s)
    files = OpenFiles() if kept_open else None
    # Out of order on purpose: a kept file is wherever the previous read left it.
    order = [*range(0, len(reference), 7), 49, 50, 51, 99, 100, len(reference) - 1]
    for i in [*order[::-1], *order]:
        t, image = frame_at(source, info, times[i], files)
        assert t == pytest.approx(times[i], abs=1e-6), i
        assert np.array_equal(image, reference[i].to_ndarray(format="rgb24")), i
        later, image = frame_at(source, info, times[i] + 0.6 * FRAME_S, files)  # between
        assert later == pytest.approx(times[i], abs=1e-6), i
        assert np.array_equal(image, reference[i].to_ndarray(format="rgb24")), i


def test_frame_at_is_exact_at_variable_frame_rate(tmp_path: Path) -> None:
    # Frames 40 ms apart with pauses of 0.3 s and 0.7 s: the frame before a pause is shown
    # for the whole pause, B-frames included.
    steps = np.random.default_rng(0).choice([0.04, 0.04, 0.04, 0.3, 0.7], size=79)
    source = write_vfr_clip(tmp_path / "vfr.mp4", [0.0, *np.cumsum(steps).tolist()])
    info = probe_video(source)
    reference = decode_all(source)
    times = frame_times(reference, info.start_s)
    for i in range(len(reference) - 1):
        for t in (times[i], (times[i] + times[i + 1]) / 2):
            got_t, image = frame_at(source, info, t)
            assert got_t == pytest.approx(times[i], abs=1e-6), (i, t)
            assert np.array_equal(image, reference[i].to_ndarray(format="rgb24")), (i, t)


@pytest.mark.parametrize(("suffix", "slices"), [(".mp4", 1), (".mp4", 3), (".ts", 3)])
def test_frame_at_is_exact_whatever_the_slices_a_frame(
    tmp_path: Path, suffix: str, slices: int
) -> None:
    # Frames cut into slices are decoded by slice threads, whole frames by frame threads.
    source = write_clip(
        tmp_path / f"slices{suffix}", seconds=3, gop_s=1.0, width=320, height=240, slices=slices
    )
    with av.open(str(source)) as container:
        stream = container.streams.video[0]
        packet = next(p for p in container.demux(stream) if p.size)
        assert slices_in(packet, stream) == slices
    info = probe_video(source)
    reference = decode_all(source)
    times = frame_times(reference, info.start_s)
    files = OpenFiles()  # one decoder for all the seeks, as the archive keeps it
    try:
        for i in range(0, len(reference), 5):
            for t in (times[i], times[i] + FRAME_S / 2):
                got_t, image = frame_at(source, info, t, files)
                assert got_t == pytest.approx(times[i], abs=1e-6), (i, t)
                assert np.array_equal(image, reference[i].to_ndarray(format="rgb24")), (i, t)
    finally:
        files.close()


def test_frame_at_answers_rgb_and_refuses_moments_outside_the_recording(
    sources: dict[str, Path],
) -> None:
    source = sources[".mkv"]
    info = probe_video(source)
    t, image = frame_at(source, info, info.duration_s)  # the very end shows the last frame
    assert t == pytest.approx(info.duration_s - FRAME_S, abs=1e-6)
    assert image.shape == (120, 160, 3) and image.dtype == np.uint8
    for bad in (-0.5, info.duration_s + 0.5, math.nan, math.inf):
        with pytest.raises(InvalidVideo, match="outside the recording"):
            frame_at(source, info, bad)

"""probe_video: what an operator's recording holds, read without decoding; bad files refused."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

import av
import pytest

from pigweight.errors import InvalidVideo
from pigweight.media.probe import VideoInfo, detect_format, open_video, probe_video
from tests.media.videos import truncated_copy, write_audio_only, write_clip

FPS = 25
FRAME_S = 1 / FPS


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A 4 s 160x120 clip, keyframe every second, in each container PigWeight reads."""
    root = tmp_path_factory.mktemp("probe")
    return {
        "mp4": write_clip(root / "moov_end.mp4"),
        "mp4-faststart": write_clip(root / "moov_front.mp4", faststart=True),
        "mkv": write_clip(root / "clip.mkv"),
        "ts": write_clip(root / "clip.ts"),
        "avi": write_clip(root / "clip.avi", bframes=0),  # AVI has no room for reordering
    }


def top_level_boxes(path: Path) -> list[bytes]:
    boxes, pos, size = [], 0, path.stat().st_size
    with path.open("rb") as f:
        while pos < size:
            f.seek(pos)
            header = f.read(8)
            boxes.append(header[4:8])
            pos += int.from_bytes(header[:4], "big")
    return boxes


def test_the_mp4_fixtures_have_moov_at_each_end(clips: dict[str, Path]) -> None:
    end, front = top_level_boxes(clips["mp4"]), top_level_boxes(clips["mp4-faststart"])
    assert end.index(b"moov") > end.index(b"mdat")  # PyAV's default: index written last
    assert front.index(b"moov") < front.index(b"mdat")


@pytest.mark.parametrize(
    ("kind", "container", "demuxer"),
    [
        ("mp4", "mp4", "mov"),
        ("mp4-faststart", "mp4", "mov"),
        ("mkv", "matroska", "matroska"),
        ("ts", "mpegts", "mpegts"),
        ("avi", "avi", "avi"),
    ],
)
def test_probe_reads_what_the_recording_holds(
    clips: dict[str, Path], kind: str, container: str, demuxer: str
) -> None:
    path = clips[kind]
    assert detect_format(path) == demuxer
    info = probe_video(path)
    assert info.path == path and info.size_bytes == path.stat().st_size
    assert (info.container, info.codec, info.width, info.height) == (container, "h264", 160, 120)
    assert info.fps == pytest.approx(FPS)
    assert info.duration_s == pytest.approx(4.0, abs=FRAME_S)
    assert info.frames == 100
    assert info.keyframes == pytest.approx((0.0, 1.0, 2.0, 3.0), abs=1e-6)
    assert not info.truncated
    assert info.browser_playable


@pytest.mark.parametrize("gop_s", [0.4, 2.0])
def test_keyframes_follow_the_encoder_interval(tmp_path: Path, gop_s: float) -> None:
    info = probe_video(write_clip(tmp_path / "gop.mp4", seconds=6, gop_s=gop_s))
    expected = [i * gop_s for i in range(round(6 / gop_s))]
    assert info.keyframes == pytest.approx(expected, abs=1e-6)


def test_container_is_read_from_the_bytes_not_the_name(
    clips: dict[str, Path], tmp_path: Path
) -> None:
    renamed = tmp_path / "really_ts.mp4"
    renamed.write_bytes(clips["ts"].read_bytes())
    assert detect_format(renamed) == "mpegts"
    assert probe_video(renamed).container == "mpegts"


@pytest.mark.parametrize("kind", ["mp4-faststart", "mkv", "ts"])
def test_truncated_recording_is_probed_as_far_as_readable(
    clips: dict[str, Path], tmp_path: Path, kind: str
) -> None:
    source = clips[kind]
    cut = truncated_copy(source, tmp_path / f"cut{source.suffix}", fraction=0.6)
    info = probe_video(cut)
    assert info.truncated
    # About 60 % of the frames survive; the duration is what can be read, not the header's.
    assert 40 <= info.frames <= 75
    assert 1.5 < info.duration_s < 3.1
    assert info.duration_s == pytest.approx(info.frames * FRAME_S, abs=2 * FRAME_S)
    assert info.keyframes == pytest.approx((0.0, 1.0, 2.0)[: len(info.keyframes)], abs=1e-6)
    assert len(info.keyframes) >= 2


def test_mp4_missing_only_its_last_frame_is_marked_truncated(
    clips: dict[str, Path], tmp_path: Path
) -> None:
    cut = truncated_copy(clips["mp4-faststart"], tmp_path / "cut.mp4", fraction=0.99)
    info = probe_video(cut)
    assert info.truncated  # the index lists a sample past the end of the file
    assert 97 <= info.frames < 100  # all but the last frame or two are still there


def test_mp4_cut_before_its_index_was_written_says_so(
    clips: dict[str, Path], tmp_path: Path
) -> None:
    cut = truncated_copy(clips["mp4"], tmp_path / "cut.mp4", fraction=0.6)
    with pytest.raises(InvalidVideo, match=r"no index \('moov' box\).*export it again"):
        probe_video(cut)


def test_h265_is_probed_and_marked_not_browser_playable(tmp_path: Path) -> None:
    if "libx265" not in av.codecs_available:
        pytest.skip("this PyAV build has no libx265 encoder to write an H.265 clip")
    info = probe_video(write_clip(tmp_path / "hevc.mp4", seconds=2, codec="libx265"))
    assert info.codec == "hevc"
    assert info.frames == 50
    assert not info.browser_playable


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: _write(d / "empty.mp4", b""), r"empty \(0 bytes\)"),
        (lambda d: _write(d / "notes.mp4", b"pig pen 3, weighed at 9:00\n" * 40), "a text file"),
        (lambda d: _write(d / "noise.mp4", bytes(range(256)) * 40), "not a video file"),
        (lambda d: write_audio_only(d / "sound.mp4"), "no video stream"),
        (lambda d: write_audio_only(d / "sound.wav"), "no video stream"),
        (lambda d: d / "missing.mp4", "no such file"),
    ],
    ids=["empty", "text", "binary", "aac-in-mp4", "wav", "missing"],
)
def test_bad_inputs_are_refused_with_the_reason(
    tmp_path: Path, make: Callable[[Path], Path], message: str
) -> None:
    path = make(tmp_path)
    with pytest.raises(InvalidVideo, match=message) as caught:
        probe_video(path)
    assert str(caught.value).startswith(path.name)  # names the file, not the server's folders
    assert str(tmp_path) not in str(caught.value)


def _refuse_without_touching(path: Path, target: Path, message: str) -> None:
    """probe_video(path) raises InvalidVideo and never opens `target` (a FIFO: opening blocks)."""
    outcome: list[BaseException | None] = []

    def probe() -> None:
        try:
            probe_video(path)
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    worker = threading.Thread(target=probe, daemon=True)
    worker.start()
    worker.join(10)
    if worker.is_alive():  # FFmpeg is blocked opening the FIFO: release it, then fail
        os.close(os.open(target, os.O_WRONLY | os.O_NONBLOCK))
        worker.join(5)
        pytest.fail(f"{path.name} made FFmpeg open {target.name}")
    assert isinstance(outcome[0], InvalidVideo), outcome
    assert message in str(outcome[0])


@pytest.mark.parametrize("name", ["list.m3u8", "list.mp4"])
def test_playlist_is_refused_without_opening_what_it_names(tmp_path: Path, name: str) -> None:
    target = tmp_path / "other.ts"
    os.mkfifo(target)
    playlist = "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4.0,\nother.ts\n#EXT-X-ENDLIST\n"
    path = _write(tmp_path / name, playlist.encode())
    _refuse_without_touching(path, target, "an HLS playlist")


@pytest.mark.parametrize("name", ["list.ffconcat", "list.mkv"])
def test_ffconcat_is_refused_without_opening_what_it_names(tmp_path: Path, name: str) -> None:
    target = tmp_path / "other.mp4"
    os.mkfifo(target)
    path = _write(tmp_path / name, f"ffconcat version 1.0\nfile '{target}'\n".encode())
    _refuse_without_touching(path, target, "an ffconcat list")


def test_open_video_gives_a_container_with_the_video(clips: dict[str, Path]) -> None:
    with open_video(clips["mkv"]) as container:
        assert container.format.name.startswith("matroska")
        assert len(container.streams.video) == 1


def test_video_info_is_immutable(clips: dict[str, Path]) -> None:
    info = probe_video(clips["mp4"])
    assert isinstance(info, VideoInfo)
    with pytest.raises(AttributeError):
        info.frames = 3  # type: ignore[misc]

"""When a recording began, read from the name an NVR gives it or from its container."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from pigweight.media import recorded_at
from pigweight.media.recorded_at import recording_start, start_from_name
from pigweight.synthetic import write_demo_video

MOSCOW = ZoneInfo("Europe/Moscow")


def local(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, MOSCOW).isoformat()


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("ch01_20240514073004.mp4", "2024-05-14T07:30:04+03:00"),  # Hikvision
        ("ch01_20240514073004_20240514083004.mp4", "2024-05-14T07:30:04+03:00"),  # the start
        ("cam1_20240514_073004.mp4", "2024-05-14T07:30:04+03:00"),
        ("2024-05-14_07-30-04.mkv", "2024-05-14T07:30:04+03:00"),
        ("весы 2 2024-05-14 07.30.04.mp4", "2024-05-14T07:30:04+03:00"),
        ("pen 7.mp4", None),
        ("20240514.mp4", None),  # a day is not a moment
        ("20241314073004.mp4", None),  # month 13
        ("12345678901234567890.mp4", None),  # a serial number
        ("18990514073004.mp4", None),
    ],
)
def test_the_start_is_read_from_an_nvrs_file_name_in_farm_time(
    name: str, expected: str | None
) -> None:
    assert local(start_from_name(name, MOSCOW)) == expected


def test_the_name_comes_before_the_container_and_the_container_before_nothing(
    tmp_path: Path,
) -> None:
    stamped = write_demo_video(tmp_path / "a.mp4", seconds=1, width=160, height=90)
    bare = write_demo_video(
        tmp_path / "b.mp4", seconds=1, width=160, height=90, creation_time=False
    )
    from_container = recording_start(stamped, "pen 7.mp4", MOSCOW)
    assert from_container is not None and from_container.source == "container"
    assert local(from_container.ts) == "2024-05-14T10:30:00+03:00"  # 07:30 UTC
    from_name = recording_start(stamped, "ch01_20240601120000.mp4", MOSCOW)
    assert from_name is not None and from_name.source == "file name"
    assert local(from_name.ts) == "2024-06-01T12:00:00+03:00"
    assert recording_start(bare, "pen 7.mp4", MOSCOW) is None


def test_a_file_is_opened_once_for_its_start_until_it_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clip = write_demo_video(tmp_path / "c.mp4", seconds=1, width=160, height=90)
    opened: list[Path] = []
    real_open = recorded_at.open_video

    def counting_open(path: Path, **kwargs: bool) -> object:
        opened.append(path)
        return real_open(path, **kwargs)

    monkeypatch.setattr(recorded_at, "open_video", counting_open)
    first = recording_start(clip, "pen 7.mp4", MOSCOW)
    assert recording_start(clip, "pen 7.mp4", MOSCOW) == first  # a poll: no second read
    assert len(opened) == 1
    write_demo_video(clip, seconds=1, seed=1, width=160, height=90)  # the file is replaced
    assert recording_start(clip, "pen 7.mp4", MOSCOW) is not None
    assert len(opened) == 2

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pigweight.media.roots import (
    MediaNotFound,
    PathRefused,
    resolve_under_roots,
    safe_filename,
    video_files_in,
)


@pytest.fixture
def layout(tmp_path: Path) -> tuple[Path, Path]:
    """A media root with videos and other files, and a secret folder beside it."""
    root = tmp_path / "nvr"
    (root / "day1" / "cam2").mkdir(parents=True)
    (root / ".partial").mkdir()
    for name in ["day1/cam1.mp4", "day1/cam2/b.MKV", "day1/cam2/a.ts", "day1/notes.txt"]:
        (root / name).write_bytes(b"x")
    (root / "day1" / ".cam1.mp4.swp").write_bytes(b"x")
    (root / ".partial" / "half.mp4").write_bytes(b"x")
    outside = tmp_path / "secret"
    outside.mkdir()
    (outside / "passwd.mp4").write_bytes(b"x")
    (root / "escape").symlink_to(outside)
    (root / "day1" / "escape.mp4").symlink_to(outside / "passwd.mp4")
    (root / "day1" / "inside.mp4").symlink_to(root / "day1" / "cam1.mp4")
    return root, outside


HOSTILE = [
    ("../secret/passwd.mp4", "'..'"),
    ("day1/../../secret/passwd.mp4", "'..'"),
    ("%2e%2e/secret/passwd.mp4", "'..'"),
    ("%2E%2E%2Fsecret%2Fpasswd.mp4", "'..'"),
    ("..%2Fsecret/passwd.mp4", "'..'"),
    ("..\\secret\\passwd.mp4", "'..'"),
    ("day1/cam1.mp4\x00.txt", "NUL"),
    ("day1/cam1.mp4%00", "NUL"),
    ("C:\\NVR\\cam1.mp4", "Windows drive"),
    ("c:/NVR/cam1.mp4", "Windows drive"),
    ("\\\\nvr-server\\share\\cam1.mp4", "UNC"),
    ("//nvr-server/share/cam1.mp4", "UNC"),
    ("%5C%5Cnvr-server%5Cshare", "UNC"),
    ("/etc/passwd", "outside the media roots"),
    ("escape/passwd.mp4", "symbolic link"),
    ("day1/escape.mp4", "symbolic link"),
    ("", "empty"),
]


@pytest.mark.parametrize(("user_path", "reason"), HOSTILE)
def test_hostile_paths_are_refused_naming_the_allowed_roots(
    layout: tuple[Path, Path], user_path: str, reason: str
) -> None:
    root, _ = layout
    with pytest.raises(PathRefused, match=reason) as refused:
        resolve_under_roots(user_path, [root])
    assert str(root) in str(refused.value) and "MEDIA_ROOTS" in str(refused.value)
    assert refused.value.code == "path_refused"


def test_an_absolute_path_outside_every_root_is_refused(layout: tuple[Path, Path]) -> None:
    root, outside = layout
    with pytest.raises(PathRefused, match="outside the media roots"):
        resolve_under_roots(str(outside / "passwd.mp4"), [root])
    with pytest.raises(PathRefused, match="symbolic link"):
        resolve_under_roots(str(root / "escape" / "passwd.mp4"), [root])


def test_without_media_roots_nothing_is_registered(layout: tuple[Path, Path]) -> None:
    root, _ = layout
    with pytest.raises(PathRefused, match="set MEDIA_ROOTS"):
        resolve_under_roots(str(root / "day1" / "cam1.mp4"), [])


def test_a_file_inside_a_root_is_allowed(layout: tuple[Path, Path], tmp_path: Path) -> None:
    root, _ = layout
    cam1 = root / "day1" / "cam1.mp4"
    assert resolve_under_roots(str(cam1), [root]) == cam1
    assert resolve_under_roots("day1/cam1.mp4", [root]) == cam1
    assert resolve_under_roots("day1/inside.mp4", [root]) == cam1  # a link within the root
    other = tmp_path / "export"
    (other / "x").mkdir(parents=True)
    (other / "x" / "clip.mp4").write_bytes(b"x")
    # A relative path is looked up in each root in turn.
    assert resolve_under_roots("x/clip.mp4", [root, other]) == other / "x" / "clip.mp4"
    assert video_files_in(cam1) == [cam1]


def test_a_folder_inside_a_root_lists_only_its_videos(layout: tuple[Path, Path]) -> None:
    root, _ = layout
    folder = resolve_under_roots(str(root), [root])
    day1 = root / "day1"
    assert video_files_in(folder, [root]) == [
        day1 / "cam1.mp4",
        day1 / "cam2" / "a.ts",
        day1 / "cam2" / "b.MKV",
    ]
    # Without roots to check against, a link is followed to its target.
    assert root.parent / "secret" / "passwd.mp4" in video_files_in(day1)
    assert video_files_in(root / ".partial") == [root / ".partial" / "half.mp4"]


def test_a_missing_path_or_a_fifo_gets_a_clear_error(layout: tuple[Path, Path]) -> None:
    root, _ = layout
    missing = resolve_under_roots("day9/cam1.mp4", [root])
    with pytest.raises(MediaNotFound, match="no such file or folder"):
        video_files_in(missing)
    fifo = root / "day1" / "pipe.mp4"
    os.mkfifo(fifo)
    with pytest.raises(PathRefused, match="not a regular file"):
        video_files_in(fifo)
    assert fifo not in video_files_in(root / "day1")  # would block whoever opened it


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("cam1.mp4", "cam1.mp4"),
        ("../../etc/passwd", "passwd"),
        ("C:\\NVR\\Камера 1.mp4", "Камера 1.mp4"),
        ("..", "video"),
        ("", "video"),
        (".bashrc", "bashrc"),
        ("-rf.mp4", "rf.mp4"),
        ("a\x00b\nc;$(rm).mp4", "a_b_c__(rm).mp4"),
        ("x" * 300 + ".mp4", "x" * 196 + ".mp4"),
        ("Б" * 300 + ".mkv", "Б" * 98 + ".mkv"),
    ],
)
def test_safe_filename(name: str, safe: str) -> None:
    assert safe_filename(name) == safe
    assert len(safe_filename(name).encode()) <= 200

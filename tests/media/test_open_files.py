from __future__ import annotations

import os
from pathlib import Path

import pytest

from pigweight.errors import InvalidVideo
from pigweight.media.hls import frame_at
from pigweight.media.open_files import OpenFiles
from pigweight.media.probe import probe_video
from tests.media.videos import write_clip


def test_files_are_opened_once_reopened_when_replaced_and_refused_when_gone(
    tmp_path: Path,
) -> None:
    clip = write_clip(tmp_path / "a.mp4", seconds=4, gop_s=1.0)
    info = probe_video(clip)
    files = OpenFiles(max_idle=2)
    for t in (3.5, 1.2, 2.9, 3.5):
        frame_at(clip, info, t, files)
    assert files.opened == 1
    os.utime(clip, ns=(0, 1))  # a new export under the same name is another file
    frame_at(clip, info, 2.5, files)
    assert files.opened == 2
    others = [write_clip(tmp_path / f"{n}.mp4", seconds=2, gop_s=1.0) for n in "bc"]
    for other in others:
        frame_at(other, probe_video(other), 1.5, files)
    assert len(files._idle) == 2  # the least recently used went (closed)
    clip.unlink()
    with pytest.raises(InvalidVideo, match=r"a\.mp4: no such file"):
        frame_at(clip, info, 2.5, files)
    files.close()
    assert not files._idle

"""`pigweight index`: recordings into the archive from the command line."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from pigweight.cli import main
from pigweight.synthetic import write_demo_video


def test_index_a_folder_then_again_is_a_no_op(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    (tmp_path / "nvr").mkdir()
    write_demo_video(tmp_path / "nvr" / "cam1.mp4", seconds=4, width=640, height=360)
    (tmp_path / "nvr" / "readme.txt").write_text("not a video")
    assert main(["index", str(tmp_path / "nvr"), "--json"]) == 0
    [result] = json.loads(capsys.readouterr().out)
    assert result["state"] == "done" and result["samples"] == 4 and result["id"] == 1
    db = sqlite3.connect(tmp_path / "data" / "pigweight.sqlite3")
    assert db.execute("SELECT count(*) FROM video_samples").fetchone()[0] == 4
    db.close()
    assert main(["index", str(tmp_path / "nvr" / "cam1.mp4")]) == 0
    assert "id 1, 4 s, 4 samples, done" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d / "missing.mp4", "no such file"),
        (lambda d: d, "no video files"),
        (lambda d: (d / "x.mp4").write_text("text") and d / "x.mp4", "not a video"),
    ],
)
def test_index_bad_paths_say_why_in_one_line(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    make: object,
    message: str,
) -> None:
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    folder = tmp_path / "empty"
    folder.mkdir()
    path = make(folder)  # type: ignore[operator]
    assert main(["index", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("pigweight: error:") and message in err and "Traceback" not in err

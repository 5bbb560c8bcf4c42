"""One background thread at a time: a thread that would not stop is waited for, never
doubled, and once it ends its owner starts again (a camera, a replay, a scale)."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from pigweight.api.errors import refusal_response
from pigweight.background import BackgroundThread, StillStopping
from pigweight.media.source import FileSource, SourceState
from tests.media.videos import write_clip


def _threads(name: str) -> int:
    return sum(t.name == name and t.is_alive() for t in threading.enumerate())


def test_a_thread_that_would_not_stop_is_kept_waited_for_and_replaced_once_it_ends() -> None:
    release = threading.Event()
    runs: list[int] = []

    def stubborn() -> None:  # ignores `stopping` until released, as a stuck read would
        runs.append(len(runs))
        release.wait(10)

    worker = BackgroundThread("stubborn", stubborn, restart_wait_s=0.1)
    assert worker.start() is True
    assert worker.start() is False  # already running: never a second thread
    assert worker.stop(0.05) is False  # still running after the wait
    assert worker.alive and not worker.running
    with pytest.raises(StillStopping) as refused:
        worker.start()
    assert refused.value.code == "still_stopping" and "still stopping" in str(refused.value)
    answer = refusal_response(refused.value)  # what the page gets from a camera's start
    assert answer.status_code == 409
    assert json.loads(answer.body)["code"] == "still_stopping"
    assert _threads("stubborn") == 1 and runs == [0]
    release.set()  # the read returns at last
    assert worker.start() is True  # waited for the old one, then a fresh one
    assert runs == [0, 1] and _threads("stubborn") <= 1
    assert worker.stop(2.0) is True and not worker.alive


def test_a_replay_whose_thread_would_not_stop_can_be_started_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clip = write_clip(tmp_path / "pen.mp4", seconds=1.0, fps=10)
    source = FileSource(clip, source_id="pen")
    stuck = threading.Event()
    release = threading.Event()
    play = FileSource._play_once

    def play_or_hang(self: FileSource, index: int) -> int:
        if not release.is_set():
            stuck.set()
            release.wait(10)  # a decode that does not look at the stop flag
            return index
        return play(self, index)

    monkeypatch.setattr(FileSource, "_play_once", play_or_hang)
    monkeypatch.setattr(source._worker, "restart_wait_s", 0.1)
    source.start()
    assert stuck.wait(5)
    source.stop(timeout_s=0.1)
    assert source.status.state is SourceState.STOPPED
    with pytest.raises(StillStopping):
        source.start()  # the old thread would share the frame slot and the status
    assert _threads("source-pen") == 1
    release.set()
    source.start()
    deadline = time.monotonic() + 10
    while source.status.state is not SourceState.STREAMING and time.monotonic() < deadline:
        time.sleep(0.05)
    assert source.status.state is SourceState.STREAMING
    assert source.latest(timeout_s=2.0) is not None
    assert _threads("source-pen") == 1
    source.stop()
    assert _threads("source-pen") == 0

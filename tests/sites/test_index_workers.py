"""Index workers beyond the shared disk: a worker without the file reads it over HTTP Range
from the server with its job's token (and nothing else opens it), a cancel on the server
reaches the worker that holds the job, and a worker without NATS waits longer and longer."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import av.logging
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from pigweight.app import create_app
from pigweight.media.remote_file import open_remote_video
from pigweight.pipeline.archive import Archive
from pigweight.settings import SiteSettings
from pigweight.sites.backoff import Backoff
from pigweight.sites.index_source import TOKEN_HEADER, TOKEN_TTL_S, JobTokens
from pigweight.sites.index_worker import IndexWorker
from pigweight.vision.classic import ClassicSegmenter
from tests.api.conftest import make_settings
from tests.natsd import Single, free_port
from tests.sites.test_index_queue import (
    INTERVAL_S,
    ROOT,
    _add,
    _in_process,
    _samples,
    _sent,
    _server,
    _stop,
    _take_job,
    _wait_done,
    _worker,
)

TOKEN_LIKE = re.compile(r"[0-9]{9,12}\.[0-9a-f]{64}")


# --- over HTTP Range ---------------------------------------------------------------------


@contextmanager
def _serving(app: FastAPI, port: int) -> Iterator[None]:
    """The app (lifespan included) on 127.0.0.1:port, as `pigweight serve` runs it."""
    # log_config=None: uvicorn leaves logging alone, and its access lines reach caplog. An
    # earlier test in this process may have run uvicorn at log_level="warning" (tests/web/
    # server.py), which left its access logger at WARNING: INFO again for this one.
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None)
    server = uvicorn.Server(config)
    access = logging.getLogger("uvicorn.access")
    was = access.level, access.propagate, access.disabled
    access.setLevel(logging.INFO)
    access.propagate, access.disabled = True, False
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
            time.sleep(0.05)
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        access.setLevel(was[0])
        access.propagate, access.disabled = was[1:]


def _free_http_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _http_worker(server: Single, cwd: Path) -> subprocess.Popen[bytes]:
    """`pigweight worker` with no shared folder: the file only over HTTP."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INDEX_", "NATS_"))}
    env |= {"NATS_URL": server.url, "SEGMENTER": "classic", "PYTHONPATH": str(ROOT)}
    with (cwd / "worker.log").open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "pigweight", "worker", "--jobs", "1"],
            cwd=cwd,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )


def test_a_worker_without_the_file_reads_it_over_http_from_the_server(
    tmp_path: Path, nats_server: Single, clips: Path, caplog: pytest.LogCaptureFixture
) -> None:
    expected = _in_process(tmp_path, clips / "b.mp4")
    port = _free_http_port()
    settings = make_settings(
        tmp_path,
        index_workers="queue",
        nats_url=nats_server.url,
        index_shared_root=clips,  # the worker has none: the job names a file it cannot see
        index_source_url=f"http://127.0.0.1:{port}",
        index_interval_s=INTERVAL_S,
    )
    app = create_app(settings)
    caplog.set_level(logging.INFO)
    with _serving(app, port):
        archive: Archive = app.state.archive
        worker = _http_worker(nats_server, tmp_path)
        try:
            row = archive.add_file(clips / "b.mp4", "b.mp4", "register")
            assert archive.indexer is not None
            _wait_done(archive.indexer, [row.id], timeout_s=40)
            assert worker.wait(10) == 0
            assert _samples(archive.engine, row.id) == expected
        finally:
            _stop(worker)
    log = (tmp_path / "worker.log").read_text()
    requests = [r.getMessage() for r in caplog.records if "/api/index_jobs/" in r.getMessage()]
    assert any("206" in line for line in requests), "the worker read no Range over HTTP"
    for text in (log, caplog.text):
        assert not TOKEN_LIKE.search(text), "a job's token was logged"


def test_ffmpeg_debug_lines_show_no_token(
    tmp_path: Path, clips: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """FFmpeg prints each HTTP request with its headers at debug level: masked."""
    settings = make_settings(
        tmp_path, index_workers="queue", nats_url=f"nats://127.0.0.1:{free_port()}"
    )
    app = create_app(settings)
    port = _free_http_port()
    caplog.set_level(1, logger="libav")  # PyAV passes FFmpeg's debug level below DEBUG
    with _serving(app, port):
        archive: Archive = app.state.archive
        row = archive.add_file(clips / "b.mp4", "b.mp4", "register")
        token = JobTokens(archive.data_dir).issue(row.id)
        url = f"http://127.0.0.1:{port}/api/index_jobs/{row.id}/file"
        av.logging.set_level(av.logging.DEBUG)
        try:
            container = open_remote_video(url, "mp4", {TOKEN_HEADER: token})
            frames = sum(1 for _ in container.decode(video=0))
            container.close()
        finally:
            av.logging.set_level(None)
    assert frames > 0
    assert any("request: GET" in r.getMessage() for r in caplog.records), "no debug line"
    assert token not in caplog.text


@pytest.fixture
def app_without_workers(tmp_path: Path) -> Iterator[TestClient]:
    """A server whose jobs stay queued: INDEX_WORKERS=queue and no NATS server there."""
    settings = make_settings(
        tmp_path,
        index_workers="queue",
        nats_url=f"nats://127.0.0.1:{free_port()}",
        index_source_url="http://127.0.0.1:9",
    )
    with TestClient(create_app(settings)) as client:
        yield client


def test_the_job_file_opens_with_its_own_videos_token_only(
    app_without_workers: TestClient, clips: Path
) -> None:
    client = app_without_workers
    archive: Archive = client.app.state.archive  # type: ignore[attr-defined]
    row = archive.add_file(clips / "b.mp4", "b.mp4", "register")
    other = archive.add_file(clips / "c.mp4", "c.mp4", "register")
    tokens = JobTokens(archive.data_dir)
    url = f"/api/index_jobs/{row.id}/file"
    good = tokens.issue(row.id)
    refused: dict[str, dict[str, str]] = {
        "no token": {},
        "not a token": {TOKEN_HEADER: "../../etc/passwd"},
        "another video's": {TOKEN_HEADER: tokens.issue(other.id)},
        "expired": {TOKEN_HEADER: tokens.issue(row.id, now=time.time() - TOKEN_TTL_S - 60)},
        "forged": {TOKEN_HEADER: good[:-4] + "0000"},
    }
    for case, headers in refused.items():
        answer = client.get(url, headers=headers)
        assert answer.status_code == 403, case
        assert answer.json()["code"] == "index_token_refused", case
        assert good not in answer.text
    assert "expired" in client.get(url, headers=refused["expired"]).json()["detail"]
    assert TOKEN_HEADER in client.get(url).json()["detail"]

    part = client.get(url, headers={TOKEN_HEADER: good, "Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.content == (clips / "b.mp4").read_bytes()[100:200]

    assert client.post(f"/api/video_file/{row.id}/cancel").status_code == 200
    gone = client.get(url, headers={TOKEN_HEADER: good})
    assert gone.status_code == 403 and "cancelled" in gone.json()["detail"]


# --- cancel ------------------------------------------------------------------------------


def _wait_for(path: Path, text: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while text not in path.read_text():
        assert time.monotonic() < deadline, f"{text!r} not in {path.name}: {path.read_text()}"
        time.sleep(0.05)


def test_a_cancel_stops_the_worker_holding_the_job(
    tmp_path: Path, nats_server: Single, clips: Path
) -> None:
    expected = _in_process(tmp_path, clips / "a.mp4")
    engine, indexer = _server(tmp_path, nats_server, clips)
    worker = _worker(nats_server, clips, tmp_path, "--batch", "1")
    try:
        video_id = _add(engine, clips / "a.mp4")
        indexer.enqueue(video_id)
        deadline = time.monotonic() + 15
        while nats_server.stream_messages("PW_INDEX_SAMPLES") < 3:
            assert time.monotonic() < deadline, "the worker sent nothing"
            time.sleep(0.01)
        indexer.cancel(video_id)
        _wait_for(tmp_path / "worker.log", "cancelled on the server; job dropped", 10)
        sent = _sent(nats_server.url)
        assert not any(b["done"] for b in sent), "indexed to the end anyway"
        # Terminated, not left to its ack wait (2 s): nobody gets the job again.
        assert _take_job(nats_server.url, timeout_s=3.0) == 0
        assert indexer.progress(video_id).state == "cancelled"
        stored = {t for t, _count, _conf in _samples(engine, video_id)}
        assert stored <= {r["t"] for b in sent for r in b["rows"]}
        assert worker.poll() is None, "the worker stopped with the job"

        indexer.enqueue(video_id)  # queued again: a new job, indexed to the end
        _wait_done(indexer, [video_id], timeout_s=60)  # slack for a CPU shared with others
        assert _samples(engine, video_id) == expected
    finally:
        _stop(worker)
        indexer.stop()
        engine.dispose()


def test_a_cancelled_videos_late_samples_are_not_stored(
    tmp_path: Path, nats_server: Single, clips: Path
) -> None:
    engine, indexer = _server(tmp_path, nats_server, clips)
    try:
        video_id = _add(engine, clips / "b.mp4")
        indexer.enqueue(video_id)
        indexer.cancel(video_id)
        late: dict[str, Any] = {
            "video_id": video_id,
            "rows": [{"t": 0.0, "count": 3, "confidence": 0.9, "outlines": "[]"}],
            "indexed_until_s": 0.5,
            "samples_done": 1,
            "samples_total": 8,
            "done": True,
        }
        indexer._apply(json.loads(json.dumps(late)))
        assert _samples(engine, video_id) == []
        assert indexer.progress(video_id).state == "cancelled"
    finally:
        indexer.stop()
        engine.dispose()


# --- back-off ----------------------------------------------------------------------------


def test_backoff_doubles_to_its_cap_with_jitter_and_starts_again_after_a_connect() -> None:
    backoff = Backoff(jitter=lambda low, high: 1.0)
    assert [backoff.next() for _ in range(7)] == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    backoff.reset()
    assert backoff.next() == 1.0
    jittered = Backoff()
    waits = [jittered.next() for _ in range(3)]
    assert 0.8 <= waits[0] <= 1.2 and 1.6 <= waits[1] <= 2.4 and 3.2 <= waits[2] <= 4.8


def test_a_worker_without_nats_tries_less_and_less_often_and_says_so_once_a_try(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sites = SiteSettings(nats_url=f"nats://127.0.0.1:{free_port()}")
    backoff = Backoff(first_s=0.1, cap_s=0.4, jitter=lambda low, high: 1.0)
    worker = IndexWorker(sites, ClassicSegmenter(), backoff=backoff)
    caplog.set_level(logging.INFO)

    async def run() -> float:
        stop = asyncio.Event()
        task = asyncio.create_task(worker.run(stop))
        await asyncio.sleep(1.6)
        stop.set()
        stopped = time.monotonic()
        await asyncio.wait_for(task, 5)
        return time.monotonic() - stopped

    assert asyncio.run(run()) < 1.0, "a stop while NATS is away waited"
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    waits = [float(m) for m in re.findall(r"trying again in ([0-9.]+) s", "\n".join(warnings))]
    assert len(waits) == len(warnings), f"more than one warning a try: {warnings}"
    assert waits[:4] == [0.1, 0.2, 0.4, 0.4]
    assert 4 <= len(waits) <= 7  # 0.1 + 0.2 + 0.4 + 0.4 ... in 1.6 s, not one every 0.1 s
    assert sites.nats_url in warnings[0]

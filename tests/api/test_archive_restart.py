"""The indexer resumes after the server is killed in the middle of a job."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from pigweight.synthetic import write_demo_video

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(root: Path, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PORT": str(port),
        "DATA_DIR": str(root / "data"),
        "RECORDS_DIR": str(root / "records"),
        "LOG_DIR": str(root / "logs"),
        "MEDIA_ROOTS": str(root / "nvr"),
        "AUTO_START_CAM": "false",
        "PRELOAD_MODEL": "false",
        "DEMO_VIDEO_SECONDS": "0",
        "INDEX_INTERVAL_S": "0.2",  # 100 samples: seconds of work, a kill lands mid-job
    }
    with (root / "server.log").open("ab") as log:  # the child keeps its own copy
        return subprocess.Popen(
            [sys.executable, "-m", "pigweight", "serve"], cwd=root, env=env, stdout=log, stderr=log
        )


def _wait(url: str, ok: Any, timeout_s: float = 60) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            body = httpx.get(url, timeout=2).json()
            if ok(body):
                return body
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url}: condition not met in {timeout_s} s")


def test_a_killed_server_resumes_indexing_without_redoing_or_losing_samples(
    tmp_path: Path,
) -> None:
    (tmp_path / "nvr").mkdir()
    clip = write_demo_video(tmp_path / "nvr" / "cam1.mp4", seconds=20, width=640, height=360)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = _serve(tmp_path, port)
    try:
        _wait(f"{base}/healthz", lambda b: True)
        video = httpx.post(f"{base}/api/video_file/register", json={"path": str(clip)}).json()[0]
        url = f"{base}/api/video_file/{video['id']}"
        partial = _wait(url, lambda b: b["index"]["samples_done"] >= 6)
        assert partial["index"]["state"] == "indexing"
        server.send_signal(signal.SIGKILL)
        server.wait()
        db = sqlite3.connect(tmp_path / "data" / "pigweight.sqlite3")
        before = db.execute("SELECT count(*) FROM video_samples").fetchone()[0]
        db.close()
        assert before >= 6
        server = _serve(tmp_path, port)
        resumed = _wait(url, lambda b: True)
        assert resumed["index"]["samples_done"] >= before  # picked up where it was, not from 0
        done = _wait(url, lambda b: b["index"]["state"] == "done", timeout_s=120)
        assert done["index"]["samples_done"] == done["index"]["samples_total"] == 100
        db = sqlite3.connect(tmp_path / "data" / "pigweight.sqlite3")
        times = [t for (t,) in db.execute("SELECT t FROM video_samples ORDER BY t")]
        db.close()
        assert len(times) == len(set(times)) == 100  # nothing twice, nothing missing
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)

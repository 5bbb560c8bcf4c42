"""The training process's side of teaching/jobs.py: its priority, stopping it, its log's
last lines and what an ended job leaves on disk."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
from pathlib import Path

from pigweight.redact import redact_text

STOP_WAIT_S = 10.0


def tidy(job_dir: Path) -> None:
    """An ended job keeps its job.json, log and progress; its copy of the frames and its
    checkpoint (14 MB) go: the model itself is in DATA_DIR/models."""
    shutil.rmtree(job_dir / "data", ignore_errors=True)
    for name in ("model.onnx", "model.onnx.checkpoint.pt"):
        (job_dir / name).unlink(missing_ok=True)


def lower_priority() -> None:
    os.nice(10)


def terminate(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=STOP_WAIT_S)
    except (OSError, subprocess.TimeoutExpired):
        with contextlib.suppress(OSError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def last_lines(path: Path, n: int = 3) -> str:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return "no log"
    return redact_text(" | ".join(lines[-n:]))[-600:]

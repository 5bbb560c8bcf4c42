"""Fine-tunes started from the page: one at a time, in their own process, owned here.

The process (teaching/job_main.py) runs at a lower priority (nice 10) with TRAIN_THREADS
threads, so the live cameras keep their frame rate. A watcher thread follows it: its
progress file, its end (result.json: finished; killed by a cancel: cancelled; anything else:
failed, with the last lines of its log). The job's state is a database row: when the service
stops, the process is stopped and the job marked interrupted; at the next start it goes on
from its last checkpoint (or, with no checkpoint, from the start; the message says which).
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, select, update

from pigweight.durable import replace_file
from pigweight.errors import PigWeightError, Refusal
from pigweight.store.db import training_jobs
from pigweight.teaching.folder import FrameSplit, TrainingFrames, write_folder
from pigweight.teaching.frames import LabelQueue
from pigweight.teaching.job_process import (
    STOP_WAIT_S,
    last_lines,
    lower_priority,
    terminate,
    tidy,
)
from pigweight.teaching.models import ModelBook

logger = logging.getLogger(__name__)

JOB_DIR = "training"
MIN_LABELLED = 5  # four to learn from, one to measure on
MAX_STEPS = 20_000
IMAGE_SIZES = (64, 96, 128, 160, 224, 320, 416, 512, 640)
ACTIVE = ("running", "comparing")
_POLL_S = 0.5


class TrainingBusy(Refusal):
    code = "training_running"


class TrainingRejected(Refusal):
    """A training that cannot start as asked (its steps, image size, too few labels)."""


class TrainingUnavailable(PigWeightError):
    """torch is not installed here (503): the server runs, it cannot train."""

    code = "training_unavailable"


def can_train() -> bool:
    """True when the training extra (torch) is installed in this environment."""
    return importlib.util.find_spec("torch") is not None


def check_request(steps: int, imgsz: int) -> None:
    """Refuse a training this server cannot run as asked, before anything is prepared."""
    if not can_train():
        raise TrainingUnavailable(
            "this server cannot train: torch is not installed in its environment "
            "(`make run` installs it where its CPU build is available; otherwise "
            "`.venv/bin/pip install -e '.[train]'`, or train on another machine and "
            "import the model)"
        )
    if not 1 <= steps <= MAX_STEPS:
        raise TrainingRejected(f"steps: 1 to {MAX_STEPS}", "invalid_training")
    if imgsz not in IMAGE_SIZES:
        raise TrainingRejected(
            f"imgsz: one of {', '.join(map(str, IMAGE_SIZES))}", "invalid_training"
        )


class JobNotFound(PigWeightError):
    code = "job_not_found"


@dataclass
class _Running:
    job_id: int
    process: subprocess.Popen[bytes]
    cancelled: bool = False


class Trainer:
    """Starts, follows, cancels and resumes fine-tunes; one app owns one."""

    def __init__(
        self, data_dir: Path, queue: LabelQueue, models: ModelBook, threads: int = 1
    ) -> None:
        self.data_dir = Path(data_dir)
        self.queue = queue
        self.models = models
        self.threads = threads
        self._engine: Engine | None = None
        self._lock = threading.Lock()
        self._running: _Running | None = None
        self._watcher: threading.Thread | None = None
        self._stopping = threading.Event()

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            raise RuntimeError("Trainer used before start()")
        return self._engine

    # --- life --------------------------------------------------------------------------------

    def start(self, engine: Engine) -> None:
        """Resume the jobs a stop or a crash interrupted (blocking: call from a thread)."""
        self._engine = engine
        with engine.connect() as conn:
            rows = conn.execute(
                select(training_jobs).where(training_jobs.c.state.in_((*ACTIVE, "interrupted")))
            ).all()
        for row in rows:
            self._kill_leftover(row)
            if self._running is None:
                self._resume(row)
            else:
                self._set(row.id, state="failed", message="another training was resumed first")

    def stop(self) -> None:
        """Stop the training process and mark its job interrupted (it resumes at start)."""
        self._stopping.set()
        with self._lock:
            running = self._running
        if running is not None:
            terminate(running.process)
            self._set(
                running.job_id,
                state="interrupted",
                pid=None,
                message="the service stopped during the training; it goes on at the next start",
            )
        if self._watcher is not None:
            self._watcher.join(timeout=STOP_WAIT_S)
        self._running = None

    # --- operations -------------------------------------------------------------------------

    def begin(
        self,
        camera: str,
        steps: int,
        imgsz: int,
        user: str,
        frames: TrainingFrames | None = None,
    ) -> dict[str, Any]:
        """Start a fine-tune of `camera`'s model on its labelled frames (`frames`: another
        set, as the central's group model; teaching/group.py)."""
        source = self.queue if frames is None else frames
        check_request(steps, imgsz)
        with self._lock:
            if self._running is not None:
                job = self.job(self._running.job_id)
                raise TrainingBusy(
                    f"a training is running (job {job['id']}, camera {job['camera']}, step "
                    f"{job['step']} of {job['steps']}): wait for it or cancel it",
                    camera=job["camera"],
                    job=job["id"],
                )
            split = source.split(camera)
            labelled = len(split.ordered)
            if labelled < MIN_LABELLED:
                whose = "the camera has" if frames is None else "the chosen sites have"
                raise TrainingRejected(
                    f"{whose} {labelled} labelled frames; label at least "
                    f"{MIN_LABELLED} (the newest fifth is kept to measure the new model)",
                    "too_few_labels",
                    labelled=labelled,
                    needed=MIN_LABELLED,
                )
            job_id = self._insert(camera, steps, imgsz, user, split)
            job_dir = self.data_dir / JOB_DIR / f"job-{job_id}"
            try:
                self._prepare(job_dir, job_id, camera, steps, imgsz, user, split, source)
            except Exception as exc:
                self._set(job_id, state="failed", message=f"could not prepare the data: {exc}")
                raise
            self._set(job_id, folder=job_dir.relative_to(self.data_dir).as_posix())
            self._spawn(job_id, job_dir, resume=False)
        logger.info("training: job %d started on camera %s by %s", job_id, camera, user)
        return self.job(job_id)

    def cancel(self, job_id: int) -> dict[str, Any]:
        job = self.job(job_id)
        with self._lock:
            running = self._running
            if running is None or running.job_id != job_id:
                return job  # already over: nothing to stop
            running.cancelled = True
        terminate(running.process)
        if self._watcher is not None:
            self._watcher.join(timeout=STOP_WAIT_S)
        logger.info("training: job %d cancelled", job_id)
        return self.job(job_id)

    def job(self, job_id: int) -> dict[str, Any]:
        with self.engine.connect() as conn:
            row = conn.execute(select(training_jobs).where(training_jobs.c.id == job_id)).first()
        if row is None:
            raise JobNotFound(f"no training job {job_id}")
        return self._public(row)

    def latest(self, camera: str | None) -> dict[str, Any] | None:
        query = select(training_jobs).order_by(training_jobs.c.id.desc()).limit(1)
        with self._lock:
            running = self._running
        if running is not None:
            query = select(training_jobs).where(training_jobs.c.id == running.job_id)
        elif camera is not None:
            query = query.where(training_jobs.c.camera == camera)
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return None if row is None else self._public(row)

    # --- inside -----------------------------------------------------------------------------

    def _insert(
        self, camera: str, steps: int, imgsz: int, user: str, split: FrameSplit[Any]
    ) -> int:
        """The job's row, running; its id."""
        with self.engine.begin() as conn:
            key = conn.execute(
                insert(training_jobs).values(
                    camera=camera,
                    state="running",
                    steps=steps,
                    imgsz=imgsz,
                    base_model=self.models.active(camera),
                    folder="",
                    # the frames learnt from (the validation frames pick the threshold)
                    train_frames=len(split.train),
                    train_infrared=sum(bool(f.infrared) for f in split.train),
                    held_out_infrared=sum(bool(f.infrared) for f in split.held_out),
                    held_out_frames=len(split.held_out),
                    started_ts=time.time(),
                    user=user,
                    resumes=0,
                )
            ).inserted_primary_key
        assert key is not None
        return int(key[0])

    def _prepare(
        self,
        job_dir: Path,
        job_id: int,
        camera: str,
        steps: int,
        imgsz: int,
        user: str,
        split: FrameSplit[Any],
        source: TrainingFrames,
    ) -> None:
        job_dir.mkdir(parents=True, exist_ok=True)
        split_at, validate_from = write_folder(job_dir / "data", source.rows(split))
        current_path = self.models.active_path(camera)
        job = {
            "id": job_id,
            "camera": camera,
            "user": user,
            "steps": steps,
            "imgsz": imgsz,
            "licence": source.licence,
            "split_at": split_at,
            "validate_from": validate_from,
            "train_frames": len(split.train),
            "validation_frames": len(split.validation),
            "base_path": None if current_path is None else str(current_path),
            "current_path": None if current_path is None else str(current_path),
            "current_id": self.models.active(camera),
            "model_id": self.models.new_id(camera),
            "models_dir": str(self.models.root),
            "held": [
                {
                    "frame_id": f.id,
                    "image": str(job_dir / "data" / "images" / f"{split_at + i:08d}.jpg"),
                    "truth": len(f.boxes or ()),
                    "source": f.source_name,  # a group's: site/camera/frame
                }
                for i, f in enumerate(split.held_out)
            ],
        }
        replace_file(job_dir / "job.json", json.dumps(job, indent=1).encode())

    def _spawn(self, job_id: int, job_dir: Path, resume: bool) -> None:
        for name in ("result.json", "progress.json"):
            if not resume:
                (job_dir / name).unlink(missing_ok=True)
        env = dict(os.environ, OMP_NUM_THREADS=str(self.threads), PYTHONUNBUFFERED="1")
        log = open(job_dir / "log.txt", "ab")  # noqa: SIM115 - the process writes it, we close ours
        try:
            process = subprocess.Popen(
                [sys.executable, "-m", "pigweight.teaching.job_main", str(job_dir)]
                + (["--resume"] if resume else []),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,  # its own group: a cancel stops it and its children
                preexec_fn=lower_priority,
            )
        finally:
            log.close()
        self._running = _Running(job_id, process)
        self._set(job_id, pid=process.pid, state="running")
        self._stopping.clear()
        self._watcher = threading.Thread(
            target=self._watch, args=(job_id, job_dir), name=f"training-{job_id}", daemon=True
        )
        self._watcher.start()

    def _watch(self, job_id: int, job_dir: Path) -> None:
        running = self._running
        assert running is not None
        while running.process.poll() is None:
            if self._stopping.wait(_POLL_S):
                return  # stop() takes it from here
        rc = running.process.returncode
        if self._stopping.is_set():
            return
        result = job_dir / "result.json"
        values: dict[str, Any] = {"pid": None, "finished_ts": time.time()}
        if running.cancelled:
            values.update(state="cancelled", message="cancelled")
        elif rc == 0 and result.is_file():
            model_id = json.loads(result.read_text(encoding="utf-8"))["model_id"]
            values.update(state="finished", model_id=model_id, message=None)
            logger.info("training: job %d finished: model %s", job_id, model_id)
        else:
            why = last_lines(job_dir / "log.txt")
            values.update(
                state="failed", message=f"the training process ended with code {rc}: {why}"
            )
            logger.error("training: job %d failed (code %s): %s", job_id, rc, why)
        tidy(job_dir)
        # The job's end and the trainer's freedom are seen together: a training started right
        # after this one ended is not refused as "running".
        with self._lock:
            self._set(job_id, **values)
            if self._running is running:
                self._running = None

    def _resume(self, row: Any) -> None:
        job_dir = self.data_dir / row.folder if row.folder else None
        if job_dir is None or not (job_dir / "job.json").is_file():
            self._set(
                row.id,
                state="failed",
                pid=None,
                finished_ts=time.time(),
                message="interrupted, and its data folder is gone: start it again",
            )
            return
        checkpoint = job_dir / "model.onnx.checkpoint.pt"
        resumes = int(row.resumes or 0) + 1
        if checkpoint.is_file():
            message = f"resumed from its last checkpoint after a restart ({resumes})"
        else:
            message = f"restarted from the beginning after a restart (no checkpoint yet; {resumes})"
        self._set(row.id, resumes=resumes, message=message)
        with self._lock:
            self._spawn(row.id, job_dir, resume=checkpoint.is_file())
        logger.info("training: job %d %s", row.id, message)

    def _kill_leftover(self, row: Any) -> None:
        """A process left running by a service that was killed: stopped before resuming."""
        if not row.pid:
            return
        try:
            cmdline = Path(f"/proc/{row.pid}/cmdline").read_bytes()
        except OSError:
            return
        if b"pigweight.teaching.job_main" in cmdline and f"job-{row.id}".encode() in cmdline:
            with contextlib.suppress(OSError):
                os.killpg(row.pid, signal.SIGKILL)

    def _set(self, job_id: int, **values: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(training_jobs).where(training_jobs.c.id == job_id).values(**values))

    def _public(self, row: Any) -> dict[str, Any]:
        progress: dict[str, Any] = {}
        if row.folder:
            try:
                progress = json.loads((self.data_dir / row.folder / "progress.json").read_text())
            except (OSError, ValueError):
                progress = {}
        state = row.state
        if state == "running" and progress.get("state") == "comparing":
            state = "comparing"
        end = row.finished_ts or time.time()
        return {
            "id": row.id,
            "camera": row.camera,
            "state": state,
            "step": int(progress.get("step", 0)),
            "steps": row.steps,
            "imgsz": row.imgsz,
            "elapsed_s": round(end - row.started_ts, 1),
            "eta_s": progress.get("eta_s") if state == "running" else None,
            "loss": progress.get("loss"),
            "message": row.message,
            "model_id": row.model_id,
            "base_model": row.base_model,
            "train_frames": row.train_frames,
            "held_out_frames": row.held_out_frames,
            # Night (infrared) frames: a model that learnt from none counts nights badly.
            "train_infrared": row.train_infrared,
            "held_out_infrared": row.held_out_infrared,
            "started_ts": row.started_ts,
            "user": row.user,
            "resumes": int(row.resumes or 0),  # times a restart interrupted and resumed it
        }

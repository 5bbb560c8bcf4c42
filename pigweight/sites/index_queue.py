"""Archive indexing on many machines: jobs on a JetStream work queue, samples sent back.

With INDEX_WORKERS=queue the server's `QueuedIndexer` publishes one job per file to
`PW_INDEX_JOBS` (retention work-queue, one pending job per video: a second publish for a video
whose job is still there is refused, so a restart that queues it again adds nothing), and
takes the samples `pigweight worker` processes publish to `PW_INDEX_SAMPLES` into
video_samples, with the same progress columns the in-process indexer keeps.

A worker (`IndexWorker`) pulls one job at a time from the durable consumer `workers`, counts
with the in-process indexer's own code (`IndexJob`, `indexer.count_batch`), publishes each
batch's samples with a message id (a repeat is dropped by JetStream; one that comes through
anyway replaces the same rows), tells JetStream it is still working after every batch
(`in_progress`), and acks once the last batch is published. Stopped (SIGTERM) it naks the
job: another worker takes it at once. Killed, the job comes again after JOB_ACK_WAIT_S, and
the next worker resumes after the last batch that job published (the last message on the
video's samples subject), not from zero.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext, api
from nats.js.errors import APIError, NotFoundError
from sqlalchemy import Engine

from pigweight.media.frame_reader import INDEX_MAX_SIDE_PX
from pigweight.media.probe import VideoInfo
from pigweight.pipeline.index_job import IndexJob
from pigweight.pipeline.indexer import VideoIndexer, count_batch
from pigweight.settings import SiteSettings
from pigweight.sites.streams import connect
from pigweight.store import videos as repo
from pigweight.store.videos import SampleRow, VideoRow
from pigweight.vision.segmenter import Segmenter

logger = logging.getLogger(__name__)

JOBS_STREAM = "PW_INDEX_JOBS"
JOBS_SUBJECT = "pw.index.jobs"  # .<video id>
SAMPLES_STREAM = "PW_INDEX_SAMPLES"
SAMPLES_SUBJECT = "pw.index.samples"  # .<video id>
WORKERS_CONSUMER = "workers"
SERVER_CONSUMER = "indexer"
# A job whose worker said nothing for this long goes to another worker. A worker says it is
# alive after every batch (a few samples: well under a second at the default size).
JOB_ACK_WAIT_S = 30.0
SAMPLES_MAX_AGE_S = 7 * 24 * 3600.0  # the server takes them within seconds; a resume reads them
SAMPLES_ACK_WAIT_S = 5.0
_PENDING = ("queued", "indexing")
WIRE_VERSION = 1


# --- the wire ------------------------------------------------------------------------------


def job_message(row: VideoRow, interval_s: float, max_side_px: int, shared: Path | None) -> bytes:
    """One video's job: where its file is, its probe, the sampling and where to start."""
    path = Path(row.info.path)
    if shared is not None and path.is_relative_to(shared):
        where = {"relative": str(path.relative_to(shared))}
    else:
        where = {"path": str(path)}
    info = {k: v for k, v in asdict(row.info).items() if k != "path"}
    info["keyframes"] = list(row.info.keyframes)
    body = {
        "v": WIRE_VERSION,
        "video_id": row.id,
        **where,
        "info": info,
        "interval_s": interval_s,
        "max_side_px": max_side_px,
        "indexed_until_s": row.indexed_until_s,
    }
    return json.dumps(body, separators=(",", ":")).encode()


def job_row(body: dict[str, Any], shared: Path | None) -> VideoRow:
    """The worker's VideoRow of a job: the file at this machine's path."""
    if "relative" in body:
        if shared is None:
            raise ValueError("the job names a file under INDEX_SHARED_ROOT, which is not set")
        path = shared / body["relative"]
    else:
        path = Path(body["path"])
    fields = dict(body["info"])
    fields["keyframes"] = tuple(float(k) for k in fields["keyframes"])
    info = VideoInfo(path=path, **fields)
    return VideoRow(
        id=int(body["video_id"]),
        name=path.name,
        path=str(path),
        source="register",
        added_ts=0.0,
        info=info,
        index_state="indexing",
        index_error=None,
        indexed_until_s=float(body["indexed_until_s"]),
        samples_done=0,
        samples_total=0,
    )


def _row_json(r: SampleRow) -> dict[str, Any]:
    return {"t": r.t, "count": r.count, "confidence": r.confidence, "outlines": r.outlines}


def _row_of(d: dict[str, Any]) -> SampleRow:
    return SampleRow(
        t=float(d["t"]),
        count=int(d["count"]),
        confidence=float(d["confidence"]),
        outlines=str(d["outlines"]),
    )


# --- streams -------------------------------------------------------------------------------


async def ensure_streams(js: JetStreamContext, job_ack_wait_s: float = JOB_ACK_WAIT_S) -> None:
    """Both streams and their durable consumers, made when missing (an existing consumer
    keeps its settings: whoever made it first chose its ack wait)."""
    jobs = api.StreamConfig(
        name=JOBS_STREAM,
        subjects=[f"{JOBS_SUBJECT}.>"],
        storage=api.StorageType.FILE,
        retention=api.RetentionPolicy.WORK_QUEUE,
        discard=api.DiscardPolicy.NEW,
        max_msgs_per_subject=1,
        discard_new_per_subject=True,
    )
    samples = api.StreamConfig(
        name=SAMPLES_STREAM,
        subjects=[f"{SAMPLES_SUBJECT}.>"],
        storage=api.StorageType.FILE,
        retention=api.RetentionPolicy.LIMITS,
        discard=api.DiscardPolicy.OLD,
        max_age=SAMPLES_MAX_AGE_S,
        duplicate_window=3600.0,
    )
    for config in (jobs, samples):
        assert config.name is not None
        try:
            await js.stream_info(config.name)
        except NotFoundError:
            await js.add_stream(config)
    consumers = {
        JOBS_STREAM: api.ConsumerConfig(
            durable_name=WORKERS_CONSUMER,
            ack_policy=api.AckPolicy.EXPLICIT,
            ack_wait=job_ack_wait_s,
            max_deliver=-1,
        ),
        SAMPLES_STREAM: api.ConsumerConfig(
            durable_name=SERVER_CONSUMER,
            ack_policy=api.AckPolicy.EXPLICIT,
            deliver_policy=api.DeliverPolicy.ALL,
            ack_wait=SAMPLES_ACK_WAIT_S,
            max_ack_pending=1000,
        ),
    }
    for stream, consumer in consumers.items():
        assert consumer.durable_name is not None
        try:
            await js.consumer_info(stream, consumer.durable_name)
        except NotFoundError:
            await js.add_consumer(stream, consumer)


# --- the server's side ---------------------------------------------------------------------


class QueuedIndexer(VideoIndexer):
    """The archive's indexer when workers index: its thread publishes the queued jobs and
    stores the samples that come back; queries, progress and on-demand samples as before.

    Not done here: a cancel stops taking the job's samples as progress, but the worker that
    has it goes on to the end; workers make no timeline previews (thumbs)."""

    def __init__(
        self,
        engine: Engine,
        segmenter: Callable[[], Segmenter],
        sites: SiteSettings,
        shared_root: Path | None,
        **kwargs: Any,
    ) -> None:
        super().__init__(engine, segmenter, **kwargs)
        self.sites = sites
        self.shared_root = None if shared_root is None else Path(shared_root).resolve()
        self._sent: set[int] = set()

    def _run(self) -> None:
        asyncio.run(self._serve())
        self._close_jobs()

    async def _serve(self) -> None:
        nc: NATS | None = None
        while nc is None:
            if self._stopping:
                return
            try:
                nc = await connect(self.sites, "pigweight-indexer")
            except Exception as exc:
                logger.warning("index queue: no NATS at %s: %s", self.sites.nats_url, exc)
                await asyncio.sleep(2.0)
        try:
            js = nc.jetstream()
            await ensure_streams(js)
            sub = await js.pull_subscribe_bind(SERVER_CONSUMER, SAMPLES_STREAM)
            while not self._stopping:
                await self._dispatch(js)
                try:
                    msgs = await sub.fetch(100, timeout=0.3)
                except (TimeoutError, NatsTimeout):
                    continue
                for msg in msgs:
                    await asyncio.to_thread(self._apply, json.loads(msg.data))
                    await msg.ack()
        finally:
            await nc.close()

    async def _dispatch(self, js: JetStreamContext) -> None:
        with self._cond:
            queued = set(self._queue)
            todo = [v for v in self._queue if v not in self._sent]
        # A cancelled video left the queue: queued again later, its job is sent again (and
        # refused by the stream while its old job is still there).
        self._sent &= queued
        for video_id in todo:
            with self.engine.connect() as conn:
                row = repo.get_video(conn, video_id)
            if row is None:
                self._unqueue(video_id)
                continue
            body = job_message(row, self.interval_s, self.max_side_px, self.shared_root)
            try:
                await js.publish(f"{JOBS_SUBJECT}.{video_id}", body, stream=JOBS_STREAM)
                logger.info("video %d: index job queued for the workers", video_id)
            except APIError as exc:  # its job is still in the queue: nothing to add
                logger.info("video %d: index job already queued (%s)", video_id, exc)
            self._sent.add(video_id)

    def _apply(self, body: dict[str, Any]) -> None:
        """Store one batch a worker sent; a repeat replaces the same rows."""
        video_id = int(body["video_id"])
        rows = [_row_of(d) for d in body["rows"]]
        with self.engine.begin() as conn:
            row = repo.get_video(conn, video_id)
            if row is None:
                return
            repo.add_samples(conn, video_id, rows)
            if float(body["indexed_until_s"]) >= row.indexed_until_s:  # never back
                repo.set_index_state(
                    conn,
                    video_id,
                    indexed_until_s=float(body["indexed_until_s"]),
                    samples_done=int(body["samples_done"]),
                    samples_total=int(body["samples_total"]),
                )
            if body.get("error"):
                repo.set_index_state(
                    conn, video_id, "error", error=str(body["error"]), only_from=_PENDING
                )
            elif body.get("done"):
                repo.set_index_state(conn, video_id, "done", only_from=_PENDING)
            else:
                repo.set_index_state(conn, video_id, "indexing", only_from=_PENDING)
        self.samples.add(video_id, rows)
        if body.get("done") or body.get("error"):
            self._unqueue(video_id)
            self._sent.discard(video_id)
            logger.info("video %d: indexed by a worker", video_id)
        elif rows and body.get("elapsed_s"):
            spacing_s = row.info.duration_s / max(int(body["samples_total"]), 1)
            self._measure(video_id, len(rows), spacing_s, float(body["elapsed_s"]))


# --- the worker ----------------------------------------------------------------------------


class IndexWorker:
    """`pigweight worker`: takes index jobs one at a time until `stop` is set."""

    def __init__(
        self,
        sites: SiteSettings,
        segmenter: Segmenter,
        shared_root: Path | None = None,
        batch: int = 4,
    ) -> None:
        self.sites = sites
        self.segmenter = segmenter
        self.shared_root = None if shared_root is None else Path(shared_root).resolve()
        self.batch = max(1, batch)
        self.jobs_done = 0
        self.batches_sent = 0
        self._flush: Callable[[], Awaitable[None]] = _nothing

    async def run(self, stop: asyncio.Event, max_jobs: int | None = None) -> None:
        nc = await connect(self.sites, "pigweight-worker")
        self._flush = nc.flush
        try:
            js = nc.jetstream()
            await ensure_streams(js)
            sub = await js.pull_subscribe_bind(WORKERS_CONSUMER, JOBS_STREAM)
            logger.info("worker: waiting for index jobs on %s", self.sites.nats_url)
            while not stop.is_set() and (max_jobs is None or self.jobs_done < max_jobs):
                try:
                    msgs = await sub.fetch(1, timeout=1.0)
                except (TimeoutError, NatsTimeout):
                    continue
                for msg in msgs:
                    await self._job(js, msg, stop)
        finally:
            await nc.close()  # every publish was acked: nothing is left to flush

    async def _job(self, js: JetStreamContext, msg: Msg, stop: asyncio.Event) -> None:
        body = json.loads(msg.data)
        video_id = int(body["video_id"])
        run = msg.metadata.sequence.stream  # the same on every delivery of this job
        subject = f"{SAMPLES_SUBJECT}.{video_id}"
        try:
            row = job_row(body, self.shared_root)
        except (ValueError, KeyError, TypeError) as exc:
            await self._send(js, subject, video_id, run, [], None, error=str(exc))
            await msg.term()
            return
        resume = await _resume_point(js, subject, run)
        if resume is not None and resume > row.indexed_until_s:
            logger.info("video %d: resuming at %.3f s", video_id, resume)
            row = replace(row, indexed_until_s=resume)
        interval_s = float(body["interval_s"])
        job = IndexJob(row, interval_s, [], int(body.get("max_side_px", INDEX_MAX_SIDE_PX)))
        try:
            while not job.complete:
                if stop.is_set():
                    await msg.nak()  # another worker takes it now, from what was sent
                    await self._flush()
                    logger.info("video %d: stopped; job handed back", video_id)
                    return
                picked = job.next_batch(self.batch, None)
                started = time.perf_counter()
                try:
                    _, rows = await asyncio.to_thread(count_batch, job, picked, self.segmenter)
                except Exception as exc:
                    logger.exception("video %d: indexing failed", video_id)
                    await self._send(js, subject, video_id, run, [], job, error=str(exc))
                    await msg.term()
                    return
                elapsed = time.perf_counter() - started
                await self._send(js, subject, video_id, run, rows, job, elapsed_s=elapsed)
                await msg.in_progress()
            await self._send(js, subject, video_id, run, [], job, done=True)
            await msg.ack()
            self.jobs_done += 1
            logger.info("video %d: indexed, %d samples", video_id, job.samples_done)
        finally:
            job.close_reader()

    async def _send(
        self,
        js: JetStreamContext,
        subject: str,
        video_id: int,
        run: int,
        rows: list[SampleRow],
        job: IndexJob | None,
        done: bool = False,
        error: str | None = None,
        elapsed_s: float = 0.0,
    ) -> None:
        until = 0.0 if job is None else job.indexed_until_s
        body = {
            "v": WIRE_VERSION,
            "video_id": video_id,
            "job": run,
            "rows": [_row_json(r) for r in rows],
            "indexed_until_s": until,
            "samples_done": 0 if job is None else job.samples_done,
            "samples_total": 0 if job is None else len(job.times),
            "done": done,
            "error": error,
            "elapsed_s": round(elapsed_s, 4),
        }
        tag = "done" if done else "error" if error else f"{until:.3f}"
        await js.publish(
            subject,
            json.dumps(body, separators=(",", ":")).encode(),
            stream=SAMPLES_STREAM,
            headers={"Nats-Msg-Id": f"{video_id}-{run}-{tag}"},
        )
        self.batches_sent += 1


async def _nothing() -> None:
    return None


async def _resume_point(js: JetStreamContext, subject: str, run: int) -> float | None:
    """Where this job's last worker got to: the last batch it published, if any."""
    try:
        last = await js.get_last_msg(SAMPLES_STREAM, subject)
    except NotFoundError:
        return None
    body = json.loads(last.data or b"{}")
    if body.get("job") != run or body.get("error"):
        return None
    return float(body["indexed_until_s"])

"""`pigweight worker`'s side of the index queue (index_queue.py: the server's side, the wire).

`IndexWorker` takes one job at a time, opens the file through INDEX_SHARED_ROOT (or at its
full path) when it is there, else over HTTP Range from the link the job carries
(index_source.py), counts with the in-process indexer's own code and publishes each batch.
It listens on `pw.index.cancel.*`: a cancel of the job in hand stops it after the batch in
hand, and the job is terminated (never delivered again). While the NATS server is away it
tries again after 1 s, 2 s, 4 s ... up to 30 s, with one warning a try (backoff.py).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from pigweight.media.frame_reader import INDEX_MAX_SIDE_PX, Opener
from pigweight.media.remote_file import open_remote_video
from pigweight.pipeline.index_job import IndexJob
from pigweight.pipeline.indexer import count_batch
from pigweight.settings import SiteSettings
from pigweight.sites.backoff import Backoff
from pigweight.sites.index_queue import (
    CANCEL_SUBJECT,
    JOBS_STREAM,
    SAMPLES_STREAM,
    SAMPLES_SUBJECT,
    WIRE_VERSION,
    WORKERS_CONSUMER,
    ensure_streams,
    job_row,
    row_json,
)
from pigweight.sites.index_source import TOKEN_HEADER
from pigweight.sites.streams import connect_until
from pigweight.store.videos import SampleRow, VideoRow
from pigweight.vision.segmenter import Segmenter

logger = logging.getLogger(__name__)


def job_source(body: dict[str, Any], shared: Path | None) -> tuple[VideoRow, Opener | None]:
    """The job's VideoRow, and how to open its file when not at that path (over HTTP)."""
    if "relative" in body:
        path = None if shared is None else shared / body["relative"]
    else:
        path = Path(body["path"])
    url = body.get("url")
    if path is not None and (url is None or path.is_file()):
        return job_row(body, path), None
    if url is None:
        raise ValueError(
            "the job names a file under INDEX_SHARED_ROOT, which is not set here, and the "
            "server sends no link to it (INDEX_SOURCE_URL)"
        )
    row = job_row(body, Path(str(body.get("relative") or body.get("path") or "recording")))
    headers = {TOKEN_HEADER: str(body.get("token", ""))}
    container = row.info.container
    return row, lambda _info: open_remote_video(str(url), container, headers)


class IndexWorker:
    """`pigweight worker`: takes index jobs one at a time until `stop` is set."""

    def __init__(
        self,
        sites: SiteSettings,
        segmenter: Segmenter,
        shared_root: Path | None = None,
        batch: int = 4,
        backoff: Backoff | None = None,
    ) -> None:
        self.sites = sites
        self.segmenter = segmenter
        self.shared_root = None if shared_root is None else Path(shared_root).resolve()
        self.batch = max(1, batch)
        self.backoff = Backoff() if backoff is None else backoff
        self.jobs_done = 0
        self.batches_sent = 0
        self._holding: int | None = None  # the video whose job is in hand
        self._cancelled = False  # ... and the server cancelled it

    async def run(self, stop: asyncio.Event, max_jobs: int | None = None) -> None:
        nc = await connect_until(stop.is_set, self.sites, "pigweight-worker", self.backoff)
        if nc is None:
            return
        try:
            js = nc.jetstream()
            await ensure_streams(js)
            await nc.subscribe(f"{CANCEL_SUBJECT}.*", cb=self._on_cancel)
            sub = await js.pull_subscribe_bind(WORKERS_CONSUMER, JOBS_STREAM)
            logger.info("worker: waiting for index jobs on %s", self.sites.nats_url)
            while not stop.is_set() and (max_jobs is None or self.jobs_done < max_jobs):
                try:
                    msgs = await sub.fetch(1, timeout=1.0)
                except (TimeoutError, NatsTimeout):
                    continue
                for msg in msgs:
                    await self._take(nc, js, msg, stop)
        finally:
            await nc.close()  # every publish was acked: nothing is left to flush

    async def _on_cancel(self, msg: Msg) -> None:
        if msg.subject == f"{CANCEL_SUBJECT}.{self._holding}":
            self._cancelled = True

    async def _take(self, nc: NATS, js: JetStreamContext, msg: Msg, stop: asyncio.Event) -> None:
        body = json.loads(msg.data)
        self._holding, self._cancelled = int(body["video_id"]), False
        try:
            await self._job(nc, js, msg, body, stop)
        except (NatsError, TimeoutError) as exc:  # the server went away mid-job
            logger.warning(
                "video %s: NATS failed mid-job (%s); the job comes back after its ack wait",
                self._holding,
                type(exc).__name__ if not str(exc) else exc,
            )
        finally:
            self._holding = None

    async def _job(
        self, nc: NATS, js: JetStreamContext, msg: Msg, body: dict[str, Any], stop: asyncio.Event
    ) -> None:
        video_id = int(body["video_id"])
        run = msg.metadata.sequence.stream  # the same on every delivery of this job
        send = _Sender(js, video_id, run, self)
        try:
            row, opener = job_source(body, self.shared_root)
        except (ValueError, KeyError, TypeError) as exc:
            await send([], None, error=str(exc))
            await msg.term()
            return
        resume = await _resume_point(js, send.subject, run)
        if resume is not None and resume > row.indexed_until_s:
            logger.info("video %d: resuming at %.3f s", video_id, resume)
            row = replace(row, indexed_until_s=resume)
        job = IndexJob(
            row,
            float(body["interval_s"]),
            [],
            int(body.get("max_side_px", INDEX_MAX_SIDE_PX)),
        )
        job.opener = opener
        try:
            if await self._batches(nc, msg, job, send, stop):
                await send([], job, done=True)
                await msg.ack()
                self.jobs_done += 1
                logger.info("video %d: indexed, %d samples", video_id, job.samples_done)
        finally:
            job.close_reader()

    async def _batches(
        self, nc: NATS, msg: Msg, job: IndexJob, send: _Sender, stop: asyncio.Event
    ) -> bool:
        """Count and publish batch after batch; False: the job ended otherwise.

        A batch is published while the next one is counted (one publish in flight, in
        order: a resume reads the last one): waiting for each PubAck before counting on cost
        an hour's job 7 % against in-process indexing."""
        video_id = send.video_id
        sending: asyncio.Task[None] | None = None
        try:
            while not job.complete:
                if self._cancelled or stop.is_set():
                    await _finish(sending)
                    await (msg.term() if self._cancelled else msg.nak())
                    await nc.flush()
                    if self._cancelled:  # nobody takes it again
                        logger.info("video %d: cancelled on the server; job dropped", video_id)
                    else:  # another worker takes it now, from what was sent
                        logger.info("video %d: stopped; job handed back", video_id)
                    return False
                picked = job.next_batch(self.batch, None)
                started = time.perf_counter()
                try:
                    _, rows = await asyncio.to_thread(count_batch, job, picked, self.segmenter)
                except Exception as exc:  # the job's top loop: the server shows the error
                    logger.exception("video %d: indexing failed", video_id)
                    await _finish(sending)
                    await send([], job, error=str(exc))
                    await msg.term()
                    return False
                body = send.body(rows, job, elapsed_s=time.perf_counter() - started)
                await _finish(sending)
                sending = asyncio.create_task(send.publish(body, msg))
            await _finish(sending)
            return True
        finally:
            if sending is not None and not sending.done():
                sending.cancel()


async def _finish(sending: asyncio.Task[None] | None) -> None:
    """The publish in flight, done (its error raised here)."""
    if sending is not None:
        await sending


class _Sender:
    """Publishes one job's batches to `pw.index.samples.<video id>`, each with a message id."""

    def __init__(self, js: JetStreamContext, video_id: int, run: int, worker: IndexWorker):
        self.js = js
        self.video_id = video_id
        self.run = run
        self.worker = worker
        self.subject = f"{SAMPLES_SUBJECT}.{video_id}"

    async def __call__(
        self,
        rows: list[SampleRow],
        job: IndexJob | None,
        done: bool = False,
        error: str | None = None,
    ) -> None:
        await self.publish(self.body(rows, job, done, error))

    def body(
        self,
        rows: list[SampleRow],
        job: IndexJob | None,
        done: bool = False,
        error: str | None = None,
        elapsed_s: float = 0.0,
    ) -> dict[str, Any]:
        """The batch's message, as the job stands now (the next batch moves it on)."""
        return {
            "v": WIRE_VERSION,
            "video_id": self.video_id,
            "job": self.run,
            "rows": [row_json(r) for r in rows],
            "indexed_until_s": 0.0 if job is None else job.indexed_until_s,
            "samples_done": 0 if job is None else job.samples_done,
            "samples_total": 0 if job is None else len(job.times),
            "done": done,
            "error": error,
            "elapsed_s": round(elapsed_s, 4),
        }

    async def publish(self, body: dict[str, Any], job_msg: Msg | None = None) -> None:
        """Publish `body` and wait for its PubAck; `job_msg`: then tell JetStream the job is
        still being worked on."""
        until = float(body["indexed_until_s"])
        tag = "done" if body["done"] else "error" if body["error"] else f"{until:.3f}"
        await self.js.publish(
            self.subject,
            json.dumps(body, separators=(",", ":")).encode(),
            stream=SAMPLES_STREAM,
            headers={"Nats-Msg-Id": f"{self.video_id}-{self.run}-{tag}"},
        )
        self.worker.batches_sent += 1
        if job_msg is not None:
            await job_msg.in_progress()


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

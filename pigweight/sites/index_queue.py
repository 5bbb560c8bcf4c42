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
video's samples subject), not from zero. The worker is `index_worker.IndexWorker`.

With INDEX_SOURCE_URL set, a job also carries a link to its file on this server and the
token that opens it (`index_source.py`), for workers that do not see the file on a disk.
A cancel purges the video's job from the queue and publishes `pw.index.cancel.<video id>`
(core NATS): the worker that holds the job drops it after the batch in hand (`term`: it is
not delivered again). Samples that still come for a cancelled video are not stored, and
the cancel is published again: a worker that missed it hears it after its next batch.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from nats.aio.client import Client as NATS
from nats.errors import Error as NatsError
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext, api
from nats.js.errors import APIError, NotFoundError
from sqlalchemy import Engine

from pigweight.media.probe import VideoInfo
from pigweight.pipeline.indexer import VideoIndexer
from pigweight.settings import SiteSettings
from pigweight.sites.backoff import Backoff
from pigweight.sites.index_source import JobTokens, file_url
from pigweight.sites.streams import connect_until, describe
from pigweight.store import videos as repo
from pigweight.store.videos import SampleRow, VideoRow
from pigweight.vision.segmenter import Segmenter

logger = logging.getLogger(__name__)

JOBS_STREAM = "PW_INDEX_JOBS"
JOBS_SUBJECT = "pw.index.jobs"  # .<video id>
SAMPLES_STREAM = "PW_INDEX_SAMPLES"
SAMPLES_SUBJECT = "pw.index.samples"  # .<video id>
CANCEL_SUBJECT = "pw.index.cancel"  # .<video id>, core NATS: the worker holding it stops
WORKERS_CONSUMER = "workers"
SERVER_CONSUMER = "indexer"
# A job whose worker said nothing for this long goes to another worker. A worker says it is
# alive after every batch (a few samples: well under a second at the default size).
JOB_ACK_WAIT_S = 30.0
SAMPLES_MAX_AGE_S = 7 * 24 * 3600.0  # the server takes them within seconds; a resume reads them
SAMPLES_ACK_WAIT_S = 5.0
WIRE_VERSION = 1


# --- the wire ------------------------------------------------------------------------------


def job_message(
    row: VideoRow,
    interval_s: float,
    max_side_px: int,
    shared: Path | None,
    link: dict[str, str] | None = None,
) -> bytes:
    """One video's job: where its file is, its probe, the sampling and where to start;
    `link`: the file's `url` on this server and the `token` that opens it."""
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
        **(link or {}),
        "info": info,
        "interval_s": interval_s,
        "max_side_px": max_side_px,
        "indexed_until_s": row.indexed_until_s,
    }
    return json.dumps(body, separators=(",", ":")).encode()


def job_row(body: dict[str, Any], path: Path) -> VideoRow:
    """The worker's VideoRow of a job, its file at `path` on this machine."""
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


def row_json(r: SampleRow) -> dict[str, Any]:
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
    their cancels, and stores the samples that come back; queries, progress and on-demand
    samples as before. Not done here: workers make no timeline previews (thumbs)."""

    def __init__(
        self,
        engine: Engine,
        segmenter: Callable[[], Segmenter],
        sites: SiteSettings,
        shared_root: Path | None,
        source: tuple[str, Path] | None = None,
        **kwargs: Any,
    ) -> None:
        """`source`: INDEX_SOURCE_URL and DATA_DIR (its token key), to send file links."""
        super().__init__(engine, segmenter, **kwargs)
        self.sites = sites
        self.shared_root = None if shared_root is None else Path(shared_root).resolve()
        self.source_url = None if source is None else source[0]
        self.tokens = None if source is None else JobTokens(source[1])
        self._sent: set[int] = set()
        self._cancels: set[int] = set()  # to purge and announce, under _cond

    def cancel(self, video_id: int) -> None:
        """Stop indexing this video: its job leaves the queue, its worker drops it."""
        super().cancel(video_id)
        with self._cond:
            self._cancels.add(video_id)

    def _run(self) -> None:
        asyncio.run(self._serve())
        self._close_jobs()

    async def _serve(self) -> None:
        nc = await connect_until(lambda: self._stopping, self.sites, "pigweight-indexer", Backoff())
        if nc is None:
            return
        try:
            js = nc.jetstream()
            await ensure_streams(js)
            sub = await js.pull_subscribe_bind(SERVER_CONSUMER, SAMPLES_STREAM)
            while not self._stopping:
                await self._announce_cancels(nc, js)
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

    async def _announce_cancels(self, nc: NATS, js: JetStreamContext) -> None:
        with self._cond:
            cancels, self._cancels = self._cancels, set()
        for video_id in cancels:
            # Out of the queue (a worker that has not taken it never will; queued again,
            # it is a new job with a new token), then to the worker that holds it.
            try:
                await js.purge_stream(JOBS_STREAM, subject=f"{JOBS_SUBJECT}.{video_id}")
                await nc.publish(f"{CANCEL_SUBJECT}.{video_id}", b"")
            except (NatsError, TimeoutError) as exc:  # NATS away: again on the next round
                logger.warning("video %d: cancel not sent yet (%s)", video_id, describe(exc))
                with self._cond:
                    self._cancels.add(video_id)
                continue
            self._sent.discard(video_id)
            logger.info("video %d: index job cancelled; its worker is told", video_id)

    async def _dispatch(self, js: JetStreamContext) -> None:
        with self._cond:
            queued = set(self._queue)
            todo = [v for v in self._queue if v not in self._sent]
        self._sent &= queued  # a cancelled video left the queue: queued again, sent again
        for video_id in todo:
            with self.engine.connect() as conn:
                row = repo.get_video(conn, video_id)
            if row is None:
                self._unqueue(video_id)
                continue
            body = job_message(
                row, self.interval_s, self.max_side_px, self.shared_root, self._link(video_id)
            )
            try:
                await js.publish(f"{JOBS_SUBJECT}.{video_id}", body, stream=JOBS_STREAM)
                logger.info("video %d: index job queued for the workers", video_id)
            except APIError as exc:  # its job is still in the queue: nothing to add
                logger.info("video %d: index job already queued (%s)", video_id, exc)
            self._sent.add(video_id)

    def _link(self, video_id: int) -> dict[str, str] | None:
        if self.source_url is None or self.tokens is None:
            return None
        return {"url": file_url(self.source_url, video_id), "token": self.tokens.issue(video_id)}

    def _apply(self, body: dict[str, Any]) -> None:
        """Store one batch a worker sent; a repeat replaces the same rows."""
        video_id = int(body["video_id"])
        rows = [_row_of(d) for d in body["rows"]]
        with self.engine.begin() as conn:
            row = repo.get_video(conn, video_id)
            if row is None or row.index_state not in repo.PENDING_STATES:
                self._late(video_id, None if row is None else row.index_state)
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
                    conn, video_id, "error", error=str(body["error"]), only_from=repo.PENDING_STATES
                )
            elif body.get("done"):
                repo.set_index_state(conn, video_id, "done", only_from=repo.PENDING_STATES)
            else:
                repo.set_index_state(conn, video_id, "indexing", only_from=repo.PENDING_STATES)
        self.samples.add(video_id, rows)
        if body.get("done") or body.get("error"):
            self._unqueue(video_id)
            self._sent.discard(video_id)
            logger.info("video %d: indexed by a worker", video_id)
        elif rows and body.get("elapsed_s"):
            spacing_s = row.info.duration_s / max(int(body["samples_total"]), 1)
            self._measure(video_id, len(rows), spacing_s, float(body["elapsed_s"]))

    def _late(self, video_id: int, state: str | None) -> None:
        """A batch for a video with no pending job: not stored; a cancelled video's worker
        (which missed the cancel, or sent this before it) is told again."""
        logger.debug("video %d: a worker's batch dropped (the video is %s)", video_id, state)
        if state == "cancelled":
            with self._cond:
                self._cancels.add(video_id)

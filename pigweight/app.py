"""create_app(settings): the one place where PigWeight's server is wired together."""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from fastapi import FastAPI

from pigweight import __version__
from pigweight.api import (
    archive_weighing,
    auth,
    batches,
    cameras,
    central,
    central_group,
    central_models,
    debug,
    health,
    images,
    index_jobs,
    live,
    metrics,
    pages,
    scales,
    teaching,
    video_files,
    video_uploads,
    webrtc,
    weight,
)
from pigweight.api.body_limits import BodyLimitMiddleware, body_limits
from pigweight.api.errors import install_error_handlers, refusal_response
from pigweight.api.file_response import RangeStaticFiles
from pigweight.api.multipart_check import MultipartCheck
from pigweight.auth.gate import AuthGate, AuthState
from pigweight.cameras import load_cameras
from pigweight.metrics import AppMetrics
from pigweight.perf import stage
from pigweight.pipeline.archive import Archive
from pigweight.pipeline.camera_worker import SourceFactory
from pigweight.pipeline.live import LiveServices
from pigweight.pipeline.sources import camera_source_factory
from pigweight.settings import Settings
from pigweight.sites.central import CentralIngest
from pigweight.sites.central_book import CentralBook
from pigweight.sites.hub_link import HubLink
from pigweight.sites.journal import SiteJournal
from pigweight.sites.publisher import SitePublisher
from pigweight.store.db import open_database
from pigweight.streaming.webrtc import WebRTCService
from pigweight.teaching.from_central import ModelReceiver
from pigweight.teaching.labels_to_central import LabelSender
from pigweight.teaching.service import Teaching
from pigweight.vision.lazy_segmenter import LazySegmenter
from pigweight.vision.segmenter import create_segmenter

logger = logging.getLogger(__name__)

# Photos decoded and segmented at once; more would only queue on the CPU and delay the
# live cameras' inference, which shares it.
PHOTO_CONCURRENCY = 2


def create_app(settings: Settings, source_factory: SourceFactory | None = None) -> FastAPI:
    """A FastAPI app serving the API, the live cameras and the web page for these settings.

    `source_factory`: how a camera's frames are read (default: RTSP or a file, with the
    camera host rules of CAMERA_ALLOW_HOSTS); tests and benchmarks pass their own.
    """
    started = time.perf_counter()
    holder = LazySegmenter(settings.vision, create_segmenter)
    live_services = LiveServices.build(
        settings,
        load_cameras(settings),
        holder,
        lambda vision: LazySegmenter(vision, create_segmenter),
        source_factory or camera_source_factory(settings.cameras),
    )
    archive = Archive(settings.archive, settings.server.data_dir, holder.get, settings.sites)
    # The labelling queue, the farm's models (which one counts on each camera: asked on every
    # frame, so a switch needs no restart) and the trainer.
    teacher = Teaching(settings.teaching, settings.server.data_dir, live_services.hub)
    live_services.manager.model_of = teacher.models.active_path
    teacher.models.prepare = live_services.manager.prepare_model
    live_services.keep_frame = teacher.after_weighing
    webrtc_service = WebRTCService(settings.webrtc, live_services.hub)
    access = AuthState(settings.server.data_dir)
    # Issue 21: a site's changes go to its outbox in their own transaction, and from there to
    # its NATS server; the central takes the sites' streams. Neither unless configured.
    publisher: SitePublisher | None = None
    receiver: ModelReceiver | None = None
    if settings.sites.site_id:
        journal = SiteJournal(settings.sites.site_id)
        live_services.records.set_journal(journal)
        manager = live_services.manager
        publisher = SitePublisher(
            settings.sites,
            journal,
            lambda: {c: s.state.value for c, s in manager.statuses().items()},
        )
        # Models the central activates for this site (issue 21 part 3): fetched, checked, used.
        # Labelled frames go up the same link, for a group model.
        site_cameras = lambda: sorted(manager.statuses())  # noqa: E731
        receiver = ModelReceiver(
            settings.sites,
            teacher.models,
            site_cameras,
            labels=LabelSender(settings.sites.site_id, teacher.queue, site_cameras),
        )
    ingest = CentralIngest(settings.sites) if settings.sites.central else None
    # The central API's one link to the hub (models out, labelled frames in).
    hub_link = HubLink(settings.sites) if settings.sites.central else None
    settings_ms = (time.perf_counter() - started) * 1000.0

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        live_services.open_perf_log(settings_ms)
        # The app's one database, opened here and handed to every service that keeps
        # something in it; closed below once they all stopped.
        with stage("database", live_services.timings_ms):
            engine = await anyio.to_thread.run_sync(
                open_database, settings.server.data_dir, settings.server.database_url
            )
        # PRELOAD_MODEL: the segmenters load and warm up here, before the server is ready.
        await live_services.startup(engine)
        # Users: until they are read every request waits outside.
        await anyio.to_thread.run_sync(access.attach, engine)
        # The archive's indexer resumes the jobs a restart interrupted.
        await anyio.to_thread.run_sync(archive.start, engine)
        # Which model counts where, and a training a restart interrupted (it resumes).
        await anyio.to_thread.run_sync(teacher.start, engine)
        if publisher is not None:
            await publisher.start(engine)
        if receiver is not None:
            receiver.start()
        if ingest is not None:
            app.state.central_book = CentralBook(engine)  # /api/central/* and the page
            await ingest.start(engine)
        if hub_link is not None:
            hub_link.start()
        webrtc_service.start()
        # What start-up built lives as long as the server: out of the garbage collector's
        # sight, a full collection no longer walks it (pauses of several ms under load).
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            await webrtc_service.stop()  # peers first: their tracks read the cameras
            if ingest is not None:
                await ingest.stop()
            if hub_link is not None:
                await hub_link.stop()
            if publisher is not None:
                await publisher.stop()
            if receiver is not None:
                await receiver.stop()
            await anyio.to_thread.run_sync(teacher.stop)
            await anyio.to_thread.run_sync(archive.stop)
            await live_services.shutdown()
            engine.dispose()

    # No /docs or /redoc: their pages load scripts from a CDN a farm PC cannot reach, and a
    # blank page helps nobody; the schema itself stays at /openapi.json (docs/api.md).
    app = FastAPI(
        title="PigWeight",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        # Forms FastAPI parses (the photo): one file and a few small fields, not thousands of
        # parts each spooled to a temporary file (Starlette allows 1,000 files and fields).
        form_limits={"max_files": 4, "max_fields": 16, "max_part_size": 64 * 1024},
    )
    app.state.settings = settings
    app.state.lazy_segmenter = holder
    app.state.live = live_services
    app.state.archive = archive
    app.state.teaching = teacher
    app.state.webrtc = webrtc_service
    app.state.auth = access
    app.state.site_publisher = publisher  # its status() for /api/health and the page
    app.state.central_ingest = ingest
    app.state.central_hub = hub_link
    app.state.model_receiver = receiver  # the model the central sent: /api/health
    app.state.central_book = None  # made in the lifespan on the central
    app.state.login_html = auth.render_login(settings.server.ui_language)
    app.state.metrics = AppMetrics(live_services, archive)
    app.state.cpu_limiter = anyio.CapacityLimiter(PHOTO_CONCURRENCY)
    app.state.index_html = pages.render_index(settings)
    install_error_handlers(app)
    # Photos are capped by MAX_UPLOAD_MB here, JSON by MAX_JSON_BODY_BYTES; videos stream to
    # disk under their own cap.
    # A malformed form is answered 422 bad_multipart before a route reads it (inside the
    # body limit, which counts the bytes first).
    app.add_middleware(MultipartCheck)
    app.add_middleware(BodyLimitMiddleware, limit_for=body_limits(settings.limits))
    app.add_middleware(video_files.CountAtTimeFastPath, archive=archive)
    # Outermost: nothing, not even the fast path above, answers before the gate.
    app.add_middleware(AuthGate, state=access, answer=refusal_response)
    for router in (
        health.router,
        central.router,
        central_models.router,
        central_group.router,
        images.router,
        cameras.router,
        live.router,
        debug.router,
        weight.router,
        batches.router,
        teaching.router,
        video_uploads.router,
        archive_weighing.router,
        video_files.router,
        video_files.ws_router,
        index_jobs.router,
        webrtc.router,
        scales.router,
        metrics.router,
        auth.router,
        auth.page_router,
    ):
        app.include_router(router)
    app.include_router(pages.router)
    app.mount("/static", RangeStaticFiles(directory=pages.WEB_DIR), name="static")
    return app

"""create_app(settings): the one place where PigWeight's server is wired together."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from pigweight import __version__
from pigweight.api import health, images, pages
from pigweight.api.deps import SegmenterHolder
from pigweight.api.errors import install_error_handlers
from pigweight.api.uploads import UploadLimitMiddleware
from pigweight.errors import ModelLoadError
from pigweight.settings import Settings
from pigweight.vision.segmenter import create_segmenter

logger = logging.getLogger(__name__)

# Photos decoded and segmented at once; more would only queue on the CPU and delay the
# live cameras' inference, which shares it.
PHOTO_CONCURRENCY = 2


def create_app(settings: Settings) -> FastAPI:
    """A FastAPI app serving the API and the web page for these settings."""
    holder = SegmenterHolder(settings, create_segmenter)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.preload_model:
            await _preload(holder)
        yield

    app = FastAPI(title="PigWeight", version=__version__, lifespan=lifespan)
    app.state.settings = settings
    app.state.segmenter_holder = holder
    app.state.cpu_limiter = anyio.CapacityLimiter(PHOTO_CONCURRENCY)
    app.state.index_html = pages.render_index(settings)
    install_error_handlers(app)
    app.add_middleware(UploadLimitMiddleware, limit_mb=settings.max_upload_mb)
    app.include_router(health.router)
    app.include_router(images.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=pages.WEB_DIR), name="static")
    return app


async def _preload(holder: SegmenterHolder) -> None:
    try:
        await anyio.to_thread.run_sync(holder.warm_up)
    except ModelLoadError as exc:
        # Keep serving: the page and /healthz (ready=false) tell the operator what to fix,
        # and the next photo retries the load once the model file is in place.
        logger.error("segmenter not loaded at startup: %s", exc)

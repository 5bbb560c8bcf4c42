"""What routes receive from the app: settings, the segmenter, the CPU limiter.

Everything here is built by `create_app()` and stored on `app.state`; routes get it through
the `Annotated` aliases at the bottom, never from module globals.
"""

from __future__ import annotations

import logging
from typing import Annotated

import anyio
from fastapi import Depends, Path, Query, Request

from pigweight.settings import Settings
from pigweight.vision.lazy_segmenter import LazySegmenter

logger = logging.getLogger(__name__)


def get_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    settings: Settings = request.app.state.settings
    return settings


def get_lazy_segmenter(request: Request) -> LazySegmenter:
    """The app's one segmenter holder."""
    holder: LazySegmenter = request.app.state.lazy_segmenter
    return holder


def get_cpu_limiter(request: Request) -> anyio.CapacityLimiter:
    """Bounds how many photos are decoded and segmented at once (threads, not the loop)."""
    limiter: anyio.CapacityLimiter = request.app.state.cpu_limiter
    return limiter


def actor_name(request: Request) -> str:
    """Who asked: the logged-in user's name, or "local" while no user exists (the gate lets
    everyone in then): what a model, a label or a training job records as its author."""
    user = getattr(request.state, "user", None)
    return str(user.name) if user is not None else "local"


# SQLite keeps 64-bit integers: a larger id names no row and must not reach the driver (its
# OverflowError would be a 500); bounded here, it is a 422 that says so.
MAX_ROW_ID = 2**63 - 1
RowIdPath = Annotated[int, Path(ge=0, le=MAX_ROW_ID)]
RowIdQuery = Annotated[int, Query(alias="id", ge=0, le=MAX_ROW_ID)]

SettingsDep = Annotated[Settings, Depends(get_settings)]
LazySegmenterDep = Annotated[LazySegmenter, Depends(get_lazy_segmenter)]
CpuLimiterDep = Annotated[anyio.CapacityLimiter, Depends(get_cpu_limiter)]

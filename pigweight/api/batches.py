"""Batches: /api/batches. A batch groups a pen's weighings (weighing/batches.py)."""

from __future__ import annotations

from typing import Annotated, Literal

import anyio
from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from pigweight.api.deps import RowIdPath
from pigweight.api.live_deps import LiveDep, find_worker
from pigweight.api.weight_schemas import BatchOut
from pigweight.weighing.batches import MAX_HEAD, MAX_NAME_CHARS, MAX_TARGET_KG, Batches

router = APIRouter(tags=["batches"])
_WRITERS = anyio.CapacityLimiter(4)


class BatchIn(BaseModel):
    """POST /api/batches: a new batch on a camera."""

    model_config = ConfigDict(extra="forbid")

    camera_id: str = Field(min_length=1, max_length=64, description="Camera over the scale.")
    name: str = Field(max_length=200, description=f"Pen or group, up to {MAX_NAME_CHARS} chars.")
    expected_head: int | None = Field(None, description=f"Animals in the group, 1-{MAX_HEAD}.")
    target_avg_kg: float | None = Field(
        None, description=f"Weight a head should have, kg (up to {MAX_TARGET_KG:g})."
    )
    note: str | None = Field(None, max_length=2000)


class BatchChange(BaseModel):
    """PATCH /api/batches/{id}: what changes; null clears the head count, target or note."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, max_length=200)
    expected_head: int | None = None
    target_avg_kg: float | None = None
    note: str | None = Field(None, max_length=2000)


class BatchStarted(BatchOut):
    closed_batch_id: int | None = Field(
        None, description="The camera's batch this one closed, if one was open."
    )


class BatchPage(BaseModel):
    batches: list[BatchOut]
    total: int
    limit: int
    offset: int


def _batches(request: Request) -> Batches:
    batches: Batches = request.app.state.live.records.batches
    return batches


@router.get("/api/batches", response_model=BatchPage)
async def list_batches(
    request: Request,
    camera: Annotated[str | None, Query(description="Only this camera's batches.")] = None,
    state: Annotated[Literal["open", "closed", "all"], Query()] = "all",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> BatchPage:
    """Batches, open ones first, then the most recent, with their figures."""
    found, total = await anyio.to_thread.run_sync(
        _batches(request).page, camera, state, limit, offset
    )
    return BatchPage(
        batches=[BatchOut.of(b) for b in found], total=total, limit=limit, offset=offset
    )


@router.post("/api/batches", response_model=BatchStarted, status_code=201)
async def start_batch(request: Request, body: BatchIn, live: LiveDep) -> BatchStarted:
    """Start a batch on a camera: its weighings belong to it from now on. The batch open
    on that camera before is closed."""
    camera = find_worker(live, body.camera_id).config.id  # 404 for an unknown camera
    batch, closed = await anyio.to_thread.run_sync(
        lambda: _batches(request).begin(
            camera, body.name, body.expected_head, body.target_avg_kg, body.note or ""
        ),
        limiter=_WRITERS,
    )
    return BatchStarted(**BatchOut.of(batch).model_dump(), closed_batch_id=closed)


@router.get("/api/batches/{batch_id}", response_model=BatchOut)
async def get_batch(request: Request, batch_id: RowIdPath) -> BatchOut:
    return BatchOut.of(await anyio.to_thread.run_sync(_batches(request).get, batch_id))


@router.patch("/api/batches/{batch_id}", response_model=BatchOut)
async def change_batch(request: Request, batch_id: RowIdPath, body: BatchChange) -> BatchOut:
    """Rename it, or change its expected head count, target weight or note."""
    values = body.model_dump(include=body.model_fields_set)
    batch = await anyio.to_thread.run_sync(
        _batches(request).change, batch_id, values, limiter=_WRITERS
    )
    return BatchOut.of(batch)


@router.post("/api/batches/{batch_id}/close", response_model=BatchOut)
async def close_batch(request: Request, batch_id: RowIdPath) -> BatchOut:
    """The batch is done: its camera's weighings no longer join it."""
    batch = await anyio.to_thread.run_sync(_batches(request).close, batch_id, limiter=_WRITERS)
    return BatchOut.of(batch)


@router.post("/api/batches/{batch_id}/reopen", response_model=BatchStarted)
async def reopen_batch(request: Request, batch_id: RowIdPath) -> BatchStarted:
    """The batch takes its camera's weighings again; the batch open there is closed."""
    batch, closed = await anyio.to_thread.run_sync(
        _batches(request).reopen, batch_id, limiter=_WRITERS
    )
    return BatchStarted(**BatchOut.of(batch).model_dump(), closed_batch_id=closed)

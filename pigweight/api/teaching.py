"""Teaching the counter (issue 19): /api/labelling, /api/models, /api/training.

The frames worth labelling and their versioned labels (teaching/frames.py), the farm's models
and which one counts on each camera (teaching/models.py), and fine-tunes in their own process
(teaching/jobs.py). CPU work (pre-drawing the model's boxes, measuring an imported model)
runs in worker threads under the app's CPU limiter; files move in threads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import anyio
from fastapi import APIRouter, File, Query, Request, Response, UploadFile
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field

from pigweight.api.body_limits import TEACHING_IMPORT_MB, read_upload
from pigweight.api.deps import CpuLimiterDep, RowIdPath, actor_name
from pigweight.api.live_deps import LiveDep, find_worker
from pigweight.api.refusals import NoFrame, RequestRefused
from pigweight.teaching.boxes import MAX_BOXES
from pigweight.teaching.folder import temporary_dir, write_folder, zip_folder
from pigweight.teaching.frames import LabelFrame
from pigweight.teaching.jobs import IMAGE_SIZES, MAX_STEPS, can_train
from pigweight.teaching.models import MAX_MODEL_BYTES
from pigweight.teaching.service import Teaching

router = APIRouter(tags=["teaching"])


def _teaching(request: Request) -> Teaching:
    teaching: Teaching = request.app.state.teaching
    return teaching


def _camera(live: LiveDep, camera_id: str) -> str:
    return find_worker(live, camera_id).config.id  # 404 naming the cameras there are


# --- labelling -------------------------------------------------------------------------------


class LabelsIn(BaseModel):
    """PUT …/labels: the boxes of every animal on the frame, and the version they were made
    from (0 when nobody had labelled it)."""

    model_config = ConfigDict(extra="forbid")

    base_version: int = Field(ge=0, le=1_000_000)
    boxes: list[list[float]] = Field(
        max_length=MAX_BOXES, description="[[x1, y1, x2, y2], ...] in 0-1 of the frame."
    )


class AddFrameIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: Literal["live", "archive"] = Field(
        "live",
        description="'live': the camera's last counted frame; 'archive': the frame of a "
        "recording at t (video_id and t).",
    )
    video_id: int | None = Field(None, ge=1, le=2**62, description="The recording (archive).")
    t: float | None = Field(None, ge=0, le=10**7, description="Seconds into it (archive).")


@router.get("/api/labelling/{camera_id}/frames")
async def list_frames(
    request: Request,
    camera_id: str,
    live: LiveDep,
    status: Literal["todo", "labelled", "all"] = "todo",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict[str, Any]:
    """A camera's frames in the labelling queue, newest first, and the queue's figures."""
    camera = _camera(live, camera_id)
    frames, figures = await anyio.to_thread.run_sync(
        _teaching(request).queue.frames, camera, status, limit, offset
    )
    return {"frames": [f.public() for f in frames], **figures}


@router.get("/api/labelling/frames/{frame_id}")
async def get_frame(
    request: Request, frame_id: RowIdPath, limiter: CpuLimiterDep, live: LiveDep
) -> dict[str, Any]:
    """One frame: its newest labels, or the camera's model's boxes pre-drawn when it has
    none; its platform zone and its history."""
    return await _frame_detail(request, frame_id, limiter, live)


async def _frame_detail(
    request: Request, frame_id: int, limiter: Any, live: LiveDep
) -> dict[str, Any]:
    teaching = _teaching(request)
    frame = await anyio.to_thread.run_sync(teaching.queue.frame, frame_id)
    if frame.boxes is not None:
        boxes, boxes_from = [list(b) for b in frame.boxes], "labels"
    else:
        boxes = await anyio.to_thread.run_sync(teaching.pre_drawn, frame, limiter=limiter)
        boxes_from = "model"
    history = await anyio.to_thread.run_sync(teaching.queue.history, frame_id)
    zone = None
    if frame.camera in live.manager.cameras:
        found = live.manager.zones.zone(frame.camera)
        zone = None if found is None else found.to_json()
    return {
        **frame.public(),
        "boxes": boxes,
        "boxes_from": boxes_from,
        "zone": zone,
        "history": [
            {
                "version": v.version,
                "user": v.user,
                "ts": v.ts,
                "count": v.count,
                "added": v.added,
                "removed": v.removed,
                "moved": v.moved,
            }
            for v in history
        ],
    }


@router.get("/api/labelling/frames/{frame_id}/image.jpg", response_class=FileResponse)
async def frame_image(request: Request, frame_id: RowIdPath) -> FileResponse:
    """The frame as the camera saw it (no drawings)."""
    teaching = _teaching(request)
    frame = await anyio.to_thread.run_sync(teaching.queue.frame, frame_id)
    path = teaching.queue.image_path(frame)
    if not await anyio.to_thread.run_sync(path.is_file):
        raise NoFrame(f"frame {frame_id}'s picture is missing on disk")
    return FileResponse(path, media_type="image/jpeg", headers={"Cache-Control": "max-age=3600"})


@router.put("/api/labelling/frames/{frame_id}/labels")
async def save_labels(
    request: Request, frame_id: RowIdPath, body: LabelsIn, limiter: CpuLimiterDep, live: LiveDep
) -> dict[str, Any]:
    """Save the frame's boxes as a new version; 409 label_conflict when someone saved
    another version since `base_version`."""
    teaching = _teaching(request)
    await anyio.to_thread.run_sync(
        teaching.save_labels, frame_id, body.base_version, body.boxes, actor_name(request)
    )
    return await _frame_detail(request, frame_id, limiter, live)


@router.delete("/api/labelling/frames/{frame_id}", status_code=204)
async def delete_frame(request: Request, frame_id: RowIdPath) -> Response:
    """Drop a frame and its labels (a picture not worth keeping)."""
    await anyio.to_thread.run_sync(_teaching(request).queue.remove, frame_id)
    return Response(status_code=204)


@router.post("/api/labelling/{camera_id}/frames", status_code=201)
async def add_frame(
    request: Request,
    camera_id: str,
    live: LiveDep,
    limiter: CpuLimiterDep,
    body: AddFrameIn | None = None,
) -> dict[str, Any]:
    """Keep the camera's last counted frame (raw), or a recording's frame, for labelling."""
    camera = _camera(live, camera_id)
    body = body or AddFrameIn.model_validate({})
    teaching = _teaching(request)
    if body.source == "archive":
        if body.video_id is None or body.t is None:
            raise RequestRefused("source 'archive' needs video_id and t (seconds)")
        archive = request.app.state.archive
        frame_t, image = await anyio.to_thread.run_sync(
            archive.raw_frame, body.video_id, body.t, limiter=limiter
        )
        name = f"{archive.video(body.video_id).name} @ {frame_t:.2f} s"
        added = await anyio.to_thread.run_sync(
            lambda: teaching.queue.add(camera, image, "added", source_name=name[:255])
        )
        return added.public()
    frame: LabelFrame | None = await anyio.to_thread.run_sync(teaching.keep_live, camera, "added")
    if frame is None:
        raise NoFrame(f"camera {camera} has shown no frame yet: start it and wait for its picture")
    return frame.public()


@router.get("/api/labelling/{camera_id}/export.zip")
async def export_labels(request: Request, camera_id: str, live: LiveDep) -> Response:
    """The camera's labelled frames as a YOLO folder, zipped (`pigweight train` reads it)."""
    camera = _camera(live, camera_id)
    teaching = _teaching(request)

    def build() -> bytes:
        with temporary_dir(teaching.data_dir / "tmp") as tmp:
            root = Path(tmp) / f"{camera}-labels"
            write_folder(root, teaching.queue.rows(teaching.queue.split(camera)))
            return zip_folder(root)

    data = await anyio.to_thread.run_sync(build)
    return Response(
        data,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{camera}-labels.zip"'},
    )


@router.post("/api/labelling/{camera_id}/import")
async def import_labels(
    request: Request,
    camera_id: str,
    live: LiveDep,
    file: Annotated[UploadFile, File(description="A zipped labelled folder (YOLO format).")],
) -> dict[str, Any]:
    """Frames and labels made elsewhere (CVAT, Label Studio, an export of ours)."""
    camera = _camera(live, camera_id)
    data = await read_upload(file, TEACHING_IMPORT_MB)
    teaching = _teaching(request)
    return await anyio.to_thread.run_sync(teaching.import_zip, camera, data, actor_name(request))


# --- models ----------------------------------------------------------------------------------


class ActivateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model_id: str = Field(min_length=1, max_length=64)


@router.get("/api/models")
async def list_models(request: Request, live: LiveDep, camera: str) -> dict[str, Any]:
    """The camera's models (cards, figures), the active one, and its switches."""
    camera_id = _camera(live, camera)
    return await anyio.to_thread.run_sync(_teaching(request).overview, camera_id)


@router.get("/api/models/{model_id}/comparison")
async def model_comparison(request: Request, model_id: str) -> dict[str, Any]:
    """The model beside the one it was compared with, on every held-out frame."""
    return await anyio.to_thread.run_sync(_teaching(request).models.comparison, model_id)


@router.post("/api/models/{camera_id}/activate")
async def activate_model(
    request: Request, camera_id: str, body: ActivateIn, live: LiveDep
) -> dict[str, Any]:
    """Count with this model from the next frame on (no restart); 409 when it counts worse
    than the active one on the held-out frames, or was never measured there."""
    camera = _camera(live, camera_id)
    teaching = _teaching(request)
    await anyio.to_thread.run_sync(
        teaching.models.activate, camera, body.model_id, actor_name(request)
    )
    return await anyio.to_thread.run_sync(teaching.overview, camera)


@router.post("/api/models/{camera_id}/rollback")
async def rollback_model(request: Request, camera_id: str, live: LiveDep) -> dict[str, Any]:
    """Count with the model that counted before the active one."""
    camera = _camera(live, camera_id)
    teaching = _teaching(request)
    await anyio.to_thread.run_sync(teaching.models.rollback, camera, actor_name(request))
    return await anyio.to_thread.run_sync(teaching.overview, camera)


@router.post("/api/models/{camera_id}/compare")
async def compare_model(
    request: Request, camera_id: str, body: ActivateIn, live: LiveDep, limiter: CpuLimiterDep
) -> dict[str, Any]:
    """Measure a model again beside the camera's active one on its held-out frames."""
    camera = _camera(live, camera_id)
    teaching = _teaching(request)
    await anyio.to_thread.run_sync(teaching.evaluate, camera, body.model_id, limiter=limiter)
    return await anyio.to_thread.run_sync(teaching.overview, camera)


@router.post("/api/models/{camera_id}/import", status_code=201)
async def import_model(
    request: Request,
    camera_id: str,
    live: LiveDep,
    limiter: CpuLimiterDep,
    file: Annotated[UploadFile, File(description="An ONNX pig detector (one class: pig).")],
) -> dict[str, Any]:
    """Keep a model trained elsewhere once it is checked (ONNX, a YOLO detect layout, one
    class or one named pig) and measured on the camera's held-out frames."""
    camera = _camera(live, camera_id)
    data = await read_upload(file, MAX_MODEL_BYTES / 1024 / 1024)
    teaching = _teaching(request)
    model_id, _card = await anyio.to_thread.run_sync(
        teaching.models.add_file, camera, data, file.filename or "model.onnx", actor_name(request)
    )
    await anyio.to_thread.run_sync(teaching.evaluate, camera, model_id, limiter=limiter)
    overview = await anyio.to_thread.run_sync(teaching.overview, camera)
    return next(c for c in overview["models"] if c["id"] == model_id)


# --- training --------------------------------------------------------------------------------


class TrainingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    steps: int = Field(300, ge=1, le=MAX_STEPS, description="Optimiser steps of 8 frames.")
    imgsz: int = Field(416, description=f"Network input side: {', '.join(map(str, IMAGE_SIZES))}.")


@router.post("/api/training/{camera_id}", status_code=202)
async def start_training(
    request: Request, camera_id: str, live: LiveDep, body: TrainingIn | None = None
) -> dict[str, Any]:
    """Fine-tune the camera's model on its labelled frames (the newest fifth held out), in a
    background process; 409 training_running while another runs."""
    camera = _camera(live, camera_id)
    body = body or TrainingIn.model_validate({})
    trainer = _teaching(request).trainer
    return await anyio.to_thread.run_sync(
        trainer.begin, camera, body.steps, body.imgsz, actor_name(request)
    )


@router.get("/api/training")
async def training_status(request: Request, camera: str | None = None) -> dict[str, Any]:
    """The running training, else the camera's last one (null: none yet); `available`:
    whether this server can train at all (torch installed)."""
    job = await anyio.to_thread.run_sync(_teaching(request).trainer.latest, camera)
    return {"job": job, "available": can_train()}


@router.post("/api/training/{job_id}/cancel")
async def cancel_training(request: Request, job_id: RowIdPath) -> dict[str, Any]:
    """Stop a running training; what it learnt so far is dropped."""
    return await anyio.to_thread.run_sync(_teaching(request).trainer.cancel, job_id)

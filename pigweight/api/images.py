"""POST /api/count_image: a photo in, the count and the overlay out."""

from __future__ import annotations

import logging
from typing import Annotated

import anyio
from fastapi import APIRouter, File, Form, UploadFile

from pigweight.api.body_limits import read_upload
from pigweight.api.deps import CpuLimiterDep, LazySegmenterDep, SettingsDep
from pigweight.api.schemas import ErrorPublic, PhotoCountPublic
from pigweight.counting.photo import PhotoCount, count_photo
from pigweight.zones import zone_from_text

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/api", tags=["photos"])

_ERRORS: dict[int | str, dict[str, object]] = {
    413: {"model": ErrorPublic, "description": "Upload or image over the configured limit."},
    422: {
        "model": ErrorPublic,
        "description": "No field 'file', not a readable image, or a bad 'zone'.",
    },
    503: {"model": ErrorPublic, "description": "The segmenter's model cannot be loaded."},
}


@router.post("/count_image", response_model=PhotoCountPublic, responses=_ERRORS)
async def count_image(
    file: Annotated[UploadFile, File(description="The photo: JPEG, PNG, BMP, TIFF or WebP.")],
    settings: SettingsDep,
    holder: LazySegmenterDep,
    limiter: CpuLimiterDep,
    zone: Annotated[
        str | None,
        Form(
            description="The platform zone as JSON text, [[x, y], ...] in 0-1 of the photo: "
            "animals whose centre lies outside are not counted (see `outside`).",
            examples=["[[0, 0], [0.5, 0], [0.5, 1], [0, 1]]"],
        ),
    ] = None,
) -> PhotoCountPublic:
    """Count the animals on an uploaded photo and return the overlay to show."""
    # Checked first: a bad zone is reported before any decoding or counting work.
    platform = zone_from_text(zone) if zone and zone.strip() else None
    data = await read_upload(file, settings.limits.max_upload_mb)
    analysis_max_px = max(settings.vision.classic_work_px, settings.vision.imgsz or 0)
    # Decoding, inference and encoding are CPU work: off the event loop, at most
    # `limiter.total_tokens` photos at a time so a burst cannot starve live cameras.
    result: PhotoCount = await anyio.to_thread.run_sync(
        count_photo,
        data,
        holder.get,
        settings.limits.max_image_megapixels,
        analysis_max_px,
        _display_name(file.filename),
        platform,
        limiter=limiter,
    )
    logger.info(
        "counted %d animals on %s (%dx%d) in %.0f ms",
        result.count,
        file.filename,
        result.width_px,
        result.height_px,
        result.processing_ms,
    )
    return PhotoCountPublic(
        count=result.count,
        confidence=result.confidence,
        width=result.width_px,
        height=result.height_px,
        segmenter=holder.name,
        ms=result.processing_ms,
        outlines=result.outlines,
        overlay=result.overlay_data_url(),
        outside=result.outside,
        outside_outlines=result.outside_outlines,
    )


def _display_name(filename: str | None) -> str:
    """The upload's base name, shortened, for error messages (never a path)."""
    base = (filename or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    base = "".join(ch for ch in base if ch.isprintable())
    return (base[:80] + "…") if len(base) > 80 else (base or "upload")

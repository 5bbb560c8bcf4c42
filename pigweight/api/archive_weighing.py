"""A weighing recorded from a moment of an archive video: the count at that frame (or the
operator's), the typed weight, the frame kept as evidence."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import anyio
from fastapi import APIRouter, Request, Response
from pydantic import Field

from pigweight.api.deps import RowIdPath, get_settings
from pigweight.api.idempotency import IdempotencyKey
from pigweight.api.video_files import MEDIA_WORK, archive_of
from pigweight.api.weight import saved_answer
from pigweight.api.weight_schemas import SavedOut, WeightAndCount
from pigweight.media.recorded_at import recording_start
from pigweight.weighing.records import RecordBook
from pigweight.weighing.rules import LiveCount, Weighing, WeighingRejected

router = APIRouter(prefix="/api/video_file", tags=["video archive"])
_CAMERA_CHARS = 32  # the records' camera column


class FrameWeighingIn(WeightAndCount):
    """POST /api/video_file/{id}/weighing: a weighing of the group seen at t; the weight and
    the count are JSON numbers, checked as for a live weighing ("212,5" is no weight)."""

    t: float = Field(ge=0, description="The frame's time in the recording, seconds.")
    total_weight_kg: float = Field(description="Total weight of the group on the scale, kg.")
    count: int | None = Field(None, description="Animals on the scale; omit: the frame's count.")
    note: str | None = Field(None, max_length=2000, description="Free text, kept with the record.")
    at: str | None = Field(
        None,
        max_length=40,
        description="When the weighing happened (ISO 8601; without an offset, farm time). "
        "Omitted: the recording's start (from its file name or container) plus t; a "
        "recording whose start is unknown needs it.",
        examples=["2026-12-05T09:41:00"],
    )
    batch_id: int | None = Field(None, ge=1, description="The open batch it belongs to.")


@router.post("/{video_id}/weighing", response_model=SavedOut, status_code=201)
async def weighing_from_frame(
    request: Request,
    response: Response,
    video_id: RowIdPath,
    body: FrameWeighingIn,
    idempotency_key: IdempotencyKey,
) -> SavedOut:
    """Record a weighing from a frame of a recording: the camera is the recording's name,
    the count the frame's (or the one given), the snapshot that frame with its outlines."""
    archive = archive_of(request)
    row = await anyio.to_thread.run_sync(archive.video, video_id)
    answer, jpeg = await anyio.to_thread.run_sync(
        archive.frame_evidence, video_id, body.t, limiter=MEDIA_WORK
    )
    counted = LiveCount(
        stable_count=answer.count or None,
        confidence=round(answer.confidence, 3),
        segmenter=get_settings(request).vision.segmenter,
        jpeg=jpeg,
    )
    where = f"{row.name} · {_timecode(body.t)}"  # no words: the note reads in any language
    note = f"{where}; {body.note}" if body.note and body.note.strip() else where
    weighing = Weighing(
        row.name[:_CAMERA_CHARS],
        body.total_weight_kg,
        body.count,
        note,
        batch_id=body.batch_id,
    )
    book: RecordBook = request.app.state.live.records
    zone = book.settings.zone()
    if body.at is not None:
        moment = _typed_moment(body.at, zone)
    else:
        start = await anyio.to_thread.run_sync(recording_start, row.info.path, row.name, zone)
        if start is None:
            raise WeighingRejected(
                f"{row.name}: when the recording was made is not known (no date and time in "
                "its name, no creation time in the file): send at, the date and time of the "
                "weighing",
                "recording_time_unknown",
            )
        moment = start.ts + body.t
    saved = await anyio.to_thread.run_sync(
        book.record, weighing, counted, idempotency_key, None, None, moment
    )
    if not saved.created:
        response.status_code = 200
    return await saved_answer(book, saved)


def _timecode(t: float) -> str:
    """A moment of a recording as H:MM:SS.ss (0:01:02.50), as players show it."""
    hours, rest = divmod(max(t, 0.0), 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{int(hours)}:{int(minutes):02d}:{seconds:05.2f}"


def _typed_moment(text: str, zone: Any) -> float:
    """The operator's date and time of a weighing as epoch seconds; 422 when it is none."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise WeighingRejected(
            f"at: {text!r} is not a date and time; send it as 2026-12-05T09:41:00",
            "time_unreadable",
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    if moment.year < 2000 or moment.timestamp() > time.time() + 300:
        raise WeighingRejected(
            f"at: {text} is in the future or before 2000; check the date", "time_out_of_range"
        )
    return moment.timestamp()

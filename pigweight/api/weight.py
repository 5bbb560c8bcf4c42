"""Weighing records: POST /api/weight/average, history, CSV download, summary, evidence."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta, tzinfo
from typing import Annotated, Any, Literal

import anyio
from fastapi import APIRouter, Query, Request, Response

from pigweight.api.deps import MAX_ROW_ID, RowIdPath
from pigweight.api.file_response import RangeFileResponse
from pigweight.api.idempotency import IdempotencyKey
from pigweight.api.live_deps import LiveDep, find_worker
from pigweight.api.refusals import NotFound, RequestRefused
from pigweight.api.weight_schemas import (
    BatchOut,
    CorrectionIn,
    DeletionIn,
    RecordOut,
    RecordPage,
    SavedOut,
    SummaryRow,
    WeighingIn,
)
from pigweight.media.source import SourceState
from pigweight.pipeline.camera_worker import CameraWorker
from pigweight.pipeline.live import LiveServices
from pigweight.store.weighing_rows import RecordFilter
from pigweight.weighing.records import RecordBook
from pigweight.weighing.rules import DuplicateWeighing, LiveCount, Saved, Weighing

router = APIRouter(tags=["weighing"])

# A live count or picture older than this belongs to another group of animals.
LIVE_COUNT_MAX_AGE_S = 10.0
# A manual weighing this soon after the platform recorded one by itself (or while it still
# holds that load) is the same group twice unless the operator says otherwise.
DUPLICATE_WINDOW_S = 30.0
# Writers wait their turn on threads, never on the event loop; this bounds the threads.
_WRITERS = anyio.CapacityLimiter(8)

FromQuery = Annotated[
    str | None,
    Query(
        alias="from",
        description="First day (YYYY-MM-DD, farm time) or moment (ISO 8601) to include.",
    ),
]
ToQuery = Annotated[
    str | None,
    Query(alias="to", description="Last day (YYYY-MM-DD, included) or moment (excluded)."),
]
CameraQuery = Annotated[str | None, Query(description="Only this camera.")]
BatchQuery = Annotated[int | None, Query(ge=1, le=MAX_ROW_ID, description="Only this batch.")]


def _book(request: Request) -> RecordBook:
    book: RecordBook = request.app.state.live.records
    return book


@router.post("/api/weight/average", response_model=SavedOut, status_code=201)
async def weight_average(
    body: WeighingIn,
    request: Request,
    response: Response,
    live: LiveDep,
    idempotency_key: IdempotencyKey,
) -> SavedOut:
    """Record a weighing: total weight / count (given, or the camera's stable count)."""
    worker = find_worker(live, body.camera_id)  # 404 for an unknown camera
    if body.weight_source == "scale" and worker.config.id not in live.scales:
        raise RequestRefused(
            f"camera {worker.config.id} has no scale, so its total cannot come from one: "
            "send weight_source 'manual'",
        )
    current = live_count(live, worker)
    weighing = Weighing(
        worker.config.id,
        body.total_weight_kg,
        body.count,
        body.note or "",
        body.weight_source,
        body.batch_id,
    )
    book = _book(request)
    camera_id = worker.config.id
    guard = None if body.allow_duplicate else lambda: _refuse_same_group(live, camera_id, book)
    saved = await anyio.to_thread.run_sync(
        book.record, weighing, current, idempotency_key, None, guard, limiter=_WRITERS
    )
    if not saved.created:
        response.status_code = 200
    elif live.keep_frame is not None:
        await anyio.to_thread.run_sync(
            live.keep_frame,
            camera_id,
            body.count,
            None if current is None else current.stable_count,
            None if current is None else current.confidence,
            False,
        )
    return await saved_answer(book, saved)


async def saved_answer(book: RecordBook, saved: Saved) -> SavedOut:
    """The answer to a weighing: the record, and its batch as it stands with it."""
    batch = None
    if saved.record.batch_id is not None:
        found = await anyio.to_thread.run_sync(book.batches.get, saved.record.batch_id)
        batch = BatchOut.of(found)
    return SavedOut(
        **RecordOut.of(saved.record).model_dump(),
        replayed=not saved.created,
        csv_error=saved.csv_error,
        snapshot_error=saved.snapshot_error,
        batch=batch,
    )


def _refuse_same_group(live: LiveServices, camera_id: str, book: RecordBook) -> None:
    """409 duplicate_weighing when the platform recorded this group by itself already."""
    weigher = live.weighers.get(camera_id)
    record_id = None if weigher is None else weigher.recent_record(time.time(), DUPLICATE_WINDOW_S)
    if record_id is None:
        return
    record = book.get(record_id)
    if record.status == "deleted":
        return  # the operator took it back: this weighing replaces it
    raise DuplicateWeighing(
        f"camera {camera_id}'s platform already recorded this group by itself: record "
        f"{record.id}, {record.count} head, {record.total_weight_kg:g} kg at "
        f"{record.local_time[11:19]}; send allow_duplicate: true to record it again",
        {
            "record_id": record.id,
            "count": record.count,
            "total_weight_kg": record.total_weight_kg,
            "time": record.local_time[11:16],
        },
    )


def live_count(live: LiveServices, worker: CameraWorker) -> LiveCount | None:
    """The camera's stable count and evidence picture now; None if it shows nothing fresh."""
    shot = live.hub.live_count(worker.config.id, LIVE_COUNT_MAX_AGE_S)
    if shot is None:
        return None
    message = shot.message
    streaming = worker.status().state == SourceState.STREAMING
    stable = message.stable_count if streaming else None
    return LiveCount(
        stable_count=stable if stable else None,
        confidence=round(message.confidence, 3),
        segmenter=message.segmenter,
        jpeg=shot.picture(stable),  # a frame that shows exactly the counted animals
    )


@router.get("/api/weight/records", response_model=RecordPage)
async def list_records(
    request: Request,
    from_: FromQuery = None,
    to: ToQuery = None,
    camera: CameraQuery = None,
    batch: BatchQuery = None,
    include_replaced: Annotated[
        bool, Query(description="Also corrected and deleted records.")
    ] = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_ROW_ID)] = 0,
) -> RecordPage:
    """Records, newest first, a page at a time."""
    book = _book(request)
    where = _filter(book, from_, to, camera, active_only=not include_replaced, batch=batch)
    records, total = await anyio.to_thread.run_sync(book.page, where, limit, offset)
    return RecordPage(
        records=[RecordOut.of(r) for r in records], total=total, limit=limit, offset=offset
    )


@router.get("/api/weight/records.csv")
async def records_csv(
    request: Request,
    from_: FromQuery = None,
    to: ToQuery = None,
    camera: CameraQuery = None,
    batch: BatchQuery = None,
    dialect: Annotated[
        Literal["rfc4180", "excel-ru"],
        Query(
            description="rfc4180: the daily files' columns (`,`, decimal points); excel-ru: "
            "what a Russian Excel opens (`;`, decimal commas, Russian headers, UTF-8 BOM)."
        ),
    ] = "rfc4180",
) -> Response:
    """The active records as a CSV, oldest first."""
    book = _book(request)
    where = _filter(book, from_, to, camera, active_only=True, batch=batch)
    data = await anyio.to_thread.run_sync(book.csv_bytes, where, dialect)
    return _download(data, from_, "csv", "text/csv; charset=utf-8", batch)


XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("/api/weight/records.xlsx", response_class=Response)
async def records_xlsx(
    request: Request,
    from_: FromQuery = None,
    to: ToQuery = None,
    camera: CameraQuery = None,
    batch: BatchQuery = None,
    lang: Annotated[
        Literal["ru", "en"], Query(description="Headers and words of the workbook.")
    ] = "ru",
) -> Response:
    """The active records as an Excel workbook: a sheet of records (numbers as numbers,
    moments as dates in farm time), a summary per day and camera, and one of the batches
    the records belong to (head weighed against expected, average, uniformity)."""
    book = _book(request)
    where = _filter(book, from_, to, camera, active_only=True, batch=batch)
    data = await anyio.to_thread.run_sync(book.xlsx_bytes, where, lang)
    return _download(data, from_, "xlsx", XLSX_TYPE, batch)


def _download(
    data: bytes, since: str | None, suffix: str, media_type: str, batch: int | None = None
) -> Response:
    """An export as a file to save: weight_records[_batch-N][_FIRST-DAY].SUFFIX."""
    name = "weight_records" if batch is None else f"weight_records_batch-{batch}"
    if since is not None:
        name += f"_{since[:10]}"
    return Response(
        data,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{name}.{suffix}"'},
    )


@router.get("/api/weight/summary", response_model=list[SummaryRow])
async def summary(
    request: Request,
    from_: FromQuery = None,
    to: ToQuery = None,
    camera: CameraQuery = None,
    batch: BatchQuery = None,
) -> list[SummaryRow]:
    """Per camera and farm day: weighings, animals, total kg, mean / min / max average."""
    book = _book(request)
    where = _filter(book, from_, to, camera, active_only=True, batch=batch)
    days = await anyio.to_thread.run_sync(book.summary, where)
    return [SummaryRow.of(d) for d in days]


@router.get("/api/weight/records/{record_id}", response_model=RecordOut)
async def get_record(request: Request, record_id: RowIdPath) -> RecordOut:
    record = await anyio.to_thread.run_sync(_book(request).get, record_id)
    return RecordOut.of(record)


@router.get("/api/weight/records/{record_id}/snapshot.jpg", response_class=RangeFileResponse)
async def record_snapshot(request: Request, record_id: RowIdPath) -> RangeFileResponse:
    """The annotated frame the record's count came from."""
    path = await anyio.to_thread.run_sync(_book(request).snapshot_path, record_id)
    if path is None:
        raise NotFound(f"record {record_id} has no snapshot (no camera picture)")
    return RangeFileResponse(path, media_type="image/jpeg")


@router.get("/api/weight/records/{record_id}/evidence")
async def record_evidence(request: Request, record_id: RowIdPath) -> dict[str, Any]:
    """What an automatic weighing saw: the counts over its window, the raw scale frames."""
    evidence = await anyio.to_thread.run_sync(_book(request).evidence, record_id)
    if evidence is None:
        raise NotFound(
            f"record {record_id} has no evidence bundle (only automatic weighings keep one)"
        )
    return evidence


@router.post("/api/weight/records/{record_id}/confirmation", response_model=RecordOut)
async def confirm_record(request: Request, record_id: RowIdPath) -> RecordOut:
    """The operator checked the record (an automatic one, usually) and it is right."""
    book = _book(request)
    record = await anyio.to_thread.run_sync(book.confirm, record_id, limiter=_WRITERS)
    return RecordOut.of(record)


@router.post(
    "/api/weight/records/{record_id}/correction", response_model=RecordOut, status_code=201
)
async def correct_record(request: Request, record_id: RowIdPath, body: CorrectionIn) -> RecordOut:
    """A new record replacing this one; the old one stays, marked 'corrected'."""
    book = _book(request)
    record = await anyio.to_thread.run_sync(
        lambda: book.correct(record_id, body.total_weight_kg, body.count, body.note, body.batch_id),
        limiter=_WRITERS,
    )
    return RecordOut.of(record)


@router.delete("/api/weight/records/{record_id}", response_model=RecordOut)
async def delete_record(request: Request, record_id: RowIdPath, body: DeletionIn) -> RecordOut:
    """Mark a record deleted with a reason; it leaves the CSV, the database keeps it."""
    book = _book(request)
    record = await anyio.to_thread.run_sync(book.delete, record_id, body.reason, limiter=_WRITERS)
    return RecordOut.of(record)


def _filter(
    book: RecordBook,
    since: str | None,
    until: str | None,
    camera: str | None,
    active_only: bool,
    batch: int | None = None,
) -> RecordFilter:
    zone = book.settings.zone()
    return RecordFilter(
        since_ts=None if since is None else _moment(since, zone, "from", end=False),
        until_ts=None if until is None else _moment(until, zone, "to", end=True),
        camera=camera,
        active_only=active_only,
        batch_id=batch,
    )


def _moment(text: str, zone: tzinfo, name: str, end: bool) -> float | None:
    """A query bound as epoch seconds: a date is a whole farm day, a moment is exact.
    None: no bound (the day after 9999-12-31, where `to=9999-12-31` ends, is past the
    calendar)."""
    value = text.strip()
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            if end and day == date.max:
                return None
            start = datetime.combine(day + timedelta(days=1 if end else 0), datetime.min.time())
            return start.replace(tzinfo=zone).timestamp()
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise RequestRefused(
            f"{name}: {text[:40]!r} is not a date (2026-11-26) or a time (2026-11-26T08:30)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.timestamp()

"""Request and response bodies of the weighing API."""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from pigweight.domain import Batch, WeightRecord
from pigweight.store.weighing_rows import DaySummary
from pigweight.weighing.rules import MAX_COUNT, average_kg


def _number(value: Any, what: str) -> Any:
    # JSON numbers only: "412,5" typed into a script is a mistake to show, not to guess.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"must be a number of {what}, e.g. 412.5, not {value!r:.40}")
    if not math.isfinite(value):
        raise ValueError(f"must be a finite number of {what}, got {value!r}")
    return value


def _whole(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(
            f"must be a whole number of animals from 1 to {MAX_COUNT}, got {value!r:.40}"
        )
    return value


class WeightAndCount(BaseModel):
    """The checks a weight and a count get wherever they are sent."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("total_weight_kg", mode="before", check_fields=False)
    @classmethod
    def _total(cls, value: Any) -> Any:
        # null only gets this far where the field is optional (a correction).
        return None if value is None else _number(value, "kilograms")

    @field_validator("count", mode="before", check_fields=False)
    @classmethod
    def _count(cls, value: Any) -> Any:
        return _whole(value)


class WeighingIn(WeightAndCount):
    """POST /api/weight/average: the scale's total and, optionally, the count."""

    camera_id: str = Field(min_length=1, max_length=64, description="Camera over the scale.")
    total_weight_kg: float = Field(description="Total weight of the group on the scale, kg.")
    count: int | None = Field(
        None, description="Animals on the scale; omit to use the camera's stable count."
    )
    note: str | None = Field(None, max_length=2000, description="Free text, kept with the record.")
    weight_source: Literal["manual", "scale"] = Field(
        "manual",
        description="Where the total came from: 'scale' when it is the camera's scale reading "
        "as shown (the camera must have a scale), 'manual' when typed.",
    )
    batch_id: int | None = Field(
        None,
        ge=1,
        description="The open batch it belongs to; omitted: the camera's open batch, if any.",
    )
    allow_duplicate: bool = Field(
        False,
        description="Record it even though the camera's platform recorded this group by itself "
        "(it still holds that load, or did so in the last 30 s): without it that is a 409 "
        "duplicate_weighing naming the record.",
    )


class CorrectionIn(WeightAndCount):
    """POST /api/weight/records/{id}/correction: what changes; the rest is kept."""

    total_weight_kg: float | None = None
    count: int | None = None
    note: str | None = Field(None, max_length=2000)
    batch_id: int | None = Field(
        None, ge=0, description="Move the record into this batch; 0: out of any batch."
    )


class DeletionIn(BaseModel):
    """DELETE /api/weight/records/{id}: why."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000)


class RecordOut(BaseModel):
    """One weighing record as the API shows it."""

    id: int
    ts: float
    local_time: str
    timezone: str
    camera: str
    count: int
    count_source: Literal["auto", "manual"]
    weight_source: Literal["scale", "manual"]
    confidence: float | None
    total_weight_kg: float
    avg_weight_kg: float
    note: str
    segmenter: str | None
    snapshot_url: str | None
    evidence_url: str | None = Field(
        description="JSON an automatic weighing keeps: the counts seen, the raw scale frames."
    )
    confirmed_ts: float | None = Field(description="When an operator confirmed it; None: not.")
    status: Literal["active", "corrected", "deleted"]
    corrects_id: int | None
    corrected_by: int | None
    deleted_reason: str | None
    created_ts: float
    batch_id: int | None = Field(None, description="The batch it belongs to; None: none.")
    batch_name: str | None = None

    @classmethod
    def of(cls, record: WeightRecord) -> RecordOut:
        return cls(
            id=record.id,
            ts=record.ts,
            local_time=record.local_time,
            timezone=record.timezone,
            camera=record.camera,
            count=record.count,
            count_source=record.count_source,  # type: ignore[arg-type]
            weight_source=record.weight_source,  # type: ignore[arg-type]
            confidence=record.confidence,
            total_weight_kg=record.total_weight_kg,
            avg_weight_kg=record.avg_weight_kg,
            note=record.note,
            segmenter=record.segmenter,
            snapshot_url=(
                f"/api/weight/records/{record.id}/snapshot.jpg" if record.snapshot else None
            ),
            evidence_url=(f"/api/weight/records/{record.id}/evidence" if record.evidence else None),
            confirmed_ts=record.confirmed_ts,
            status=record.status,  # type: ignore[arg-type]
            corrects_id=record.corrects_id,
            corrected_by=record.corrected_by,
            deleted_reason=record.deleted_reason,
            created_ts=record.created_ts,
            batch_id=record.batch_id,
            batch_name=record.batch_name,
        )


class BatchOut(BaseModel):
    """A batch with what has been weighed of it (its active records)."""

    id: int
    name: str
    camera: str
    expected_head: int | None
    target_avg_kg: float | None
    note: str
    started_ts: float
    closed_ts: float | None
    open: bool
    weighings: int
    animals: int = Field(description="Head weighed so far (the counts of its weighings).")
    remaining: int | None = Field(description="Expected head not weighed yet; None: not known.")
    over_count: bool = Field(description="More head weighed than expected_head.")
    total_weight_kg: float
    avg_weight_kg: float | None = Field(description="Total kg / head weighed.")
    min_avg_weight_kg: float | None
    max_avg_weight_kg: float | None
    cv_percent: float | None = Field(
        description="Uniformity: coefficient of variation of the weighings' averages per head, "
        "weighted by head, %; None below two weighings. Animals within a group vary more."
    )
    vs_target_kg: float | None = Field(description="Average minus target_avg_kg.")

    @classmethod
    def of(cls, batch: Batch) -> BatchOut:
        expected = batch.expected_head
        avg = batch.avg_weight_kg
        target = batch.target_avg_kg
        return cls(
            id=batch.id,
            name=batch.name,
            camera=batch.camera,
            expected_head=expected,
            target_avg_kg=target,
            note=batch.note,
            started_ts=batch.started_ts,
            closed_ts=batch.closed_ts,
            open=batch.is_open,
            weighings=batch.weighings,
            animals=batch.animals,
            remaining=None if expected is None else max(0, expected - batch.animals),
            over_count=batch.over_count,
            total_weight_kg=batch.total_weight_kg,
            avg_weight_kg=avg,
            min_avg_weight_kg=batch.min_avg_weight_kg,
            max_avg_weight_kg=batch.max_avg_weight_kg,
            cv_percent=batch.cv_percent,
            vs_target_kg=None if avg is None or target is None else round(avg - target, 3),
        )


class SavedOut(RecordOut):
    """The answer to a weighing: the record, and whether it was already there (a retry)."""

    replayed: bool = False
    csv_error: str | None = None
    snapshot_error: str | None = Field(
        None, description="Why the record was saved without its snapshot (a full disk), or null."
    )
    batch: BatchOut | None = Field(
        None, description="The record's batch as it stands with it (over_count: too many head)."
    )


class RecordPage(BaseModel):
    records: list[RecordOut]
    total: int
    limit: int
    offset: int


class SummaryRow(BaseModel):
    """One camera's weighings on one local day."""

    date: str  # YYYY-MM-DD, the farm's local date
    camera: str
    weighings: int
    animals: int
    total_weight_kg: float
    mean_avg_weight_kg: float  # total kg / animals: the day's average per head
    min_avg_weight_kg: float
    max_avg_weight_kg: float

    @classmethod
    def of(cls, day: DaySummary) -> SummaryRow:
        d = day.local_date
        return cls(
            date=f"{d[:4]}-{d[4:6]}-{d[6:]}",
            camera=day.camera,
            weighings=day.weighings,
            animals=day.animals,
            total_weight_kg=round(day.total_weight_kg, 3),
            mean_avg_weight_kg=average_kg(day.total_weight_kg, day.animals),
            min_avg_weight_kg=day.min_avg_weight_kg,
            max_avg_weight_kg=day.max_avg_weight_kg,
        )

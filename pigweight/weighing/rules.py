"""What a weighing is and the rules it must pass before it is written: the operator's (or the
scale's) total and the camera's count, the average per head (half-up to the gram), the
limits of a note, and the refusals that say what to fix."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from pigweight.domain import WeightRecord
from pigweight.errors import PigWeightError
from pigweight.settings import WeighingSettings

MAX_COUNT = 1000
MAX_NOTE_CHARS = 500
MAX_REASON_CHARS = 500
WEIGHT_SOURCES = ("manual", "scale")


class WeighingRejected(PigWeightError):
    """The weighing cannot be recorded as sent (422); the message says what to fix.

    `params["problem"]` names which check refused it, the other params carry its numbers, so
    that the page says it in its own language (weigh.problem.* in web/js/texts)."""

    code = "invalid_weighing"

    def __init__(self, message: str, problem: str, **params: Any) -> None:
        super().__init__(message)
        self.params = {"problem": problem, **params}


class CountUnavailable(PigWeightError):
    """No count was given and the camera has no live count (409)."""

    code = "count_unavailable"


class IdempotencyConflict(PigWeightError):
    """An Idempotency-Key was reused with a different request (409)."""

    code = "idempotency_conflict"


class DuplicateWeighing(PigWeightError):
    """The platform recorded this group by itself already (409); `params` name the record."""

    code = "duplicate_weighing"

    def __init__(self, message: str, params: dict[str, Any]) -> None:
        super().__init__(message)
        self.params = params


class RecordNotFound(PigWeightError):
    """No record has this id (404)."""

    code = "record_not_found"


class RecordConflict(PigWeightError):
    """The record was already corrected or deleted (409)."""

    code = "record_conflict"


@dataclass(frozen=True, slots=True)
class Weighing:
    """What the operator (or the scale) sends: a camera, a total and maybe a count."""

    camera_id: str
    total_weight_kg: float
    count: int | None = None
    note: str = ""
    weight_source: str = "manual"  # "scale": the total was read from the indicator
    batch_id: int | None = None  # None: the camera's open batch, if it has one

    def fingerprint(self) -> str:
        """A hash of the request, to tell a retry from a different request."""
        fields: list[Any] = [self.camera_id, self.total_weight_kg, self.count, self.note]
        if self.weight_source != "manual":  # keys sent before the field existed still match
            fields.append(self.weight_source)
        if self.batch_id is not None:
            fields.append({"batch": self.batch_id})
        body = json.dumps(fields, ensure_ascii=True)
        return hashlib.sha256(body.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class LiveCount:
    """A camera's count at the moment of a weighing, with its evidence picture."""

    stable_count: int | None  # None: the camera has no stable count (stopped, starting)
    confidence: float | None
    segmenter: str | None
    jpeg: bytes | None  # annotated frame the count came from


@dataclass(frozen=True, slots=True)
class Saved:
    """The answer to a weighing: the record, whether it is new, and a CSV or snapshot
    problem if any."""

    record: WeightRecord
    created: bool
    csv_error: str | None = None
    snapshot_error: str | None = None  # the picture (or evidence) could not be kept


def average_kg(total_weight_kg: float, count: int) -> float:
    """total / count rounded half-up to the gram (13.7505 -> 13.751, not banker's)."""
    exact = Decimal(repr(total_weight_kg)) / Decimal(count)
    return float(exact.quantize(Decimal("0.001"), rounding=ROUND_HALF_UP))


def check_total(total_weight_kg: float, settings: WeighingSettings) -> float:
    """The total as a weight in kg, or WeighingRejected saying what is wrong."""
    if isinstance(total_weight_kg, bool) or not isinstance(total_weight_kg, int | float):
        raise WeighingRejected(
            "total_weight_kg must be a number of kilograms, e.g. 412.5", "total_not_number"
        )
    value = float(total_weight_kg)
    if not math.isfinite(value) or value <= 0:
        raise WeighingRejected(
            f"total_weight_kg must be a positive number of kilograms, got {total_weight_kg!r}",
            "total_not_positive",
        )
    if value > settings.max_total_weight_kg:
        raise WeighingRejected(
            f"total_weight_kg {value:g} is above the {settings.max_total_weight_kg:g} kg limit "
            "(MAX_TOTAL_WEIGHT_KG); check the scale reading",
            "total_above_limit",
            total=value,
            limit=settings.max_total_weight_kg,
        )
    return float(Decimal(repr(value)).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP))


def check_count(count: Any) -> int:
    """The count as a whole number of animals in 1..MAX_COUNT."""
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_COUNT:
        raise WeighingRejected(
            f"count must be a whole number from 1 to {MAX_COUNT}, got {count!r}",
            "count_out_of_range",
            max=MAX_COUNT,
        )
    return count


def check_average(total: float, count: int, settings: WeighingSettings) -> float:
    """The average per head, refused when no group of pigs could weigh that."""
    avg = average_kg(total, count)
    if not settings.min_avg_weight_kg <= avg <= settings.max_avg_weight_kg:
        raise WeighingRejected(
            f"{total:g} kg / {count} head = {avg:g} kg a head, outside the plausible "
            f"{settings.min_avg_weight_kg:g}-{settings.max_avg_weight_kg:g} kg "
            "(MIN_AVG_WEIGHT_KG, MAX_AVG_WEIGHT_KG); check the count and the total",
            "average_out_of_range",
            total=total,
            count=count,
            average=avg,
            min=settings.min_avg_weight_kg,
            max=settings.max_avg_weight_kg,
        )
    return avg


def clean_note(note: str | None, limit: int = MAX_NOTE_CHARS, what: str = "note") -> str:
    """One line of text: whitespace runs and line breaks become single spaces, NUL characters
    (which PostgreSQL cannot store, and no one types) go."""
    text = " ".join((note or "").replace("\x00", "").split())
    if len(text) > limit:
        raise WeighingRejected(
            f"{what} is {len(text)} characters long; keep it under {limit}",
            "text_too_long",
            field=what,
            length=len(text),
            limit=limit,
        )
    return text

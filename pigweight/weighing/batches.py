"""Batches: a pen's or group's weighings, as every livestock scale keeps them.

The operator starts a batch on a camera (its name, the head count expected, maybe the
target weight); from then on each weighing of that camera, typed or recorded by the
platform itself, belongs to it, until the batch is closed or another one is started there.
A weighing may also name any open batch (one from a recording, say). The batch shows what
was weighed against what was expected, and warns when more animals were weighed than the
batch has.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Engine

from pigweight.domain import Batch
from pigweight.errors import PigWeightError
from pigweight.store import batches as repo
from pigweight.weighing.journal import Journal

logger = logging.getLogger(__name__)

MAX_NAME_CHARS = 64
MAX_NOTE_CHARS = 500
MAX_HEAD = 100_000
MAX_TARGET_KG = 2000.0
BATCH_STATES = ("open", "closed", "all")


class BatchRejected(PigWeightError):
    """The batch cannot be kept as sent (422); the message says what to fix."""

    code = "invalid_batch"


class BatchNotFound(PigWeightError):
    """No batch has this id (404)."""

    code = "batch_not_found"


class BatchClosed(PigWeightError):
    """A weighing named a closed batch (409): reopen it first."""

    code = "batch_closed"

    def __init__(self, message: str, params: dict[str, Any]) -> None:
        super().__init__(message)
        self.params = params


def clean_name(name: Any) -> str:
    text = " ".join(str(name or "").replace("\x00", "").split())
    if not text:
        raise BatchRejected("name the batch: the pen or group, e.g. «Загон 3»")
    if len(text) > MAX_NAME_CHARS:
        raise BatchRejected(
            f"the batch name is {len(text)} characters; keep it to {MAX_NAME_CHARS}"
        )
    return text


def clean_note(note: Any) -> str:
    """One line of text, up to MAX_NOTE_CHARS; longer is refused, not cut (NUL characters,
    which PostgreSQL cannot store, go)."""
    text = " ".join(str(note or "").replace("\x00", "").split())
    if len(text) > MAX_NOTE_CHARS:
        raise BatchRejected(
            f"the batch note is {len(text)} characters; keep it to {MAX_NOTE_CHARS}"
        )
    return text


def check_head(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_HEAD:
        raise BatchRejected(
            f"expected_head must be a whole number of animals from 1 to {MAX_HEAD}, got {value!r}"
        )
    return value


def check_target(value: Any) -> float | None:
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not 0 < value <= MAX_TARGET_KG
    ):
        raise BatchRejected(
            f"target_avg_kg must be a weight a head in kg above 0 and up to {MAX_TARGET_KG:g}, "
            f"got {value!r}"
        )
    return round(float(value), 3)


class Batches:
    """Starts, changes, closes and reads batches; safe from any thread."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._engine: Engine | None = None
        self._lock = threading.Lock()  # one camera, one open batch
        self.journal: Journal | None = None  # a site's outbox (RecordBook.set_journal)

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            raise RuntimeError("Batches.start() was not called")
        return self._engine

    def start(self, engine: Engine) -> None:
        self._engine = engine

    def begin(
        self,
        camera: str,
        name: str,
        expected_head: int | None = None,
        target_avg_kg: float | None = None,
        note: str = "",
    ) -> tuple[Batch, int | None]:
        """Start a batch on a camera; the batch open there before is closed. Returns the new
        batch and the id of the one closed, if any."""
        values = {
            "name": clean_name(name),
            "camera": camera,
            "expected_head": check_head(expected_head),
            "target_avg_kg": check_target(target_avg_kg),
            "note": clean_note(note),
        }
        with self._lock, self.engine.begin() as conn:
            now = self._clock()
            closed = repo.open_batch_of(conn, camera)
            if closed is not None:
                repo.update_batch(conn, closed, {"closed_ts": now})
            batch_id = repo.insert_batch(conn, values | {"started_ts": now})
            self._changed(conn, closed, batch_id)
        self._committed()
        logger.info("batch %d %r started on camera %s", batch_id, values["name"], camera)
        return self.get(batch_id), closed

    def change(self, batch_id: int, values: dict[str, Any]) -> Batch:
        """New name, expected head count, target or note; None clears the last three."""
        checked: dict[str, Any] = {}
        if "name" in values:
            checked["name"] = clean_name(values["name"])
        if "expected_head" in values:
            checked["expected_head"] = check_head(values["expected_head"])
        if "target_avg_kg" in values:
            checked["target_avg_kg"] = check_target(values["target_avg_kg"])
        if "note" in values:
            checked["note"] = clean_note(values["note"])
        if not checked:
            raise BatchRejected("send name, expected_head, target_avg_kg or note: what changes")
        with self._lock, self.engine.begin() as conn:
            self._get(conn, batch_id)
            repo.update_batch(conn, batch_id, checked)
            self._changed(conn, batch_id)
        self._committed()
        return self.get(batch_id)

    def close(self, batch_id: int) -> Batch:
        """The batch is done: the camera's weighings no longer join it. Closing twice is fine."""
        with self._lock, self.engine.begin() as conn:
            batch = self._get(conn, batch_id)
            if batch.is_open:
                repo.update_batch(conn, batch_id, {"closed_ts": self._clock()})
                self._changed(conn, batch_id)
        self._committed()
        logger.info("batch %d closed", batch_id)
        return self.get(batch_id)

    def reopen(self, batch_id: int) -> tuple[Batch, int | None]:
        """The batch takes its camera's weighings again; the batch open there is closed."""
        with self._lock, self.engine.begin() as conn:
            batch = self._get(conn, batch_id)
            closed = repo.open_batch_of(conn, batch.camera)
            if closed == batch_id:
                closed = None
            elif closed is not None:
                repo.update_batch(conn, closed, {"closed_ts": self._clock()})
            repo.update_batch(conn, batch_id, {"closed_ts": None})
            self._changed(conn, closed, batch_id)
        self._committed()
        logger.info("batch %d reopened", batch_id)
        return self.get(batch_id), closed

    def get(self, batch_id: int) -> Batch:
        with self.engine.connect() as conn:
            return self._get(conn, batch_id)

    def page(
        self, camera: str | None, state: str, limit: int, offset: int
    ) -> tuple[list[Batch], int]:
        with self.engine.connect() as conn:
            return repo.list_batches(conn, camera, state, limit, offset)

    def for_weighing(self, camera: str, batch_id: int | None) -> int | None:
        """The batch a new weighing of this camera joins: the one it names (which must be
        open), else the camera's open batch, else none."""
        with self.engine.connect() as conn:
            if batch_id is None:
                return repo.open_batch_of(conn, camera)
            batch = self._get(conn, batch_id)
        if not batch.is_open:
            raise BatchClosed(
                f"batch {batch.id} «{batch.name}» is closed; reopen it to weigh into it",
                {"batch_id": batch.id, "name": batch.name},
            )
        return batch.id

    def of_ids(self, batch_ids: list[int]) -> list[Batch]:
        """These batches with their figures (an export's batches sheet), in one read."""
        with self.engine.connect() as conn:
            return repo.batches_by_id(conn, batch_ids)

    def exists(self, batch_id: int) -> int:
        self.get(batch_id)
        return batch_id

    def _changed(self, conn: Connection, *batch_ids: int | None) -> None:
        if self.journal is not None:
            for batch_id in batch_ids:
                if batch_id is not None:
                    self.journal.batch_changed(conn, batch_id)

    def _committed(self) -> None:
        if self.journal is not None:
            self.journal.committed()

    def _get(self, conn: Any, batch_id: int) -> Batch:
        batch = repo.get_batch(conn, batch_id)
        if batch is None:
            raise BatchNotFound(f"no batch {batch_id}")
        return batch

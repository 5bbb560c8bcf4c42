"""Weighings become records: durable storage and CSV (the rules a weighing must pass are in
`rules.py`).

`RecordBook` is the one writer of weighing records. A weighing is written in this order:
evidence JPEG (fsync) -> database row (commit, synchronous=FULL) -> CSV line (fsync) -> the
answer. A crash before the commit loses only an unacknowledged request; a crash after it
leaves a record whose CSV line the start-up reconciliation writes. Retrying a request with
the same Idempotency-Key returns the first record instead of writing a second.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from pigweight.domain import WeightRecord
from pigweight.durable import write_new
from pigweight.settings import WeighingSettings
from pigweight.store import weighing_rows
from pigweight.store.weighing_rows import DaySummary, RecordFilter
from pigweight.weighing.batches import Batches
from pigweight.weighing.csv_export import (
    EXPORT_HEADER,
    DailyCsv,
    export_row,
    first_kept_date,
    render,
    render_excel_ru,
)
from pigweight.weighing.journal import Journal
from pigweight.weighing.rules import (
    MAX_REASON_CHARS,
    WEIGHT_SOURCES,
    CountUnavailable,
    IdempotencyConflict,
    LiveCount,
    RecordConflict,
    RecordNotFound,
    Saved,
    Weighing,
    WeighingRejected,
    check_average,
    check_count,
    check_total,
    clean_note,
)

logger = logging.getLogger(__name__)

SNAPSHOT_DIR = "snapshots"


# What a weighing's answer adds when its CSV line could not be written.
PENDING = "it is pending and written as soon as the disk takes writes again"


class RecordBook:
    """Writes and reads the weighing records of one data folder; safe from any thread."""

    def __init__(
        self,
        settings: WeighingSettings,
        data_dir: Path,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.data_dir = Path(data_dir)
        self.csv = DailyCsv(settings.records_dir)
        self._clock = clock
        self._engine: Engine | None = None
        self._lock = threading.Lock()  # one writer: database row and CSV line together
        self._dirty_days: set[str] = set()
        self.records_written = 0  # rows record() created since start (GET /metrics)
        self.batches = Batches(clock)
        self._journal: Journal | None = None

    def set_journal(self, journal: Journal | None) -> None:
        """Tell `journal` of every change to records and batches, in its transaction."""
        self._journal = journal
        self.batches.journal = journal

    def _committed(self) -> None:
        if self._journal is not None:
            self._journal.committed()

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            raise RuntimeError("RecordBook.start() was not called")
        return self._engine

    def start(self, engine: Engine) -> None:
        """Use this database, bring the CSV files in line with it, apply retention."""
        self._engine = engine
        self.batches.start(engine)
        self.housekeeping()

    def housekeeping(self) -> dict[str, list[str]]:
        """Rebuild CSV files that differ from the database; delete those past retention."""
        first_kept = first_kept_date(self._today(), self.settings.records_retention_days)
        rebuilt: list[str] = []
        with self._lock:
            with self.engine.connect() as conn:
                days = set(weighing_rows.local_dates_since(conn, first_kept))
                days |= {d for d in self.csv.dates() if d >= first_kept}
                for day in sorted(days):
                    if self.csv.reconcile(day, weighing_rows.day_records(conn, day)):
                        rebuilt.append(day)
            self._dirty_days.clear()
            removed = self.csv.remove_older_than(first_kept)
        for name in removed:
            logger.info("records: %s is past RECORDS_RETENTION_DAYS, removed", name)
        return {"rebuilt": rebuilt, "removed": removed}

    # --- writing -----------------------------------------------------------------------

    def record(
        self,
        weighing: Weighing,
        live: LiveCount | None,
        idempotency_key: str | None = None,
        evidence: dict[str, Any] | None = None,
        guard: Callable[[], None] | None = None,
        at: float | None = None,
    ) -> Saved:
        """Validate and store a weighing; live is the camera's count (None: camera down).

        `evidence` (JSON-able: the counts seen, the scale's raw frames) is kept beside the
        snapshot and served with the record. `guard` runs once a replay of the same request
        is ruled out, and refuses the weighing by raising (the same group recorded twice).
        `at` (epoch seconds) is when the weighing happened, if not now: a frame of a
        recording; its day's CSV file is then rewritten, so that it stays in time order.
        """
        total = check_total(weighing.total_weight_kg, self.settings)
        if weighing.weight_source not in WEIGHT_SOURCES:
            raise WeighingRejected(
                f"weight_source must be one of {', '.join(WEIGHT_SOURCES)}, "
                f"got {weighing.weight_source!r}",
                "bad_weight_source",
            )
        note = clean_note(weighing.note)
        if weighing.count is not None:
            count, source = check_count(weighing.count), "manual"
            confidence = None
        elif live is not None and live.stable_count:
            count, source, confidence = live.stable_count, "auto", live.confidence
        else:
            raise CountUnavailable(
                f"camera {weighing.camera_id} has no live count right now; enter the count"
            )
        avg = check_average(total, count, self.settings)
        fingerprint = weighing.fingerprint()
        if idempotency_key is not None:
            replay = self._replay(idempotency_key, fingerprint)
            if replay is not None:
                return replay
        if guard is not None:
            guard()
        batch_id = self.batches.for_weighing(weighing.camera_id, weighing.batch_id)
        snapshot, evidence_file, snapshot_error = self._save_pictures(
            live.jpeg if live else None, evidence
        )
        values = {
            "camera": weighing.camera_id,
            "count": count,
            "count_source": source,
            "confidence": confidence,
            "total_weight_kg": total,
            "avg_weight_kg": avg,
            "note": note,
            "segmenter": live.segmenter if live else None,
            "snapshot": snapshot,
            "weight_source": weighing.weight_source,
            "evidence": evidence_file,
            "idempotency_key": idempotency_key,
            "request_hash": fingerprint if idempotency_key else None,
            "batch_id": batch_id,
        }
        with self._lock:
            if idempotency_key is not None:  # a retry racing its original
                replay = self._replay(idempotency_key, fingerprint)
                if replay is not None:
                    self._drop_snapshot(snapshot)
                    self._drop_snapshot(evidence_file)
                    return replay
            now = self._clock()
            values |= self._times(now if at is None else at, now)
            with self.engine.begin() as conn:
                record_id = weighing_rows.insert_record(conn, values)
                if self._journal is not None:
                    self._journal.record_written(conn, record_id)
            self._committed()
            self.records_written += 1
            record = self.get(record_id)
            csv_error = self._append_csv(record) if at is None else self._rewrite_csv(record)
        logger.info(
            "weighing %d: camera %s, %d animals (%s), %s kg (%s), %s kg a head",
            record.id,
            record.camera,
            record.count,
            record.count_source,
            total,
            record.weight_source,
            avg,
        )
        return Saved(record, True, csv_error, snapshot_error)

    def correct(
        self,
        record_id: int,
        total_weight_kg: float | None = None,
        count: int | None = None,
        note: str | None = None,
        batch_id: int | None = None,
    ) -> WeightRecord:
        """A new record that replaces record_id; what is not given is kept from it.
        `batch_id` moves it into that batch (0: out of any batch)."""
        if total_weight_kg is None and count is None and note is None and batch_id is None:
            raise WeighingRejected(
                "send total_weight_kg, count, note or batch_id: what is to be corrected",
                "nothing_to_correct",
            )
        if batch_id:
            self.batches.exists(batch_id)
        total = None if total_weight_kg is None else check_total(total_weight_kg, self.settings)
        new_count = None if count is None else check_count(count)
        new_note = None if note is None else clean_note(note)
        with self._lock:
            old = self._active(record_id)
            final_total = old.total_weight_kg if total is None else total
            final_count = old.count if new_count is None else new_count
            avg = check_average(final_total, final_count, self.settings)
            values = {
                "camera": old.camera,
                "count": final_count,
                "count_source": old.count_source if new_count is None else "manual",
                "confidence": old.confidence if new_count is None else None,
                "total_weight_kg": final_total,
                "avg_weight_kg": avg,
                "note": old.note if new_note is None else new_note,
                "segmenter": old.segmenter,
                "snapshot": old.snapshot,
                "weight_source": old.weight_source if total is None else "manual",
                "evidence": old.evidence,
                "corrects_id": old.id,
                "batch_id": old.batch_id if batch_id is None else (batch_id or None),
                **self._times(old.ts, self._clock()),
            }
            with self.engine.begin() as conn:
                new_id = weighing_rows.insert_record(conn, values)
                if self._journal is not None:
                    self._journal.record_written(conn, new_id)
            self._committed()
            self._rewrite_day(old.local_date)
        record = self.get(new_id)
        logger.info("weighing %d corrected by %d", record_id, new_id)
        return record

    def delete(self, record_id: int, reason: str) -> WeightRecord:
        """Mark a record deleted with a reason; the row stays in the database."""
        why = clean_note(reason, MAX_REASON_CHARS, "reason")
        if not why:
            raise WeighingRejected("say why the record is deleted: reason is empty", "reason_empty")
        with self._lock:
            old = self._active(record_id)
            with self.engine.begin() as conn:
                weighing_rows.add_deletion(conn, record_id, self._clock(), why)
                if self._journal is not None:
                    self._journal.record_deleted(conn, record_id)
            self._committed()
            self._rewrite_day(old.local_date)
        logger.info("weighing %d deleted: %s", record_id, why)
        return self.get(record_id)

    def confirm(self, record_id: int) -> WeightRecord:
        """The operator says the record is right (an automatic one, usually); once is enough."""
        with self._lock:
            old = self._active(record_id)
            if old.confirmed_ts is not None:
                return old
            with self.engine.begin() as conn:
                weighing_rows.add_confirmation(conn, record_id, self._clock())
                if self._journal is not None:
                    self._journal.record_confirmed(conn, record_id)
            self._committed()
        logger.info("weighing %d confirmed by the operator", record_id)
        return self.get(record_id)

    # --- reading -----------------------------------------------------------------------

    def get(self, record_id: int) -> WeightRecord:
        with self.engine.connect() as conn:
            record = weighing_rows.get_record(conn, record_id)
        if record is None:
            raise RecordNotFound(f"no weighing record {record_id}")
        return record

    def page(self, where: RecordFilter, limit: int, offset: int) -> tuple[list[WeightRecord], int]:
        with self.engine.connect() as conn:
            return weighing_rows.query_records(conn, where, limit, offset)

    def summary(self, where: RecordFilter) -> list[DaySummary]:
        with self.engine.connect() as conn:
            return weighing_rows.summarize(conn, where)

    def csv_bytes(self, where: RecordFilter, dialect: str = "rfc4180") -> bytes:
        """The matching records as one CSV, oldest first: the daily files' columns, or
        (`excel-ru`) what a Russian Excel opens."""
        with self.engine.connect() as conn:
            records = weighing_rows.records_in_order(conn, where)
        if dialect == "excel-ru":
            return render_excel_ru(records)
        return render((export_row(r) for r in records), columns=EXPORT_HEADER)

    def xlsx_bytes(self, where: RecordFilter, language: str) -> bytes:
        """The matching records as an Excel workbook: the records and a summary sheet."""
        from pigweight.weighing.xlsx_export import workbook_bytes  # openpyxl: only when asked

        with self.engine.connect() as conn:
            records = weighing_rows.records_in_order(conn, where)
        ids = sorted({r.batch_id for r in records if r.batch_id is not None})
        return workbook_bytes(records, language, self.batches.of_ids(ids), self.settings.zone())

    def snapshot_path(self, record_id: int) -> Path | None:
        """The evidence JPEG of a record, if it has one that still exists."""
        return self._data_file(self.get(record_id).snapshot)

    def evidence(self, record_id: int) -> dict[str, Any] | None:
        """The evidence bundle of a record (counts seen, raw scale frames), if it has one."""
        path = self._data_file(self.get(record_id).evidence)
        if path is None:
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            logger.error("records: evidence of record %d unreadable: %s", record_id, exc)
            return None
        return data if isinstance(data, dict) else None

    def _data_file(self, relative: str | None) -> Path | None:
        if relative is None:
            return None
        path = (self.data_dir / relative).resolve()
        if not path.is_relative_to(self.data_dir.resolve()) or not path.is_file():
            return None
        return path

    # --- inside ------------------------------------------------------------------------

    def _replay(self, key: str, fingerprint: str) -> Saved | None:
        with self.engine.connect() as conn:
            found = weighing_rows.find_by_key(conn, key)
        if found is None:
            return None
        record, first_hash = found
        if first_hash != fingerprint:
            raise IdempotencyConflict(
                f"Idempotency-Key {key!r} was already used for a different weighing "
                f"(record {record.id}); use a new key for a new weighing"
            )
        return Saved(record, False)

    def _active(self, record_id: int) -> WeightRecord:
        record = self.get(record_id)
        if record.corrected_by is not None:
            raise RecordConflict(
                f"record {record_id} was already corrected by record {record.corrected_by}; "
                f"change {record.corrected_by} instead"
            )
        if record.deleted_reason is not None:
            raise RecordConflict(f"record {record_id} is deleted ({record.deleted_reason})")
        return record

    def _times(self, ts: float, created_ts: float) -> dict[str, Any]:
        zone = self.settings.zone()
        local = datetime.fromtimestamp(ts, zone)
        return {
            "ts": ts,
            "created_ts": created_ts,
            "timezone": self.settings.farm_timezone or local.tzname() or "local",
            "local_time": local.isoformat(timespec="seconds"),
            "local_date": local.strftime("%Y%m%d"),
        }

    def _today(self) -> Any:
        return datetime.fromtimestamp(self._clock(), self.settings.zone()).date()

    def _append_csv(self, record: WeightRecord) -> str | None:
        if record.local_date in self._dirty_days:
            # An earlier line of this day is missing: appending would leave the gap.
            self._rewrite_day(record.local_date)
            if record.local_date in self._dirty_days:
                return f"the record is saved; the day's CSV file could not be written, {PENDING}"
            return None
        try:
            self.csv.append(record)
        except OSError as exc:
            # The record is safe in the database; retry_pending() writes the line later.
            self._dirty_days.add(record.local_date)
            logger.error("records: CSV line of record %d not written: %s", record.id, exc)
            return f"the record is saved; its CSV line could not be written ({exc}), {PENDING}"
        return None

    def _rewrite_csv(self, record: WeightRecord) -> str | None:
        """A weighing of another moment goes into its day's file in time order."""
        self._rewrite_day(record.local_date)
        if record.local_date in self._dirty_days:
            return f"the record is saved; the day's CSV file could not be written, {PENDING}"
        return None

    def retry_pending(self) -> list[str]:
        """Write the days whose CSV could not be written (disk full); those still failing
        stay pending. Returns the days written."""
        written = []
        with self._lock:
            for day in sorted(self._dirty_days):
                self._rewrite_day(day)
                if day not in self._dirty_days:
                    written.append(day)
                    logger.info("records: pending CSV lines of %s written", day)
        return written

    def _rewrite_day(self, local_date: str) -> None:
        with self.engine.connect() as conn:
            records = weighing_rows.day_records(conn, local_date)
        try:
            self.csv.rewrite(local_date, records)
            self._dirty_days.discard(local_date)
        except OSError as exc:
            self._dirty_days.add(local_date)
            logger.error("records: %s not rewritten: %s", local_date, exc)

    def _save_pictures(
        self, jpeg: bytes | None, evidence: dict[str, Any] | None
    ) -> tuple[str | None, str | None, str | None]:
        """(snapshot, evidence file, what went wrong): a full disk costs the weighing its
        picture, never the weighing itself."""
        try:
            snapshot = self._save_snapshot(jpeg)
        except OSError as exc:
            logger.error("records: snapshot of a weighing not written: %s", exc)
            lost = "snapshot and evidence" if evidence else "snapshot"
            return None, None, f"the record is saved without its {lost} ({exc})"
        try:
            return snapshot, self._save_evidence(evidence), None
        except OSError as exc:
            logger.error("records: evidence of a weighing not written: %s", exc)
            return snapshot, None, f"the record is saved without its evidence ({exc})"

    def _save_snapshot(self, jpeg: bytes | None) -> str | None:
        return self._save_file(jpeg, "jpg") if jpeg else None

    def _save_evidence(self, evidence: dict[str, Any] | None) -> str | None:
        if not evidence:
            return None
        return self._save_file(json.dumps(evidence, ensure_ascii=False).encode(), "json")

    def _save_file(self, data: bytes, suffix: str) -> str:
        day = datetime.fromtimestamp(self._clock(), self.settings.zone()).strftime("%Y%m%d")
        relative = f"{SNAPSHOT_DIR}/{day}/{uuid.uuid4().hex}.{suffix}"
        path = self.data_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        write_new(path, data)
        return relative

    def _drop_snapshot(self, relative: str | None) -> None:
        if relative is not None:
            (self.data_dir / relative).unlink(missing_ok=True)

    @property
    def dirty_days(self) -> set[str]:
        """Days whose CSV could not be written; the next housekeeping rebuilds them."""
        return set(self._dirty_days)

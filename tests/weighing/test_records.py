"""RecordBook on a real database (an SQLite file, then PostgreSQL) and real CSV files:
averages, CSV lines, reconciliation, retention, corrections and deletions."""

from __future__ import annotations

import csv
import io
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from pigweight.settings import Settings
from pigweight.store.db import open_database
from pigweight.weighing.csv_export import HEADER, safe_text
from pigweight.weighing.records import RecordBook
from pigweight.weighing.rules import (
    CountUnavailable,
    IdempotencyConflict,
    LiveCount,
    RecordConflict,
    Weighing,
    WeighingRejected,
    average_kg,
)

NOON = datetime(2026, 11, 26, 9, 0, tzinfo=UTC).timestamp()  # 12:00 in Moscow
DAY = 86400.0


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def make_book(tmp_path: Path, clock: Clock | None = None, **overrides: Any) -> RecordBook:
    values: dict[str, Any] = {
        "_env_file": None,
        "data_dir": tmp_path / "data",
        "records_dir": tmp_path / "records",
        "log_dir": tmp_path / "logs",
        "farm_timezone": "Europe/Moscow",
    }
    values.update(overrides)
    settings = Settings(**values)
    book = RecordBook(settings.weighing, settings.server.data_dir, clock or Clock(NOON))
    engine = open_database(settings.server.data_dir, settings.server.database_url)
    _ENGINES.append(engine)
    book.start(engine)
    return book


_ENGINES: list[Engine] = []  # closed after each test: a server's pooled connections too


@pytest.fixture(autouse=True)
def _on_both_backends(database_url: str | None, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test here runs on DATA_DIR's SQLite file and on PostgreSQL (DATABASE_URL)."""
    monkeypatch.setenv("DATABASE_URL", database_url or "")
    yield
    while _ENGINES:
        _ENGINES.pop().dispose()


def csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize(
    ("total", "count", "avg"),
    [
        (412.5, 30, 13.75),
        (100, 3, 33.333),
        (200, 3, 66.667),  # 66.6666… rounds up
        (27.5025, 2, 13.751),  # 13.75125 -> 13.751
        (0.0025, 1, 0.003),  # half-up, not banker's (0.002)
        (1.0, 7, 0.143),
    ],
)
def test_average_is_total_over_count_rounded_half_up_to_the_gram(
    total: float, count: int, avg: float
) -> None:
    assert average_kg(total, count) == avg


def test_a_record_is_one_csv_line_that_matches_it(tmp_path: Path) -> None:
    book = make_book(tmp_path)
    live = LiveCount(stable_count=28, confidence=0.91, segmenter="classic", jpeg=b"\xff\xd8jpeg")
    saved = book.record(Weighing("pen1", 350.0, None, "  first\ngroup "), live)
    record = saved.record
    assert saved.created and saved.csv_error is None
    assert (record.count, record.count_source, record.confidence) == (28, "auto", 0.91)
    assert record.avg_weight_kg == 12.5 and record.note == "first group"
    assert record.local_time == "2026-11-26T12:00:00+03:00" and record.local_date == "20261126"
    assert record.segmenter == "classic"
    assert (tmp_path / "data" / str(record.snapshot)).read_bytes() == b"\xff\xd8jpeg"
    path = tmp_path / "records" / "weight_avg_20261126.csv"
    text = path.read_text(encoding="utf-8")
    assert text.splitlines()[0] == ",".join(HEADER)
    assert csv_rows(path) == [
        {
            "timestamp": "2026-11-26 12:00:00",
            "camera": "pen1",
            "count": "28",
            "total_weight_kg": "350",
            "avg_weight_kg": "12.5",
            "count_source": "auto",
            "confidence": "0.910",
            "note": "first group",
            "record_id": str(record.id),
            "corrects_record_id": "",
            "weight_source": "manual",
        }
    ]


def test_the_farm_day_decides_the_file_not_utc(tmp_path: Path) -> None:
    clock = Clock(datetime(2026, 11, 26, 22, 30, tzinfo=UTC).timestamp())  # 01:30 next day MSK
    book = make_book(tmp_path, clock)
    book.record(Weighing("pen1", 100.0, 10), None)
    assert [p.name for p in (tmp_path / "records").iterdir()] == ["weight_avg_20261127.csv"]


def test_formula_notes_are_stored_as_typed_and_exported_as_text(tmp_path: Path) -> None:
    book = make_book(tmp_path)
    note = '=HYPERLINK("http://evil","click")'
    record = book.record(Weighing("pen1", 100.0, 10, note), None).record
    assert record.note == note
    row = csv_rows(tmp_path / "records" / "weight_avg_20261126.csv")[0]
    assert row["note"] == "'" + note
    assert row["count"] == "10" and row["total_weight_kg"] == "100"  # numbers stay numbers
    for start in ("=", "+", "-", "@", "\t", "\r"):
        assert safe_text(start + "1").startswith("'")
    assert safe_text("ordinary -1") == "ordinary -1"


def test_a_note_with_a_nul_character_is_kept_without_it(tmp_path: Path) -> None:
    # PostgreSQL cannot store NUL in text (SQLite can): no backend gets one, and no 500.
    book = make_book(tmp_path)
    record = book.record(Weighing("pen1", 100.0, 10, "pen\x003 after\x00 feeding"), None).record
    assert record.note == "pen3 after feeding" == book.get(record.id).note


@pytest.mark.parametrize(
    ("total", "count", "message"),
    [
        (float("nan"), 10, "positive number"),
        (float("inf"), 10, "positive number"),
        (-1.0, 10, "positive number"),
        (0.0, 10, "positive number"),
        (6000.0, 10, "MAX_TOTAL_WEIGHT_KG"),
        (100.0, 0, "1 to 1000"),
        (100.0, 1001, "1 to 1000"),
        (100.0, 1, "MAX_AVG_WEIGHT_KG"),  # 100 kg a weaner: the count is wrong
        (1.0, 10, "MIN_AVG_WEIGHT_KG"),
    ],
)
def test_impossible_weighings_are_refused_and_nothing_is_written(
    tmp_path: Path, total: float, count: int, message: str
) -> None:
    book = make_book(tmp_path, max_avg_weight_kg=60.0)
    with pytest.raises(WeighingRejected, match=message):
        book.record(Weighing("pen1", total, count), None)
    assert book.page(_all(), 10, 0)[1] == 0
    assert not (tmp_path / "records").exists() or not list((tmp_path / "records").iterdir())


def test_no_count_and_no_live_count_asks_for_the_count(tmp_path: Path) -> None:
    book = make_book(tmp_path)
    for live in (None, LiveCount(None, None, None, None)):
        with pytest.raises(CountUnavailable, match="enter the count"):
            book.record(Weighing("pen1", 100.0), live)


def test_a_retry_with_the_same_key_returns_the_first_record(tmp_path: Path) -> None:
    book = make_book(tmp_path)
    first = book.record(Weighing("pen1", 100.0, 10), None, idempotency_key="abc")
    again = book.record(Weighing("pen1", 100.0, 10), None, idempotency_key="abc")
    assert again.record.id == first.record.id and not again.created
    with pytest.raises(IdempotencyConflict, match="different weighing"):
        book.record(Weighing("pen1", 120.0, 10), None, idempotency_key="abc")
    assert len(csv_rows(tmp_path / "records" / "weight_avg_20261126.csv")) == 1


def test_parallel_weighings_give_whole_lines_and_one_record_each(tmp_path: Path) -> None:
    book = make_book(tmp_path)
    ids: list[int] = []
    barrier = threading.Barrier(50)

    def weigh(i: int) -> None:
        barrier.wait()
        ids.append(book.record(Weighing("pen1", 100.0 + i, 10, f"group {i}"), None).record.id)

    threads = [threading.Thread(target=weigh, args=(i,)) for i in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rows = csv_rows(tmp_path / "records" / "weight_avg_20261126.csv")
    assert sorted(int(r["record_id"]) for r in rows) == sorted(ids) and len(set(ids)) == 50
    for row in rows:
        i = int(row["note"].split()[1])
        assert row["total_weight_kg"] == f"{100 + i}"


def test_a_correction_replaces_the_line_and_keeps_the_original(tmp_path: Path) -> None:
    clock = Clock(NOON)
    book = make_book(tmp_path, clock)
    first = book.record(Weighing("pen1", 300.0, 25), None).record
    clock.now += 60
    second = book.record(Weighing("pen1", 200.0, 20), None).record
    clock.now += 3600
    fixed = book.correct(first.id, count=24, note="one pig counted twice")
    assert fixed.corrects_id == first.id and fixed.ts == first.ts and fixed.avg_weight_kg == 12.5
    assert book.get(first.id).status == "corrected"
    assert book.get(first.id).corrected_by == fixed.id
    rows = csv_rows(tmp_path / "records" / "weight_avg_20261126.csv")
    assert [(r["record_id"], r["corrects_record_id"]) for r in rows] == [
        (str(fixed.id), str(first.id)),
        (str(second.id), ""),
    ]
    with pytest.raises(RecordConflict, match=f"corrected by record {fixed.id}"):
        book.correct(first.id, count=23)
    deleted = book.delete(second.id, "test weighing, scale was not zeroed")
    assert deleted.status == "deleted" and deleted.deleted_reason.startswith("test weighing")
    with pytest.raises(RecordConflict, match="deleted"):
        book.delete(second.id, "again")
    with pytest.raises(WeighingRejected, match="reason"):
        book.delete(fixed.id, "   ")
    rows = csv_rows(tmp_path / "records" / "weight_avg_20261126.csv")
    assert [r["record_id"] for r in rows] == [str(fixed.id)]
    records, total = book.page(_all(), 100, 0)
    assert total == 3 and {r.status for r in records} == {"active", "corrected", "deleted"}


def _all() -> Any:
    from pigweight.store.weighing_rows import RecordFilter

    return RecordFilter(active_only=False)


def test_start_rebuilds_a_lost_or_truncated_csv(tmp_path: Path) -> None:
    book = make_book(tmp_path)
    for i in range(3):
        book.record(Weighing("pen1", 100.0 + i, 10), None)
    path = tmp_path / "records" / "weight_avg_20261126.csv"
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) - 7])  # a power cut in the middle of the last line
    make_book(tmp_path)
    assert path.read_bytes() == whole
    path.unlink()
    make_book(tmp_path)
    assert path.read_bytes() == whole
    path.write_bytes(whole.replace(b"101", b"999"))  # somebody edited it in a spreadsheet
    make_book(tmp_path)
    assert path.read_bytes() == whole
    assert b"999" in path.with_suffix(".csv.edited").read_bytes()
    path.write_bytes(whole.replace(b"102", b"888"))  # and again: the first edit stays
    make_book(tmp_path)
    kept = sorted(p.read_bytes() for p in path.parent.glob("*.csv.edited*"))
    assert len(kept) == 2 and any(b"888" in k for k in kept) and any(b"999" in k for k in kept)


def test_retention_removes_only_files_older_than_the_setting(tmp_path: Path) -> None:
    clock = Clock(NOON - 100 * DAY)
    book = make_book(tmp_path, clock, records_retention_days=90)
    for days_ago in (100, 91, 90, 1):
        clock.now = NOON - days_ago * DAY
        book.record(Weighing("pen1", 100.0, 10), None)
    (tmp_path / "records" / "notes.txt").write_text("the farm's own file")
    clock.now = NOON
    result = book.housekeeping()
    names = sorted(p.name for p in (tmp_path / "records").iterdir())
    assert result["removed"] == ["weight_avg_20260818.csv", "weight_avg_20260827.csv"]
    assert names == ["notes.txt", "weight_avg_20260828.csv", "weight_avg_20261125.csv"]
    assert book.page(_all(), 100, 0)[1] == 4  # the database keeps every record


def test_a_failed_csv_write_keeps_the_record_and_is_repaired_later(tmp_path: Path) -> None:
    book = make_book(tmp_path)
    records_dir = tmp_path / "records"
    records_dir.write_text("a file where the folder should be")  # the append cannot happen
    saved = book.record(Weighing("pen1", 100.0, 10), None)
    assert saved.csv_error and "saved" in saved.csv_error
    assert book.get(saved.record.id).count == 10
    assert book.dirty_days == {"20261126"}
    records_dir.unlink()
    # The next weighing of that day writes the whole day, not just its own line.
    second = book.record(Weighing("pen1", 120.0, 10), None)
    assert second.csv_error is None and book.dirty_days == set()
    rows = csv_rows(records_dir / "weight_avg_20261126.csv")
    assert [r["record_id"] for r in rows] == [str(saved.record.id), str(second.record.id)]


def test_csv_download_has_the_daily_columns_then_the_batch(tmp_path: Path) -> None:
    book = make_book(tmp_path)
    book.record(Weighing("pen1", 100.0, 10), None)
    data = book.csv_bytes(_all()).decode()
    assert next(csv.reader(io.StringIO(data))) == [*HEADER, "batch"]

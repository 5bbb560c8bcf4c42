"""Where a record's weight came from, its evidence bundle, the operator's confirmation, and
databases and CSV files written before these existed."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from pigweight.store.db import DB_FILE_NAME, open_database
from pigweight.weighing.csv_export import HEADER
from pigweight.weighing.rules import (
    LiveCount,
    RecordConflict,
    RecordNotFound,
    Weighing,
    WeighingRejected,
)
from tests.weighing.test_records import NOON, Clock, csv_rows, make_book

EVIDENCE = {
    "kind": "automatic weighing",
    "count_histogram": {"19": 30, "18": 2},
    "scale": {"protocol": "ascii", "frames": [{"raw": "ST,GS,+0228.0kg", "weight_kg": 228.0}]},
}


def test_a_scale_total_is_marked_scale_in_the_database_and_the_csv(tmp_path: Path) -> None:
    book = make_book(tmp_path)
    typed = book.record(Weighing("pen1", 300.0, 25), None).record
    read = book.record(Weighing("pen1", 228.0, 19, "", "scale"), None).record
    assert (typed.weight_source, read.weight_source) == ("manual", "scale")
    rows = csv_rows(tmp_path / "records" / "weight_avg_20261126.csv")
    assert [r["weight_source"] for r in rows] == ["manual", "scale"]
    with pytest.raises(WeighingRejected, match="weight_source must be one of"):
        book.record(Weighing("pen1", 228.0, 19, "", "guess"), None)


def test_a_corrected_total_is_typed_a_corrected_count_keeps_the_scale(tmp_path: Path) -> None:
    book = make_book(tmp_path)
    first = book.record(Weighing("pen1", 228.0, 19, "", "scale"), None, evidence=EVIDENCE).record
    recount = book.correct(first.id, count=18)
    assert recount.weight_source == "scale" and recount.evidence == first.evidence
    retyped = book.correct(recount.id, total_weight_kg=230.0)
    assert retyped.weight_source == "manual" and retyped.count == 18


def test_the_evidence_bundle_is_kept_beside_the_snapshot(tmp_path: Path) -> None:
    book = make_book(tmp_path)
    live = LiveCount(19, 0.93, "classic", b"\xff\xd8jpeg")
    record = book.record(Weighing("pen1", 228.0, None, "", "scale"), live, "k1", EVIDENCE).record
    assert record.evidence is not None and record.evidence.endswith(".json")
    assert book.evidence(record.id) == EVIDENCE
    plain = book.record(Weighing("pen1", 100.0, 10), None).record
    assert plain.evidence is None and book.evidence(plain.id) is None
    # A retry of the same weighing writes no second bundle.
    again = book.record(Weighing("pen1", 228.0, None, "", "scale"), live, "k1", EVIDENCE)
    assert not again.created
    assert len(list((tmp_path / "data" / "snapshots").rglob("*.json"))) == 1


def test_confirming_is_kept_once_and_refused_for_a_replaced_record(tmp_path: Path) -> None:
    clock = Clock(NOON)
    book = make_book(tmp_path, clock)
    record = book.record(Weighing("pen1", 228.0, 19, "", "scale"), None).record
    assert record.confirmed_ts is None
    clock.now += 60
    confirmed = book.confirm(record.id)
    assert confirmed.confirmed_ts == NOON + 60
    clock.now += 60
    assert book.confirm(record.id).confirmed_ts == NOON + 60  # the first confirmation stays
    other = book.record(Weighing("pen1", 200.0, 19), None).record
    book.correct(other.id, count=18)
    with pytest.raises(RecordConflict, match="already corrected"):
        book.confirm(other.id)
    with pytest.raises(RecordNotFound):
        book.confirm(999)


def _old_database(data_dir: Path) -> None:
    """A database as the version before weight_source wrote it, with one record."""
    data_dir.mkdir(parents=True)
    conn = sqlite3.connect(data_dir / DB_FILE_NAME)
    conn.executescript(
        """
        CREATE TABLE weight_records (
            id INTEGER PRIMARY KEY, ts FLOAT NOT NULL, created_ts FLOAT NOT NULL,
            timezone VARCHAR(64) NOT NULL, local_time VARCHAR(32) NOT NULL,
            local_date VARCHAR(8) NOT NULL, camera VARCHAR(32) NOT NULL, count INTEGER NOT NULL,
            count_source VARCHAR(8) NOT NULL, confidence FLOAT, total_weight_kg FLOAT NOT NULL,
            avg_weight_kg FLOAT NOT NULL, note TEXT NOT NULL, segmenter VARCHAR(64),
            snapshot VARCHAR(255), corrects_id INTEGER UNIQUE REFERENCES weight_records (id),
            idempotency_key VARCHAR(128) UNIQUE, request_hash VARCHAR(64));
        INSERT INTO weight_records VALUES (1, 1795683600.0, 1795683600.0, 'Europe/Moscow',
            '2026-11-26T12:00:00+03:00', '20261126', 'pen1', 30, 'manual', NULL, 412.5,
            13.75, 'old', NULL, NULL, NULL, NULL, NULL);
        """
    )
    conn.commit()
    conn.close()


def test_a_database_from_before_gains_the_columns_and_keeps_its_records(
    tmp_path: Path,
) -> None:
    _old_database(tmp_path / "data")
    old_csv = tmp_path / "records" / "weight_avg_20261126.csv"
    old_csv.parent.mkdir()
    old_csv.write_bytes(
        (
            ",".join(HEADER[:-1]) + "\r\n2026-11-26 12:00:00,pen1,30,412.5,13.75,manual,,old,1,\r\n"
        ).encode()
    )
    book = make_book(tmp_path)  # opens the database and reconciles the CSV, as a start does
    record = book.get(1)
    assert (record.count, record.total_weight_kg, record.note) == (30, 412.5, "old")
    assert record.weight_source == "manual" and record.evidence is None
    # The old file is rewritten with the new column, and not kept aside as an operator's edit.
    assert [r["weight_source"] for r in csv_rows(old_csv)] == ["manual"]
    assert not list(old_csv.parent.glob("*.edited*"))
    new = book.record(Weighing("pen1", 228.0, 19, "", "scale"), None).record
    assert new.id == 2 and book.confirm(1).confirmed_ts is not None
    conn = sqlite3.connect(tmp_path / "data" / DB_FILE_NAME)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    conn.close()
    open_database(tmp_path / "data").dispose()  # a second start adds nothing

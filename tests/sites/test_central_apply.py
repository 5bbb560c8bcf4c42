"""The central's writes: one row however often a message comes, a site writes only its own
rows, the newest batch revision wins (SQLite and PostgreSQL)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from sqlalchemy import Engine, func, select

from pigweight.sites import wire
from pigweight.sites.central_apply import Outcome, apply
from pigweight.sites.central_book import CentralBook
from pigweight.store.db import central_records, open_database
from tests.sites.test_wire import EVENT, RECORD

FIX = "7d1e1c1a-0c55-4b7e-8f0a-2b3c4d5e6f70"
BATCH = "9a1e1c1a-0c55-4b7e-8f0a-2b3c4d5e6f71"


def _send(
    engine: Engine, site: str, body: wire.Body, event: str = EVENT, sender: str = ""
) -> Outcome:
    envelope = wire.Envelope(sender or site, event, body)
    with engine.begin() as conn:
        return apply(conn, site, envelope.subject, wire.encode(envelope), 100.0)


def test_the_same_event_twice_is_one_row(tmp_path: Path, database_url: str | None) -> None:
    engine = open_database(tmp_path, database_url)
    try:
        assert _send(engine, "barn1", RECORD) is Outcome.TAKEN
        assert _send(engine, "barn1", RECORD) is Outcome.REPEAT
        # a repeat published anew (another event id after the duplicate window): still one
        assert _send(engine, "barn1", RECORD, FIX) is Outcome.REPEAT
        deletion = wire.DeletionBody(RECORD.uuid, 5.0, "typo")
        assert _send(engine, "barn1", deletion) is Outcome.TAKEN
        assert _send(engine, "barn1", deletion) is Outcome.REPEAT
        with engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(central_records)).scalar() == 1
        book = CentralBook(engine, clock=lambda: 110.0)
        assert book.records()[1] == 0  # deleted
        (record,), total = book.records(current_only=False)
        assert total == 1 and record.status == "deleted" and record.deleted_reason == "typo"
        (site,) = book.sites()
        assert (site.site, site.online, site.messages, site.records) == ("barn1", True, 2, 0)
    finally:
        engine.dispose()


def test_a_correction_replaces_and_batches_keep_the_newest(
    tmp_path: Path, database_url: str | None
) -> None:
    engine = open_database(tmp_path, database_url)
    try:
        _send(engine, "barn1", RECORD)
        fix = replace(RECORD, uuid=FIX, corrects_uuid=RECORD.uuid, count=29)
        _send(engine, "barn1", fix, FIX)
        (current,), _ = CentralBook(engine).records()
        assert (current.uuid, current.count) == (FIX, 29)
        older = wire.BatchBody(BATCH, "Загон 3", "cam1", 40, None, "", 1.0, None, 5.0)
        newer = replace(older, closed_ts=9.0, changed_ts=9.0)
        assert _send(engine, "barn1", newer) is Outcome.TAKEN
        assert _send(engine, "barn1", older, FIX) is Outcome.REPEAT  # late and older: ignored
        (batch,) = CentralBook(engine).batches()
        assert batch.closed_ts == 9.0
        days = CentralBook(engine).days()
        assert [(d.site, d.weighings, d.animals) for d in days] == [("barn1", 1, 29)]
    finally:
        engine.dispose()


def test_a_site_cannot_write_another_sites_rows(tmp_path: Path) -> None:
    engine = open_database(tmp_path)
    try:
        _send(engine, "barn1", RECORD)
        # barn2's stream carries a message that says it is barn1's: refused
        assert _send(engine, "barn2", RECORD, sender="barn1") is Outcome.REFUSED
        # barn2's own message on barn1's subject: refused
        envelope = wire.Envelope("barn2", EVENT, replace(RECORD, count=1))
        with engine.begin() as conn:
            subject = "pw.site.barn1.records"
            assert apply(conn, "barn2", subject, wire.encode(envelope), 1.0) is Outcome.REFUSED
        # barn2 reusing barn1's record uuid writes a barn2 row; barn1's stays as it was
        assert _send(engine, "barn2", replace(RECORD, count=1)) is Outcome.TAKEN
        (mine,), _ = CentralBook(engine).records(site="barn1")
        assert mine.count == 30
    finally:
        engine.dispose()

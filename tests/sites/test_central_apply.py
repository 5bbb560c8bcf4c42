"""The central's writes: one row however often a message comes, a site writes only its own
rows, the newest batch revision wins (SQLite and PostgreSQL)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from sqlalchemy import Engine, func, select

from pigweight.sites import wire
from pigweight.sites.central_apply import Outcome, apply, apply_many
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


def test_a_fetch_is_written_as_if_one_message_after_another(
    tmp_path: Path, database_url: str | None
) -> None:
    """The ingest writes a fetch in one statement a table: a message twice in one fetch is
    one row, the newest batch revision wins whatever its place, a refused message in the
    middle leaves the others taken."""
    engine = open_database(tmp_path, database_url)
    older = wire.BatchBody(BATCH, "Загон 3", "cam1", 40, None, "", 1.0, None, 5.0)
    newer = replace(older, closed_ts=9.0, changed_ts=9.0)
    fix = replace(RECORD, uuid=FIX, corrects_uuid=RECORD.uuid, count=29)
    points = wire.CountsBody("cam1", [[10.0, 28, 28], [11.0, 29, None]])
    overlap = wire.CountsBody("cam1", [[11.0, 29, None], [12.0, 30, 30]])
    bodies: list[tuple[str, wire.Body]] = [
        ("barn1", RECORD),
        ("barn1", newer),
        ("barn1", RECORD),  # again in the same fetch
        ("barn2", fix),  # another site's message in barn1's stream
        ("barn1", older),  # an older revision after the newer one
        ("barn1", fix),
        ("barn1", points),
        ("barn1", overlap),
        ("barn1", points),
    ]
    messages = []
    for n, (sender, body) in enumerate(bodies):
        envelope = wire.Envelope(sender, f"{EVENT[:-2]}{n:02d}", body)
        messages.append((wire.Envelope("barn1", EVENT, body).subject, wire.encode(envelope)))
    try:
        with engine.begin() as conn:
            outcomes = apply_many(conn, "barn1", messages, 100.0)
        taken, repeat, refused = Outcome.TAKEN, Outcome.REPEAT, Outcome.REFUSED
        assert outcomes == [taken, taken, repeat, refused, repeat, taken, taken, taken, repeat]
        with engine.begin() as conn:  # the same fetch again, as after a crash before the acks
            again = apply_many(conn, "barn1", messages, 101.0)
        assert again == [repeat, repeat, repeat, refused, repeat, repeat, repeat, repeat, repeat]
        book = CentralBook(engine)
        (current,), _ = book.records()
        assert (current.uuid, current.count) == (FIX, 29)
        (batch,) = book.batches()
        assert batch.closed_ts == 9.0
        series = book.counts("barn1", "cam1", 0.0, 20.0)
        assert [(p.ts, p.count) for p in series] == [(10.0, 28), (11.0, 29), (12.0, 30)]
    finally:
        engine.dispose()

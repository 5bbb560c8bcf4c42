"""`pigweight sites resend`: a site whose nats-server lost its store sends its changes again;
the central takes what it had as repeats and what it missed as new."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete

from pigweight.cli import main
from pigweight.settings import Settings
from pigweight.sites.central_apply import Outcome, apply_many
from pigweight.sites.central_book import CentralBook
from pigweight.sites.journal import SiteJournal
from pigweight.store import outbox
from pigweight.store.db import open_database, site_outbox
from pigweight.weighing.records import RecordBook
from pigweight.weighing.rules import Weighing


def _outbox(engine: Engine) -> list[tuple[str, bytes]]:
    with engine.connect() as conn:
        rows = outbox.oldest(conn, 1000)
    return [(r.subject, r.payload.encode()) for r in rows]


def test_a_site_resends_what_the_central_missed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "barn1"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATA_DIR", str(data))
    monkeypatch.setenv("SITE_ID", "barn1")
    settings = Settings(_env_file=None, data_dir=data, site_id="barn1")  # type: ignore[call-arg]
    site = open_database(data)
    central = open_database(tmp_path / "central")
    book = RecordBook(settings.weighing, data)
    book.set_journal(SiteJournal("barn1"))
    book.start(site)
    try:
        first = book.record(Weighing("cam1", 240.0, count=20), None)
        reached = _outbox(site)  # what reached the central before the store was lost
        with central.begin() as conn:
            assert apply_many(conn, "barn1", reached, 1.0) == [Outcome.TAKEN]
        with site.begin() as conn:
            conn.execute(delete(site_outbox))  # in the leaf's stream, lost with its disk
        second = book.record(Weighing("cam1", 250.0, count=25), None)
        book.correct(second.record.id, count=24)
        book.delete(first.record.id, "typed twice")
        with site.begin() as conn:
            conn.execute(delete(site_outbox))
        assert CentralBook(central).records()[1] == 1  # the central has the first only

        assert main(["sites", "resend", "--since", date.today().isoformat()]) == 0
        said = capsys.readouterr().out
        assert "3 records, 1 deletions" in said and "barn1" in said
        again = _outbox(site)
        with central.begin() as conn:
            outcomes = apply_many(conn, "barn1", again, 2.0)
        # the first record is a repeat; the second, its correction and the deletion are new
        assert outcomes.count(Outcome.REPEAT) == 1 and outcomes.count(Outcome.TAKEN) == 3
        (current,), total = CentralBook(central).records()
        assert (current.count, total) == (24, 1)
    finally:
        site.dispose()
        central.dispose()


@pytest.mark.parametrize(
    ("env", "args", "said"),
    [
        ({}, ["--since", "2026-12-01"], "set SITE_ID"),
        ({"SITE_ID": "barn1"}, ["--since", "1.12.2026"], "use a day as YYYY-MM-DD"),
    ],
)
def test_resend_says_what_to_fix(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    env: dict[str, str],
    args: list[str],
    said: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("SITE_ID", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(["sites", "resend", *args]) == 2
    assert said in capsys.readouterr().err

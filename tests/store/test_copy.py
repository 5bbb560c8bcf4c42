"""`pigweight db copy`: a farm's SQLite file into an empty PostgreSQL database, row for row."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from pigweight.auth.users import UserBook
from pigweight.cli import main
from pigweight.media.probe import VideoInfo
from pigweight.settings import Settings
from pigweight.store import videos
from pigweight.store.db import metadata, open_database
from pigweight.weighing.records import RecordBook
from pigweight.weighing.rules import Weighing
from tests.postgres import PostgresServer


@pytest.fixture
def farm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """A farm PC's DATA_DIR: weighings (one corrected, one deleted), batches, a user and its
    token, an indexed recording."""
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    for name, value in {
        "DATA_DIR": tmp_path / "data",
        "RECORDS_DIR": tmp_path / "records",
        "LOG_DIR": tmp_path / "logs",
    }.items():
        monkeypatch.setenv(name, str(value))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    engine = open_database(settings.server.data_dir)
    try:
        book = RecordBook(settings.weighing, settings.server.data_dir)
        book.start(engine)
        book.batches.begin("cam1", "Загон 7", expected_head=40, note="нуль\x00в тексте")
        ids = [book.record(Weighing("cam1", 240.0 + i, count=20), None).record.id for i in range(5)]
        book.correct(ids[1], total_weight_kg=251.5)
        book.delete(ids[2], "ошибка оператора")
        users = UserBook(engine)
        users.add("olga", "admin", "Password-123")
        users.add_token("olga", "erp")
        info = VideoInfo(
            tmp_path / "hour.mp4", 1 << 30, "mp4", "h264", 1280, 720, 25.0, 60.0, 0.0, 1500,
            (0.0, 2.0), False, True,
        )  # fmt: skip
        with engine.begin() as conn:
            video = videos.add_video(conn, info, "hour.mp4", "register")
            videos.add_samples(
                conn, video, [videos.SampleRow(float(t), 20, 0.9) for t in range(60)]
            )
    finally:
        engine.dispose()
    return settings


@pytest.fixture
def empty_pg(postgres: PostgresServer) -> Iterator[str]:
    name = postgres.create_database()
    try:
        yield postgres.url(name)
    finally:
        postgres.drop_database(name)


def _tables(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    with engine.connect() as conn:
        return {
            t.name: [tuple(r) for r in conn.execute(select(t).order_by(*t.primary_key.columns))]
            for t in metadata.sorted_tables
        }


def test_every_row_reaches_postgresql_and_new_ids_follow_on(
    farm: Settings, empty_pg: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["db", "copy", "--to", empty_pg]) == 0
    out = capsys.readouterr()
    assert "copied" in out.out and "weight_records: 6/6 rows" in out.err
    sqlite = open_database(farm.server.data_dir)
    pg = open_database(farm.server.data_dir, empty_pg)
    try:
        before, after = _tables(sqlite), _tables(pg)
        assert len(before["weight_records"]) == 6 and len(before["video_samples"]) == 60
        before["batches"] = [
            tuple(str(v).replace("\x00", "") for v in r) for r in before["batches"]
        ]
        after["batches"] = [tuple(str(v) for v in r) for r in after["batches"]]
        assert after == before
        # The server on PostgreSQL goes on where the farm's file stopped.
        book = RecordBook(farm.weighing, farm.server.data_dir)
        book.start(pg)
        assert book.record(Weighing("cam1", 300.0, count=25), None).record.id == 7
        assert [u.name for u in UserBook(pg).all()] == ["olga"]
    finally:
        sqlite.dispose()
        pg.dispose()


def test_a_target_that_holds_rows_is_refused_and_left_alone(
    farm: Settings, empty_pg: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["db", "copy", "--to", empty_pg]) == 0
    capsys.readouterr()
    assert main(["db", "copy", "--to", empty_pg]) == 2
    err = capsys.readouterr().err
    assert "not empty" in err and "weight_records (6 rows)" in err
    pg = open_database(farm.server.data_dir, empty_pg)
    try:
        assert len(_tables(pg)["weight_records"]) == 6
    finally:
        pg.dispose()


def test_a_target_that_cannot_be_opened_is_named_without_its_password(
    farm: Settings, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = "postgresql://pigweight:Copy-Secret9@127.0.0.1:1/pigweight"
    assert main(["db", "copy", "--to", url]) == 2
    err = capsys.readouterr().err
    assert "--to: cannot open" in err and "***" in err and "Copy-Secret9" not in err
    monkeypatch.setenv("NEW_DB", "")
    assert main(["db", "copy", "--to-env", "NEW_DB"]) == 2
    assert "NEW_DB is empty" in capsys.readouterr().err

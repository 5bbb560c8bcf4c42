"""DATABASE_URL: the app on PostgreSQL records a weighing and reads it back after a restart; a
URL's password shows nowhere; a wrong URL stops the start with one line naming it."""

from __future__ import annotations

import socket
from pathlib import Path
from urllib.parse import quote

import pytest

from pigweight.cli import main
from pigweight.errors import DatabaseUnavailable
from pigweight.settings import SettingsError, load_settings
from pigweight.store.db import DB_FILE_NAME, open_database
from tests.api.conftest import MakeClient, make_settings
from tests.planted_secret import PLANTED_PASSWORD, find_planted
from tests.postgres import USER, PostgresServer

SECRET = quote(PLANTED_PASSWORD, safe="")  # as a URL carries it


def test_the_app_on_postgresql_records_a_weighing_and_reads_it_back(
    make_client: MakeClient, postgres: PostgresServer, tmp_path: Path
) -> None:
    name = postgres.create_database()
    try:
        # The test server trusts any password; the planted one must leak nowhere (conftest).
        url = f"postgresql://{USER}:{SECRET}@127.0.0.1:{postgres.port}/{name}"
        client = make_client(database_url=url, farm_timezone="Europe/Moscow")
        body = {"camera_id": "demo", "total_weight_kg": 412.5, "count": 30, "note": "pen 4"}
        r = client.post("/api/weight/average", json=body)
        assert r.status_code == 201, r.text
        record = r.json()
        assert record["avg_weight_kg"] == 13.75 and record["count_source"] == "manual"
        client.__exit__(None, None, None)  # a restart: everything comes from the server
        again = make_client(database_url=url, farm_timezone="Europe/Moscow")
        page = again.get("/api/weight/records").json()
        assert page["total"] == 1
        (read,) = page["records"]
        assert (read["id"], read["count"], read["note"]) == (record["id"], 30, "pen 4")
        assert not (tmp_path / "data" / DB_FILE_NAME).exists()  # not the SQLite file
        again.__exit__(None, None, None)
    finally:
        postgres.drop_database(name)


def test_the_url_is_printed_with_its_password_hidden(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://pigweight:{SECRET}@db.farm.lan:5432/pigweight"
    settings = make_settings(tmp_path, database_url=url)
    shown = settings.public_dict()["database_url"]
    assert shown == "postgresql+psycopg://pigweight:***@db.farm.lan:5432/pigweight"
    assert not find_planted(repr(settings)) and not find_planted(str(settings.public_dict()))
    assert make_settings(tmp_path, database_url="").server.database_url is None  # empty: SQLite


@pytest.mark.parametrize(
    "url",
    [f"mysql://root:{SECRET}@db/pigweight", f"root:{SECRET}@db/pigweight"],
    ids=["unknown-dialect", "no-scheme"],
)
def test_an_unknown_kind_of_database_is_refused_by_name(url: str) -> None:
    with pytest.raises(SettingsError, match=r"DATABASE_URL: .*unknown database URL") as caught:
        load_settings(_env_file=None, database_url=url)
    assert not find_planted(str(caught.value))


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_unreachable_server_is_one_message_naming_database_url(tmp_path: Path) -> None:
    url = f"postgresql://pigweight:{SECRET}@127.0.0.1:{_closed_port()}/pigweight"
    with pytest.raises(DatabaseUnavailable) as caught:
        open_database(tmp_path, url)
    message = str(caught.value)
    assert message.startswith("DATABASE_URL: cannot open postgresql+psycopg://pigweight:***@")
    assert "refused" in message.lower() and not find_planted(message)


def test_serve_stops_at_once_with_that_message_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env of the repo's
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    url = f"postgresql://pigweight:{SECRET}@127.0.0.1:{_closed_port()}/pigweight"
    monkeypatch.setenv("DATABASE_URL", url)
    assert main(["serve"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("pigweight: error: DATABASE_URL: cannot open") and "\n" not in err
    assert not find_planted(err)

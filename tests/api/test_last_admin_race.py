"""The last admin stays under concurrency: two admins who demote (or remove) each other at
the same moment, through a real uvicorn and a real database (an SQLite file, then
PostgreSQL), never leave nobody who can manage users; one of the two is refused and told
why."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from pigweight.auth.users import UserBook
from pigweight.settings import Settings
from pigweight.store.db import open_database, users
from tests.api.conftest import make_settings
from tests.web.server import serving

PASSWORD = "correct horse battery"
TRIALS = 8

Act = Callable[[httpx.Client], httpx.Response]


@pytest.fixture
def settings(tmp_path: Path, database_url: str | None) -> Settings:
    settings = make_settings(tmp_path, demo_scale=False, database_url=database_url)
    engine = open_database(settings.server.data_dir, settings.server.database_url)
    for name in ("anna", "boris"):
        UserBook(engine).add(name, "admin", PASSWORD)
    engine.dispose()
    return settings


@pytest.fixture
def url(settings: Settings) -> Iterator[str]:
    with serving(settings) as served:
        yield served


def session(url: str, name: str) -> httpx.Client:
    http = httpx.Client(base_url=url, timeout=30)
    r = http.post("/api/auth/login", json={"name": name, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return http


def admins(settings: Settings) -> list[str]:
    """Read by a connection of its own, as another process would."""
    engine = open_database(settings.server.data_dir, settings.server.database_url)
    try:
        with engine.connect() as conn:
            query = select(users.c.name).where(users.c.role == "admin")
            return list(conn.execute(query).scalars())
    finally:
        engine.dispose()


def at_once(first: tuple[httpx.Client, Act], second: tuple[httpx.Client, Act]) -> list[int]:
    """Both requests sent together (released by one barrier); their statuses, and every
    refusal must say why."""
    barrier = threading.Barrier(2)

    def send(pair: tuple[httpx.Client, Act]) -> httpx.Response:
        barrier.wait()
        return pair[1](pair[0])

    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(send, (first, second)))
    for r in answers:
        if r.status_code >= 400:
            assert r.status_code < 500 and r.json()["detail"], r.text
    return sorted(r.status_code for r in answers)


def demote(name: str) -> Act:
    return lambda http: http.patch(f"/api/users/{name}", json={"role": "viewer"})


def remove(name: str) -> Act:
    return lambda http: http.delete(f"/api/users/{name}")


def restore(url: str, settings: Settings) -> None:
    """Both admins again, through whichever admin is left."""
    (left,) = admins(settings)
    other = "boris" if left == "anna" else "anna"
    http = session(url, left)
    body = {"name": other, "role": "admin", "password": PASSWORD}
    if http.patch(f"/api/users/{other}", json={"role": "admin"}).status_code == 404:
        assert http.post("/api/users", json=body).status_code == 201
    http.close()


@pytest.mark.parametrize(
    ("anna_does", "boris_does"),
    [(demote("boris"), demote("anna")), (remove("boris"), demote("anna"))],
    ids=["demote-each-other", "remove-while-demoted"],
)
def test_two_admins_acting_on_each_other_at_once_leave_an_admin(
    url: str, settings: Settings, anna_does: Act, boris_does: Act
) -> None:
    for trial in range(TRIALS):
        anna, boris = session(url, "anna"), session(url, "boris")
        statuses = at_once((anna, anna_does), (boris, boris_does))
        anna.close()
        boris.close()
        left = admins(settings)
        assert len(left) == 1, f"trial {trial}: answers {statuses}, admins left: {left}"
        assert statuses[0] < 300 and 400 <= statuses[1] < 500, statuses
        restore(url, settings)

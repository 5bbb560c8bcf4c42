"""Logins sent all at once to a real uvicorn: each try is counted before its password is
checked, so a burst cannot slip past the rate limit, and password checks (argon2id, 64 MiB
each) run one at a time behind a short queue, so a burst cannot exhaust the memory."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from pigweight.auth.users import UserBook
from pigweight.store.db import open_database
from tests.api.conftest import make_settings
from tests.web.server import serving

PASSWORD = "correct horse battery"
WRONG = "not the password at all"


@pytest.fixture
def url(tmp_path: Path) -> Iterator[str]:
    settings = make_settings(tmp_path, demo_scale=False)
    engine = open_database(settings.server.data_dir)
    book = UserBook(engine)
    book.add("oleg", "operator", PASSWORD)
    book.add("vera", "viewer", PASSWORD)
    engine.dispose()
    with serving(settings) as served:
        yield served


@dataclass(frozen=True)
class Answer:
    status_code: int
    headers: dict[str, str]  # names in lower case
    text: str

    def json(self) -> Any:
        return json.loads(self.text)


async def _post_all(url: str, logins: list[tuple[str, str, str]]) -> list[Answer]:
    """POST every (client address, name, password) at once: the connections are opened
    first, then every request is written before any answer is read."""
    parts = urlsplit(url)
    connections = [
        await asyncio.open_connection(parts.hostname, parts.port, local_addr=(address, 0))
        for address, _, _ in logins
    ]
    for (_, writer), (_, name, password) in zip(connections, logins, strict=True):
        body = json.dumps({"name": name, "password": password}).encode()
        head = (
            f"POST /api/auth/login HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n"
        )
        writer.write(head.encode() + body)
    raw = await asyncio.gather(*(reader.read() for reader, _ in connections))
    for _, writer in connections:
        writer.close()
    return [_parse(answer) for answer in raw]


def _parse(raw: bytes) -> Answer:
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines)
    return Answer(int(status_line.split()[1]), headers, body.decode())


def post_all(url: str, logins: list[tuple[str, str, str]]) -> list[Answer]:
    return asyncio.run(_post_all(url, logins))


def assert_told_to_wait(r: Answer, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    assert 0 < int(r.headers["retry-after"]) <= 60
    body = r.json()
    assert body["code"] == code and "try again in" in body["detail"], body


def test_parallel_logins_for_one_name_are_limited_and_lock_the_right_password_too(
    url: str,
) -> None:
    answers = post_all(url, [("127.0.0.1", "oleg", WRONG)] * 60)
    statuses = Counter(r.status_code for r in answers)
    assert set(statuses) <= {401, 429} and statuses[401] <= 5, (
        f"60 wrong passwords at once: {dict(statuses)}; at most 5 may be checked"
    )
    for r in answers:
        if r.status_code == 429:
            assert_told_to_wait(r, 429, "too_many_logins")
    # Locked like the wrong ones: the right password waits too, from the same address.
    assert_told_to_wait(post_all(url, [("127.0.0.1", "oleg", PASSWORD)])[0], 429, "too_many_logins")
    # Another name, another address: not locked out.
    assert post_all(url, [("127.0.0.1", "vera", PASSWORD)])[0].status_code == 200
    assert post_all(url, [("127.0.0.2", "oleg", PASSWORD)])[0].status_code == 200


def test_a_burst_from_many_addresses_is_checked_one_at_a_time_or_told_to_retry(url: str) -> None:
    # 40 addresses (all of 127.0.0.0/8 is loopback), 2 names each: under every rate limit.
    logins = [(f"127.0.1.{i}", name, WRONG) for i in range(1, 41) for name in ("oleg", "vera")]
    answers = post_all(url, logins)
    statuses = Counter(r.status_code for r in answers)
    assert set(statuses) <= {401, 503}, dict(statuses)
    assert statuses[503] > 0, f"80 logins at once were all checked at once: {dict(statuses)}"
    for r in answers:
        if r.status_code == 503:
            assert_told_to_wait(r, 503, "login_busy")
    # A refused try was never checked: it does not count, and the service recovers.
    assert post_all(url, [("127.0.1.1", "oleg", PASSWORD)])[0].status_code == 200

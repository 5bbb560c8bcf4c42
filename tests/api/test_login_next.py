"""Where /login sends the user afterwards (`?next=`): only a path of this service, decided
as a browser's URL parser decides. Anything that would lead to another host, or is not a
path at all, is dropped by the server (the page then goes to `/`); the page checks again
(tests/web/test_login_redirect.py)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import MakeClient

# As they appear in the query string. A browser reads `\` as `/` and drops tabs and
# newlines, so the first five are `//host`: another origin.
ELSEWHERE = [
    "/%5C127.0.0.1:8799/x",
    "/%09/evil.example",
    "/%0A/evil.example",
    "//evil.example",
    "%2F%2Fevil.example/x",
    "/%5Cevil.example",
    "%5C%5Cevil.example",
    "///evil.example",
    "/%5C/evil.example",
    "https://evil.example/",
    "HTTPS:%2F%2Fevil.example",
    "javascript:alert(1)",
    "%20/x",
    "x/y",
    "",
]
KEPT = [
    "%2F",
    "%2Farchive%3Fx%3D1",
    "/archive",
    "/video/12?t=3.5",
    "/%D0%B0%D1%80%D1%85%D0%B8%D0%B2",
]


@pytest.fixture
def client(make_client: MakeClient) -> TestClient:
    return make_client(demo_scale=False)


@pytest.mark.parametrize("target", ELSEWHERE)
def test_a_next_that_leaves_the_service_is_dropped(client: TestClient, target: str) -> None:
    r = client.get(f"/login?next={target}", follow_redirects=False)
    assert r.status_code == 303, f"next={target}: {r.status_code}, the page would follow it"
    assert r.headers["location"] == "/login"


@pytest.mark.parametrize("target", KEPT)
def test_a_path_of_the_service_is_kept(client: TestClient, target: str) -> None:
    r = client.get(f"/login?next={target}", follow_redirects=False)
    assert r.status_code == 200 and "Вход" in r.text


def test_only_the_first_next_counts_as_on_the_page(client: TestClient) -> None:
    r = client.get("/login?next=/archive&next=//evil.example", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=%2Farchive"
    r = client.get("/login?next=/%5Cevil.example&next=/archive", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"

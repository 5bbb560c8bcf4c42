"""Every route of the app, asked by every role: the gate lets through exactly the roles that
docs/api.md's reference table says may use it (`least role`), and refuses the others.

The table is generated from pigweight/auth/roles.py, the one place that says which role each
route needs, and the gate enforces that same table; this test checks the two against real
requests on a real app, so a route whose rule and documentation part ways is caught.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.routing import Mount
from starlette.websockets import WebSocketDisconnect

from pigweight.app import create_app
from tests.api.conftest import make_settings
from tests.conftest import REPO

DOC = REPO / "docs" / "api.md"
PASSWORD = "correct horse battery"
ROLES = ("viewer", "operator", "admin")
ASKERS = ("anyone", *ROLES)  # "anyone": no login at all
# Ids that name nothing: an allowed request is answered by the route (404, 422 ...), and
# nothing the test depends on (its users, their tokens) is changed by it.
UNKNOWN_ID = "999999"
STATIC_FILE = "css/app.css"
_CELL = re.compile(r"(?<!\\)\|")
_OPERATION = re.compile(r"^\[?(GET|HEAD|POST|PUT|PATCH|DELETE|WS) `([^`]+)`")


def documented_roles() -> dict[tuple[str, str], str]:
    """(method, path) -> least role, from the table at the top of docs/api.md's reference."""
    lines = DOC.read_text(encoding="utf-8").splitlines()
    header = next((i for i, line in enumerate(lines) if line.startswith("| operation |")), None)
    assert header is not None, "docs/api.md has no operation table: run make apidoc"
    names = [c.strip() for c in _CELL.split(lines[header])[1:-1]]
    assert "least role" in names, "docs/api.md's operation table has no 'least role' column"
    column = names.index("least role")
    found: dict[tuple[str, str], str] = {}
    for line in lines[header + 2 :]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in _CELL.split(line)[1:-1]]
        match = _OPERATION.match(cells[0])
        assert match, f"unreadable row of docs/api.md: {line}"
        found[(match[1], match[2])] = cells[column]
    return found


DOCUMENTED = documented_roles()


def _routes(routes: list[Any]) -> Iterator[Any]:
    for route in routes:
        inner = getattr(route, "original_router", None)  # FastAPI keeps included routers
        yield from _routes(inner.routes) if inner is not None else [route]


def served(client: TestClient) -> set[tuple[str, str]]:
    """Every (method, path) the app answers: HTTP routes, WebSockets and the static mount."""
    found: set[tuple[str, str]] = set()
    for route in _routes(client.app.router.routes):  # type: ignore[attr-defined]
        if isinstance(route, Mount):
            found |= {("GET", route.path_format), ("HEAD", route.path_format)}
        elif getattr(route, "methods", None):
            found |= {(method, route.path_format) for method in route.methods}
        else:
            found.add(("WS", route.path_format))
    return found


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = make_settings(tmp_path_factory.mktemp("roles"), demo_scale=False)
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture(scope="module")
def tokens(client: TestClient) -> dict[str, str]:
    """An API token for a user of each role."""
    state = client.app.state.auth  # type: ignore[attr-defined]
    made = {}
    for role in ROLES:
        state.book.add(f"{role}-user", role, PASSWORD)
        made[role] = state.book.add_token(f"{role}-user", "route roles")[1]
    state.forget()  # the gate asks "any users?" again at once instead of within 5 s
    return made


def concrete(path: str) -> str:
    """A path to request: the static file for the mount, unknown ids for the others."""
    return re.sub(r"\{[^}]+\}", UNKNOWN_ID, path.replace("{path}", STATIC_FILE))


def answer(client: TestClient, method: str, path: str, token: str | None) -> int:
    """The status the asker gets; for a WebSocket 401/403 when the gate closed it."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if method != "WS":
        response = client.request(method, path, headers=headers)
        if response.status_code == 403 and _code(response) in OWN_REFUSALS:
            return 200  # the gate let it through; the route asks for its own token
        return response.status_code
    try:
        with client.websocket_connect(f"{path}?id={UNKNOWN_ID}", headers=headers):
            return 101
    except WebSocketDisconnect as closed:
        return {4401: 401, 4403: 403}.get(closed.code, 101)


# 403s a route answers itself, past the gate: the index job file's token (index_source.py).
OWN_REFUSALS = {"index_token_refused"}


def _code(response: Any) -> str | None:
    try:
        return str(response.json().get("code"))
    except ValueError:
        return None


def expected(asker: str, least: str) -> str:
    if least == "anyone":
        return "allowed"
    if asker == "anyone":
        return "401"
    return "allowed" if ROLES.index(asker) >= ROLES.index(least) else "403"


def test_every_route_of_the_app_is_in_the_role_table(client: TestClient) -> None:
    app_routes = served(client)
    assert not app_routes - set(DOCUMENTED), "routes missing from docs/api.md: run make apidoc"
    assert not set(DOCUMENTED) - app_routes, "docs/api.md lists routes the app does not serve"
    assert set(DOCUMENTED.values()) <= {*ASKERS}


@pytest.mark.parametrize(
    ("method", "path", "least"),
    [(m, p, role) for (m, p), role in DOCUMENTED.items()],
    ids=[f"{m} {p}" for m, p in DOCUMENTED],
)
def test_the_gate_lets_in_exactly_the_documented_roles(
    client: TestClient, tokens: dict[str, str], method: str, path: str, least: str
) -> None:
    wrong = []
    for asker in ASKERS:
        status = answer(client, method, concrete(path), tokens.get(asker))
        got = str(status) if status in (401, 403) else "allowed"
        if got != expected(asker, least):
            wrong.append(f"{asker}: {status}, expected {expected(asker, least)}")
    assert not wrong, f"{method} {path} (documented least role: {least}): " + "; ".join(wrong)

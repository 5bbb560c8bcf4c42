"""api/errors.py is the one place a domain error gets its HTTP status."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import pigweight.app  # noqa: F401  (imports every route, so every error they can raise)
from pigweight.api import errors
from pigweight.api.errors import STATUS
from pigweight.errors import PigWeightError

API_DIR = Path(errors.__file__).parent


def _subclasses(cls: type[PigWeightError]) -> Iterator[type[PigWeightError]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


DOMAIN_ERRORS = sorted(set(_subclasses(PigWeightError)), key=lambda c: c.__qualname__)


@pytest.mark.parametrize("error", list(STATUS), ids=lambda c: c.__qualname__)
def test_every_entry_is_a_client_or_server_error(error: type[PigWeightError]) -> None:
    assert 400 <= STATUS[error] <= 599


@pytest.mark.parametrize("error", DOMAIN_ERRORS, ids=lambda c: c.__qualname__)
def test_an_error_that_names_its_code_has_its_own_status(error: type[PigWeightError]) -> None:
    # Without an entry it would answer its base's status (400 for most) under its own code.
    if vars(error).get("code", "bad_request") != "bad_request":
        assert error in STATUS, f"add {error.__qualname__} ({error.__module__}) to STATUS"


@pytest.mark.parametrize("error", DOMAIN_ERRORS, ids=lambda c: c.__qualname__)
def test_no_class_names_its_own_status(error: type[PigWeightError]) -> None:
    # api/errors.py alone decides; a class saying http_status would be a second mapping
    assert "http_status" not in vars(error), (
        f"{error.__qualname__} says http_status: put it in api/errors.STATUS instead"
    )


def test_routes_raise_domain_errors_not_http_exceptions() -> None:
    mentions = [
        path.name
        for path in sorted(API_DIR.glob("*.py"))
        if path.name != "errors.py" and "HTTPException" in path.read_text(encoding="utf-8")
    ]
    assert mentions == []


# What the routes' own refusals answer: the codes the page reads (http_404: "gone, reload").
ROUTE_REFUSALS = {
    "unknown-camera": (
        "GET",
        "/api/cameras/pen9/status",
        None,
        404,
        {"detail": "no camera 'pen9'; cameras: demo", "code": "http_404"},
    ),
    "not-a-date": (
        "GET",
        "/api/weight/records?from=yesterday",
        None,
        422,
        {
            "detail": "from: 'yesterday' is not a date (2026-11-26) or a time (2026-11-26T08:30)",
            "code": "http_422",
        },
    ),
    "wrong-password": (
        "POST",
        "/api/auth/login",
        {"name": "nobody", "password": "not it"},
        401,
        {"detail": "wrong user name or password", "code": "http_401"},
    ),
    # the user book's refusals (no user yet: the service is open, so these reach the book)
    "unknown-user": (
        "PATCH",
        "/api/users/nobody",
        {"role": "viewer"},
        404,
        {"detail": "no user 'nobody'", "code": "http_404"},
    ),
    "unknown-user-removed": (
        "DELETE",
        "/api/users/nobody",
        None,
        404,
        {"detail": "no user 'nobody'", "code": "http_404"},
    ),
    "token-of-unknown-user": (
        "POST",
        "/api/tokens",
        {"user": "nobody"},
        404,
        {"detail": "no user 'nobody'", "code": "http_404"},
    ),
    "unknown-token": (
        "DELETE",
        "/api/tokens/99",
        None,
        404,
        {"detail": "no active token 99", "code": "http_404"},
    ),
    "unknown-role": (
        "PATCH",
        "/api/users/nobody",
        {"role": "owner"},
        422,
        {
            "detail": "role 'owner' is unknown: use one of viewer, operator, admin",
            "code": "http_422",
        },
    ),
    "short-password": (
        "POST",
        "/api/users",
        {"name": "anna", "role": "admin", "password": "short"},
        422,
        {"detail": "the password is too short: use at least 10 characters", "code": "http_422"},
    ),
}


@pytest.mark.parametrize("case", list(ROUTE_REFUSALS))
def test_a_route_refusal_keeps_its_status_and_body(client: TestClient, case: str) -> None:
    method, url, body, status, answer = ROUTE_REFUSALS[case]
    response = client.request(method, url, json=body)
    assert (response.status_code, response.json()) == (status, answer)
    assert "www-authenticate" not in response.headers


def test_a_camera_without_a_frame_says_when_to_ask_again(client: TestClient) -> None:
    response = client.get("/api/cameras/demo/snapshot.jpg")  # the demo camera is not started
    assert response.status_code == 503 and response.headers["retry-after"] == "2"
    assert response.json() == {
        "detail": "camera 'demo' has no frame yet: it is stopped; "
        "start it with POST /api/cameras/{id}/start",
        "code": "http_503",
    }

"""The least role each route needs: the one table the gate enforces and docs/api.md shows.

Routes are named as they are declared (`/api/cameras/{camera_id}/start`), not by the path a
request carries: the gate finds the route a request goes to the way the router does, so a
rule names exactly one route and a misspelt rule names none (tests/api/test_route_roles.py
asks every route with every role).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from starlette.routing import BaseRoute, Match
from starlette.types import Scope

from pigweight.auth.users import Role

ANYONE = "anyone"  # how the documentation names "no login needed"

# Routes whose least role is not the default below. None: anyone, logged in or not.
EXCEPTIONS: dict[tuple[str, str], Role | None] = {
    # The login page, what it loads and asks, and the health check.
    ("GET", "/login"): None,
    ("GET", "/static/{path}"): None,
    ("HEAD", "/static/{path}"): None,
    ("GET", "/favicon.ico"): None,
    ("GET", "/healthz"): None,
    ("GET", "/api/auth/me"): None,
    ("POST", "/api/auth/login"): None,
    ("POST", "/api/auth/logout"): None,
    # A queued index job's file: its token opens it, not a login (sites/index_source.py).
    ("GET", "/api/index_jobs/{video_id}/file"): None,
    # POSTs that change nothing stored: counting a photo, opening a live view, signing a
    # link to media the viewer may watch anyway.
    ("POST", "/api/count_image"): "viewer",
    ("POST", "/api/webrtc/{camera_id}/offer"): "viewer",
    ("POST", "/api/auth/signed_url"): "viewer",
    # Changes to what runs and what the server reads from its own disks.
    ("POST", "/api/cameras/{camera_id}/start"): "admin",
    ("POST", "/api/cameras/{camera_id}/stop"): "admin",
    ("PUT", "/api/cameras/{camera_id}/zone"): "admin",
    ("POST", "/api/video_file/register"): "admin",
    # Teaching the counter (issue 19): labelling is an operator's work; what adds or drops
    # frames wholesale, trains, or changes the model a camera counts with is an admin's.
    ("POST", "/api/labelling/{camera_id}/frames"): "admin",
    ("DELETE", "/api/labelling/frames/{frame_id}"): "admin",
    ("POST", "/api/labelling/{camera_id}/import"): "admin",
    ("POST", "/api/models/{camera_id}/activate"): "admin",
    ("POST", "/api/models/{camera_id}/rollback"): "admin",
    ("POST", "/api/models/{camera_id}/compare"): "admin",
    ("POST", "/api/models/{camera_id}/import"): "admin",
    ("POST", "/api/training/{camera_id}"): "admin",
    ("POST", "/api/training/{job_id}/cancel"): "admin",
    ("POST", "/api/central/models/{site}/import"): "admin",
    ("POST", "/api/central/group/train"): "admin",
    ("POST", "/api/central/group/models/{model_id}/send"): "admin",
}
# Everything under these, whatever the method: users, tokens and the diagnostics.
ADMIN_AREAS = ("/api/users", "/api/tokens", "/debug/")
_READS = ("GET", "HEAD", "WEBSOCKET")


def least_role(method: str, route_path: str) -> Role | None:
    """The least role that may call `method` on the route declared as `route_path`; None:
    anyone. A route added without a rule here needs a viewer to read, an operator to change."""
    if (method, route_path) in EXCEPTIONS:
        return EXCEPTIONS[(method, route_path)]
    if route_path.startswith(ADMIN_AREAS):
        return "admin"
    return "viewer" if method in _READS else "operator"


def walk(routes: list[BaseRoute]) -> Iterator[BaseRoute]:
    """The app's routes in the router's order, included routers opened."""
    for route in routes:
        # FastAPI >= 0.120 keeps an included router as one route holding the original one.
        inner: Any = getattr(route, "original_router", None)
        if inner is not None:
            yield from walk(inner.routes)
        else:
            yield route


def route_path(routes: list[BaseRoute], scope: Scope) -> str:
    """The declared path of the route this request goes to, found as the router finds it
    (first full match); the request's own path when none matches (a 404 or a 405)."""
    for route in walk(routes):
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return str(getattr(route, "path_format", scope["path"]))
    return str(scope["path"])

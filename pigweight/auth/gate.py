"""The gate every request passes: who is asking, and whether their role may do it.

With no user in the database the service is open, as on a laptop or a PC bound to
127.0.0.1 (`pigweight serve` refuses any other address until an admin exists). Once one
user exists every request needs one: a session cookie (the browser, after /login), an
`Authorization: Bearer` API token (scripts), or a signed URL (media links; signing.py).

`AuthGate` is pure ASGI and wraps the whole app, so HTTP routes, WebSockets, the HLS and
snapshot files and the middleware fast paths are all behind it. Lookups are cached for
`CACHE_S`; a cache miss goes to the database on a worker thread, never on the event loop.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Any, ClassVar
from urllib.parse import parse_qsl, quote

import anyio
from sqlalchemy import Engine
from starlette.types import ASGIApp, Receive, Scope, Send

from pigweight.auth import roles, signing
from pigweight.auth.login_limits import LoginLimiter, PasswordChecks
from pigweight.auth.users import Role, User, UserBook, digest
from pigweight.errors import PigWeightError, Refusal

logger = logging.getLogger(__name__)

COOKIE = "pigweight_session"
CACHE_S = 30.0  # a revoked token or ended session may work this much longer
USERS_CHECK_S = 5.0  # how often "is there any user yet?" is asked again

# The answer to a refusal (api/errors.refusal_response): its status, body and headers come
# from api/errors.py like every other error's. Passed in, as auth sits below the API.
Answer = Callable[[PigWeightError], ASGIApp]


class NotSignedIn(Refusal):
    """A request that needs a user and came with no session, token or signed link."""

    code = "unauthorized"
    headers: ClassVar[dict[str, str]] = {"WWW-Authenticate": 'Bearer realm="pigweight"'}

    def __init__(self) -> None:
        super().__init__(
            "log in first: open /login in the browser, or send 'Authorization: Bearer <token>' "
            "(an admin makes tokens with `pigweight users token NAME`)"
        )


class Forbidden(Refusal):
    """A user whose role is below what the request needs."""

    code = "forbidden"

    def __init__(self, user: User, needed: Role) -> None:
        why = (
            f"{user.name} is a {user.role}; this needs an {needed}"
            if needed in ("admin", "operator")
            else f"{user.name} may not do this"
        )
        super().__init__(why + ": ask an admin for the role")


def required_role(method: str, scope: Scope) -> Role | None:
    """The least role that may do this (pigweight/auth/roles.py); None: anyone."""
    app = scope.get("app")  # the Starlette app sets itself here before any middleware runs
    routes = app.router.routes if app is not None else []
    return roles.least_role(method, roles.route_path(routes, scope))


def is_loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass
class _Cached:
    user: User | None
    until: float


class AuthState:
    """The users of the running service, as the gate and the auth endpoints see them."""

    def __init__(self, data_dir: Any) -> None:
        self.data_dir = data_dir
        self.book: UserBook | None = None
        self.keys = signing.SigningKey(data_dir)
        self.limiter = LoginLimiter()
        self.password_checks = PasswordChecks()
        self._any_users = False
        self._users_checked = -1e9
        self._cache: dict[str, _Cached] = {}

    def attach(self, engine: Engine) -> None:
        """Use this database (blocking: call from a thread at start-up)."""
        self.book = UserBook(engine)
        try:
            self.keys.for_signing()  # made now, so that it is there to back up
        except signing.KeyFileError as exc:
            logger.warning("access: %s", exc)
        self._any_users = self.book.count() > 0
        self._users_checked = time.monotonic()
        if self._any_users:
            logger.info("access: logins required (%d users)", self.book.count())
        else:
            logger.warning(
                "access: no users yet, so anyone who reaches this port may use everything; "
                "create the first admin with `pigweight users add NAME --role admin`"
            )

    def forget(self) -> None:
        """Drop cached sessions and tokens (a logout, a revoked token, a removed user)."""
        self._cache.clear()
        self._users_checked = -1e9

    async def enabled(self) -> bool:
        if self.book is None:
            return False
        now = time.monotonic()
        if now - self._users_checked > USERS_CHECK_S:
            self._users_checked = now
            count = await anyio.to_thread.run_sync(self.book.count)
            self._any_users = count > 0
        return self._any_users

    async def user_of(self, kind: str, secret: str) -> User | None:
        """The user of a session cookie ("session") or an API token ("token"), cached."""
        assert self.book is not None
        book = self.book

        def lookup() -> User | None:
            if kind == "session":
                found = book.session_user(secret)
                return None if found is None else found[0]
            return book.token_user(secret)

        return await self._cached(f"{kind}:{digest(secret)}", lookup)

    async def signer_of(self, user_id: int) -> User | None:
        """The user who signed a link, as they are now (cached like sessions)."""
        assert self.book is not None
        book = self.book
        return await self._cached(
            f"signer:{user_id}", lambda: next((u for u in book.all() if u.id == user_id), None)
        )

    async def _cached(self, key: str, lookup: Callable[[], User | None]) -> User | None:
        """lookup's answer (run in a thread), kept for CACHE_S."""
        now = time.monotonic()
        hit = self._cache.get(key)
        if hit is not None and hit.until > now:
            return hit.user
        user = await anyio.to_thread.run_sync(lookup)
        if len(self._cache) > 10000:
            self._cache.clear()
        self._cache[key] = _Cached(user, now + CACHE_S)
        return user

    async def link_user(self, path: str, query: dict[str, str]) -> User | None:
        """Who opens `path` with a signed link: its signer, reading only, while the signer
        still has the role they signed it with; None for any other link."""
        key = await anyio.to_thread.run_sync(self.keys.current)  # read anew: it may be gone
        grant = None if key is None else signing.check(key, path, query)
        if grant is None:
            return None
        signer = await self.signer_of(grant.user_id)
        if signer is None or signer.name != grant.user_name or not signer.may(grant.role):
            return None  # removed or demoted since: the link dies with the role
        return User(signer.id, signer.name, "viewer", "signed")


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}


def session_cookie(scope: Scope) -> str | None:
    cookie = _headers(scope).get("cookie")
    if not cookie:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(cookie)
    except Exception:  # a malformed Cookie header is no session
        return None
    morsel = jar.get(COOKIE)
    return morsel.value if morsel else None


class AuthGate:
    """ASGI middleware: 401 without a user, 403 when the user's role is too low."""

    def __init__(self, app: ASGIApp, state: AuthState, answer: Answer) -> None:
        self.app = app
        self.state = state
        self.answer = answer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        method = "WEBSOCKET" if scope["type"] == "websocket" else scope["method"]
        path = scope["path"]
        needed = required_role(method, scope)
        enabled = await self.state.enabled()  # asked once: both answers must agree
        user = await self._user(scope, method, path) if enabled else None
        scope.setdefault("state", {})["user"] = user
        if needed is None or not enabled:
            await self.app(scope, receive, send)
            return
        if user is None:
            await self._refuse(scope, receive, send, NotSignedIn())
        elif not user.may(needed):
            await self._refuse(scope, receive, send, Forbidden(user, needed))
        else:
            await self.app(scope, receive, send)

    async def _user(self, scope: Scope, method: str, path: str) -> User | None:
        authorization = _headers(scope).get("authorization", "")
        if authorization.lower().startswith("bearer "):
            return await self.state.user_of("token", authorization[7:].strip())
        cookie = session_cookie(scope)
        if cookie:
            user = await self.state.user_of("session", cookie)
            if user is not None:
                return user
        if method in ("GET", "HEAD", "WEBSOCKET"):
            query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
            if "sig" in query:
                return await self.state.link_user(path, query)
        return None

    async def _refuse(
        self, scope: Scope, receive: Receive, send: Send, refusal: NotSignedIn | Forbidden
    ) -> None:
        signed_in = not isinstance(refusal, NotSignedIn)
        if scope["type"] == "websocket":
            # Closing before accepting: the client sees the handshake refused (HTTP 403).
            await send({"type": "websocket.close", "code": 4403 if signed_in else 4401})
            return
        wants_page = scope["method"] == "GET" and "text/html" in _headers(scope).get("accept", "")
        if not signed_in and wants_page:
            query = scope.get("query_string", b"").decode("latin-1")
            target = scope["path"] + ("?" + query if query else "")
            await send(
                {
                    "type": "http.response.start",
                    "status": 303,
                    "headers": [(b"location", f"/login?next={quote(target, safe='')}".encode())],
                }
            )
            await send({"type": "http.response.body", "body": b""})
            return
        await self.answer(refusal)(scope, receive, send)

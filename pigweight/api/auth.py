"""Logging in and out, who is logged in, signed media links, and (admin) users and tokens."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote, urlencode

import anyio
from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, ConfigDict, Field

from pigweight.api.deps import RowIdPath
from pigweight.api.pages import WEB_DIR
from pigweight.api.refusals import LoginRefused, RequestRefused, Unavailable
from pigweight.auth import signing
from pigweight.auth.gate import COOKIE, AuthState
from pigweight.auth.login_limits import LoginBusy
from pigweight.auth.redirects import same_origin_path
from pigweight.auth.users import ROLES, TokenInfo, User, UserBook

router = APIRouter(tags=["access"])
page_router = APIRouter(include_in_schema=False)


def _state(request: Request) -> AuthState:
    state: AuthState = request.app.state.auth
    return state


def _book(request: Request) -> UserBook:
    book = _state(request).book
    if book is None:
        raise Unavailable("the service is starting; try again in a moment")
    return book


def _user(request: Request) -> User | None:
    user: User | None = getattr(request.state, "user", None)
    return user


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class UserOut(BaseModel):
    name: str
    role: str

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(name=user.name, role=user.role)


class MeOut(BaseModel):
    user: UserOut | None = Field(description="Who this request is from; None: nobody.")
    login_required: bool = Field(description="False while no user exists (open service).")


@router.post("/api/auth/login", response_model=UserOut)
async def login(body: LoginIn, request: Request, response: Response) -> UserOut:
    """Check a name and password; the answer sets the session cookie (HttpOnly, SameSite)."""
    state = _state(request)
    book = _book(request)
    address = request.client.host if request.client else ""
    stamp = state.limiter.begin(address, body.name)  # counted before the check: 429 past it
    try:
        user = await state.password_checks.run(book.verify, body.name, body.password)
    except LoginBusy:
        state.limiter.not_checked(address, body.name, stamp)
        raise
    if user is None:
        raise LoginRefused("wrong user name or password")
    state.limiter.succeeded(address, body.name, stamp)
    token, expires = await anyio.to_thread.run_sync(book.start_session, user)
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(expires - time.time()),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return UserOut.of(user)


@router.post("/api/auth/logout", status_code=204)
async def logout(request: Request, response: Response) -> None:
    """End this browser's session."""
    token = request.cookies.get(COOKIE)
    state = _state(request)
    if token and state.book is not None:
        await anyio.to_thread.run_sync(state.book.end_session, token)
        state.forget()
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")


@router.get("/api/auth/me", response_model=MeOut)
async def me(request: Request) -> MeOut:
    """Who is logged in (the page shows it), and whether logging in is needed at all."""
    user = _user(request)
    required = await _state(request).enabled()
    return MeOut(user=None if user is None else UserOut.of(user), login_required=required)


class SignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str = Field(
        max_length=512,
        description="The media to open: " + signing.SIGNABLE + ".",
    )
    ttl_s: float = Field(
        3600,
        gt=0,
        le=max(signing.MAX_TTL_S.values()),
        description=f"Seconds it stays valid: at most {signing.LIFETIMES}.",
    )


class SignedOut(BaseModel):
    url: str
    expires_ts: int


@router.post("/api/auth/signed_url", response_model=SignedOut)
async def signed_url(body: SignIn, request: Request) -> SignedOut:
    """A link that opens one media file (a playlist: with its segments) without logging in:
    for a `<video>`, a player, a snapshot sent to a buyer. Anyone who has it can open it
    until it expires, its signer is removed or loses the role, or the key file is replaced."""
    scope = signing.media_scope(body.path)
    if scope is None:
        raise RequestRefused(f"path: only media can be signed: {signing.SIGNABLE}")
    user = _user(request)
    # No user yet: the service is open to anyone, who may then do what an admin may; the
    # link dies once users exist (no user 0).
    signer = User(0, "nobody", "admin") if user is None else user
    longest = signing.MAX_TTL_S[signer.role]
    if body.ttl_s > longest:
        raise RequestRefused(
            f"ttl_s: a {signer.role} may sign a link for at most {longest} s "
            f"({longest / 3600:g} h); "
            "ask a user with a higher role for a longer one",
        )
    try:
        key = await anyio.to_thread.run_sync(_state(request).keys.for_signing)
    except signing.KeyFileError as exc:
        raise Unavailable(str(exc)) from None
    query = signing.sign(key, scope, body.ttl_s, signer)
    url = f"{body.path}?{urlencode(query, safe='/')}"
    return SignedOut(url=url, expires_ts=int(query["exp"]))


# --- users and tokens (admin) ---------------------------------------------------------------


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64)
    role: str = Field(description=f"One of {', '.join(ROLES)}.")
    password: str = Field(min_length=1, max_length=1024)


class UserChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: str | None = None
    password: str | None = Field(None, min_length=1, max_length=1024)


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user: str = Field(min_length=1, max_length=64)
    label: str = Field("", max_length=64, description="What the token is for, e.g. 'erp sync'.")


class TokenOut(BaseModel):
    id: int
    user: str
    label: str
    created_ts: float
    revoked_ts: float | None

    @classmethod
    def of(cls, info: TokenInfo) -> TokenOut:
        return cls(
            id=info.id,
            user=info.user,
            label=info.label,
            created_ts=info.created_ts,
            revoked_ts=info.revoked_ts,
        )


class NewTokenOut(TokenOut):
    token: str = Field(description="Send as 'Authorization: Bearer <token>'. Shown this once.")


async def _run(request: Request, work: Any, *args: Any) -> Any:
    """The user book's `work` in a thread; its UserError answers as api/errors.py maps it."""
    try:
        return await anyio.to_thread.run_sync(work, *args)
    finally:
        _state(request).forget()


@router.get("/api/users", response_model=list[UserOut])
async def list_users(request: Request) -> list[UserOut]:
    return [UserOut.of(u) for u in await _run(request, _book(request).all)]


@router.post("/api/users", response_model=UserOut, status_code=201)
async def add_user(request: Request, body: UserIn) -> UserOut:
    user = await _run(request, _book(request).add, body.name, body.role, body.password)
    return UserOut.of(user)


@router.patch("/api/users/{name}", response_model=UserOut)
async def change_user(request: Request, name: str, body: UserChange) -> UserOut:
    book = _book(request)
    if body.role is None and body.password is None:
        raise RequestRefused("send role or password: what is to change")
    if body.password is not None:
        await _run(request, book.set_password, name, body.password)
    if body.role is not None:
        await _run(request, book.set_role, name, body.role)
    return UserOut.of(await _run(request, book.get, name))


@router.delete("/api/users/{name}", status_code=204)
async def remove_user(request: Request, name: str) -> None:
    user = _user(request)
    if user is not None and user.name == name:
        raise RequestRefused("you cannot remove yourself; ask another admin")
    await _run(request, _book(request).remove, name)


@router.get("/api/tokens", response_model=list[TokenOut])
async def list_tokens(request: Request) -> list[TokenOut]:
    return [TokenOut.of(t) for t in await _run(request, _book(request).tokens)]


@router.post("/api/tokens", response_model=NewTokenOut, status_code=201)
async def add_token(request: Request, body: TokenIn) -> NewTokenOut:
    info, token = await _run(request, _book(request).add_token, body.user, body.label)
    return NewTokenOut(**TokenOut.of(info).model_dump(), token=token)


@router.delete("/api/tokens/{token_id}", status_code=204)
async def revoke_token(request: Request, token_id: RowIdPath) -> None:
    await _run(request, _book(request).revoke_token, token_id)


# --- the login page -------------------------------------------------------------------------


@page_router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request) -> Response:
    """The login page; a `next` leading off this service is dropped first (the page too)."""
    nexts = request.query_params.getlist("next")
    if nexts:
        origin = f"{request.url.scheme}://{request.url.netloc}"
        safe = same_origin_path(nexts[0], origin)  # the first, as the page reads it
        if nexts != [safe]:
            query = "" if safe is None else "?" + urlencode({"next": safe}, quote_via=quote)
            return RedirectResponse(f"/login{query}", 303, headers={"Cache-Control": "no-store"})
    page: str = request.app.state.login_html
    return HTMLResponse(page, headers={"Cache-Control": "no-store"})


def render_login(ui_language: str) -> str:
    page = (WEB_DIR / "login.html").read_text(encoding="utf-8")
    return page.replace("__UI_LANGUAGE__", ui_language)

"""Users, their sessions and their API tokens, in the service's database.

Roles nest: a `viewer` reads everything; an `operator` also records and corrects weighings
and uploads videos; an `admin` also starts and stops cameras, registers server files and
manages users. Passwords are hashed with argon2id (argon2-cffi); session cookies and API
tokens are random and only their SHA-256 is stored, so a copy of the database opens nothing.
Everything here blocks (database, argon2 takes ~50 ms on purpose): call it from a thread.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import time
from dataclasses import dataclass
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    delete,
    func,
    insert,
    or_,
    select,
    true,
    update,
)

from pigweight.errors import PigWeightError
from pigweight.store.db import api_tokens, user_sessions, users

logger = logging.getLogger(__name__)

Role = Literal["viewer", "operator", "admin"]
ROLES: tuple[Role, ...] = ("viewer", "operator", "admin")  # each may do what those before may
MIN_PASSWORD_CHARS = 10
SESSION_DAYS = 30
_NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
_hasher = PasswordHasher()  # argon2id with the library's current defaults
# Checked against when the user does not exist, so a wrong name takes as long as a wrong
# password and names cannot be guessed from the time an answer takes.
_DUMMY_HASH = _hasher.hash("not a password of anyone")


class UserError(PigWeightError):
    """A user, token or password that cannot be accepted (the message says why)."""

    code = "http_422"  # the pages' code for "not accepted as sent"


class UnknownUser(UserError):
    """No user has this name (any more)."""

    code = "http_404"  # the pages read it as "gone: reload"

    def __init__(self, name: str) -> None:
        super().__init__(f"no user {name!r}")


class UnknownToken(UserError):
    """No API token has this id, or it is revoked already."""

    code = "http_404"

    def __init__(self, token_id: int) -> None:
        super().__init__(f"no active token {token_id}")


@dataclass(frozen=True, slots=True)
class User:
    id: int
    name: str
    role: Role
    via: str = ""  # "session", "token", "signed" (a signed URL), "" (from the database)

    def may(self, role: Role) -> bool:
        """Whether this user has `role`'s rights (roles nest)."""
        return ROLES.index(self.role) >= ROLES.index(role)


@dataclass(frozen=True, slots=True)
class TokenInfo:
    id: int
    user: str
    label: str
    created_ts: float
    revoked_ts: float | None


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise UserError(
            f"user name {name[:64]!r} is not allowed: use 1-64 letters, digits and . _ @ -"
        )
    return name


def check_role(role: str) -> Role:
    if role not in ROLES:
        raise UserError(f"role {role!r} is unknown: use one of {', '.join(ROLES)}")
    return role


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_CHARS:
        raise UserError(f"the password is too short: use at least {MIN_PASSWORD_CHARS} characters")
    return password


def _lock_admins(conn: Connection) -> None:
    """On PostgreSQL, hold the admins' rows until the transaction ends: two admins demoting
    each other at once then run one after the other, the second seeing one admin left. (Each
    UPDATE alone would count two in its own snapshot, and both would pass.) SQLite renders no
    FOR UPDATE: its write lock already does this."""
    conn.execute(select(users.c.id).where(users.c.role == "admin").with_for_update())


def _leaves_an_admin(new_role: Role | None) -> ColumnElement[bool]:
    """WHERE clause of a user's change to `new_role` (None: removal): an admin remains.

    It is part of the one UPDATE or DELETE, so SQLite evaluates it holding the database's
    write lock: two admins demoting each other at once run one after the other, and the
    second sees the first's change. (Read first and written after, both were let through.)
    PostgreSQL takes no such lock: see _lock_admins.
    """
    if new_role == "admin":
        return true()
    admins = select(func.count()).select_from(users).where(users.c.role == "admin")
    return or_(users.c.role != "admin", admins.scalar_subquery() > 1)


class UserBook:
    """The users of one database; safe from any thread."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # --- users ----------------------------------------------------------------------------

    def count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(users)).scalar_one())

    def add(self, name: str, role: str, password: str) -> User:
        check_name(name)
        role_ = check_role(role)
        hashed = _hasher.hash(check_password(password))
        with self.engine.begin() as conn:
            if conn.execute(select(users.c.id).where(users.c.name == name)).first():
                raise UserError(f"user {name!r} already exists")
            result = conn.execute(
                insert(users).values(
                    name=name, role=role_, password_hash=hashed, created_ts=time.time()
                )
            )
            key = result.inserted_primary_key
            assert key is not None
        logger.info("users: %s added as %s", name, role_)
        return User(int(key[0]), name, role_)

    def all(self) -> list[User]:
        with self.engine.connect() as conn:
            query = select(users.c.id, users.c.name, users.c.role).order_by(users.c.name)
            rows = conn.execute(query)
            return [User(int(i), str(n), check_role(str(r))) for i, n, r in rows]

    def get(self, name: str) -> User:
        for user in self.all():
            if user.name == name:
                return user
        raise UnknownUser(name)

    def set_password(self, name: str, password: str) -> None:
        """A new password; the user's sessions end (tokens stay: scripts keep working)."""
        hashed = _hasher.hash(check_password(password))
        user = self.get(name)
        with self.engine.begin() as conn:
            conn.execute(update(users).where(users.c.id == user.id).values(password_hash=hashed))
            conn.execute(delete(user_sessions).where(user_sessions.c.user_id == user.id))
        logger.info("users: password of %s changed", name)

    def set_role(self, name: str, role: str) -> User:
        role_ = check_role(role)
        user = self.get(name)
        with self.engine.begin() as conn:
            _lock_admins(conn)
            done = conn.execute(
                update(users)
                .where(users.c.id == user.id, _leaves_an_admin(role_))
                .values(role=role_)
            )
        if done.rowcount == 0:
            raise self._refusal(user)
        logger.info("users: %s is now %s", name, role_)
        return User(user.id, name, role_)

    def remove(self, name: str) -> None:
        user = self.get(name)
        with self.engine.begin() as conn:
            # The user's row first: that statement takes the write lock, so the rest of
            # the transaction cannot interleave with another admin's change either.
            _lock_admins(conn)
            done = conn.execute(delete(users).where(users.c.id == user.id, _leaves_an_admin(None)))
            if done.rowcount:
                conn.execute(delete(user_sessions).where(user_sessions.c.user_id == user.id))
                conn.execute(delete(api_tokens).where(api_tokens.c.user_id == user.id))
        if done.rowcount == 0:
            raise self._refusal(user)
        logger.info("users: %s removed", name)

    def _refusal(self, user: User) -> UserError:
        """Why a change guarded by _leaves_an_admin changed no row."""
        with self.engine.connect() as conn:
            if conn.execute(select(users.c.id).where(users.c.id == user.id)).first() is None:
                return UnknownUser(user.name)
        return UserError(
            f"{user.name} is the last admin: make another user admin first, "
            "or nobody could manage users any more"
        )

    # --- logging in -----------------------------------------------------------------------

    def verify(self, name: str, password: str) -> User | None:
        """The user if the password is theirs, else None (in the same time either way)."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(users.c.id, users.c.role, users.c.password_hash).where(users.c.name == name)
            ).first()
        try:
            _hasher.verify(row[2] if row else _DUMMY_HASH, password)
        except (VerificationError, InvalidHashError):
            return None
        if row is None:
            return None
        if _hasher.check_needs_rehash(row[2]):  # the library's defaults grew stronger
            with self.engine.begin() as conn:
                conn.execute(
                    update(users)
                    .where(users.c.id == row[0])
                    .values(password_hash=_hasher.hash(password))
                )
        return User(int(row[0]), name, check_role(str(row[1])))

    def start_session(self, user: User) -> tuple[str, float]:
        """A new session's cookie value and when it expires."""
        token = secrets.token_urlsafe(32)
        now = time.time()
        expires = now + SESSION_DAYS * 86400
        with self.engine.begin() as conn:
            conn.execute(delete(user_sessions).where(user_sessions.c.expires_ts < now))
            conn.execute(
                insert(user_sessions).values(
                    token_hash=digest(token), user_id=user.id, created_ts=now, expires_ts=expires
                )
            )
        return token, expires

    def end_session(self, token: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(user_sessions).where(user_sessions.c.token_hash == digest(token)))

    def session_user(self, token: str) -> tuple[User, float] | None:
        """The user of a live session and when it expires."""
        query = (
            select(users.c.id, users.c.name, users.c.role, user_sessions.c.expires_ts)
            .join(user_sessions, user_sessions.c.user_id == users.c.id)
            .where(user_sessions.c.token_hash == digest(token))
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None or row[3] < time.time():
            return None
        return User(int(row[0]), str(row[1]), check_role(str(row[2])), "session"), float(row[3])

    # --- API tokens -----------------------------------------------------------------------

    def add_token(self, name: str, label: str) -> tuple[TokenInfo, str]:
        """A new API token for user `name`; the token itself is shown this once only."""
        user = self.get(name)
        label = " ".join(label.split())[:64] or "token"
        token = "pw_" + secrets.token_urlsafe(32)
        now = time.time()
        with self.engine.begin() as conn:
            result = conn.execute(
                insert(api_tokens).values(
                    token_hash=digest(token), user_id=user.id, label=label, created_ts=now
                )
            )
            key = result.inserted_primary_key
            assert key is not None
        logger.info("users: token %d (%s) issued to %s", int(key[0]), label, name)
        return TokenInfo(int(key[0]), name, label, now, None), token

    def tokens(self) -> list[TokenInfo]:
        query = (
            select(
                api_tokens.c.id,
                users.c.name,
                api_tokens.c.label,
                api_tokens.c.created_ts,
                api_tokens.c.revoked_ts,
            )
            .join(users, users.c.id == api_tokens.c.user_id)
            .order_by(api_tokens.c.id)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query)
            return [TokenInfo(int(i), str(u), str(lb), float(c), r) for i, u, lb, c, r in rows]

    def revoke_token(self, token_id: int) -> None:
        with self.engine.begin() as conn:
            done = conn.execute(
                update(api_tokens)
                .where(api_tokens.c.id == token_id, api_tokens.c.revoked_ts.is_(None))
                .values(revoked_ts=time.time())
            )
        if done.rowcount == 0:
            raise UnknownToken(token_id)
        logger.info("users: token %d revoked", token_id)

    def token_user(self, token: str) -> User | None:
        query = (
            select(users.c.id, users.c.name, users.c.role)
            .join(api_tokens, api_tokens.c.user_id == users.c.id)
            .where(api_tokens.c.token_hash == digest(token), api_tokens.c.revoked_ts.is_(None))
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        return User(int(row[0]), str(row[1]), check_role(str(row[2])), "token")

"""Signed, expiring links to media: a record's snapshot, a recording's file, its HLS
playlist and segments, opened for a while without a cookie or a header.

A `<video>` fed by a script on another machine, a snapshot sent to a buyer, a player that
cannot add headers: each gets `?exp=<unix time>&scope=<path>&uid=<signer's id>&user=<signer's
name>&role=<signer's role>&sig=<HMAC-SHA256>`. Only media can be signed (`media_scope`), for
at most MAX_TTL_S of the signer's role; the gate opens a link only while its signer still
exists with at least that role. The key is random, made on first use, kept in
DATA_DIR/url-signing.key (0600) and read again for every link opened, so deleting or
replacing the file voids every link signed with it at once, without a restart.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pigweight.auth.users import ROLES, Role, User
from pigweight.durable import write_new
from pigweight.errors import PigWeightError

KEY_FILE = "url-signing.key"
PARAMS = ("exp", "scope", "uid", "user", "role", "sig")  # a link's query; a playlist hands it on
# The longest a link may last, by its signer's role: a viewer shares for the hour, an
# operator for the day, an admin for the week.
MAX_TTL_S: dict[Role, int] = {"viewer": 3600, "operator": 86400, "admin": 7 * 86400}
LIFETIMES = ", ".join(
    f"{s} s for {'an' if r[0] in 'aeiou' else 'a'} {r}" for r, s in MAX_TTL_S.items()
)
_ID = r"[0-9]{1,19}"
# What may be signed, and what the link opens besides it: a playlist opens its segments.
_MEDIA: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(rf"/api/weight/records/{_ID}/snapshot\.jpg"), ""),
    (re.compile(rf"/api/video_file/{_ID}/raw"), ""),
    (re.compile(rf"/api/video_file/stream_hls/{_ID}"), "/"),
    (re.compile(rf"/api/video_file/stream_hls/{_ID}/{_ID}\.ts"), ""),
)
_SEGMENT = re.compile(rf"{_ID}\.ts")
_NAME = re.compile(r"[A-Za-z0-9_.@-]{1,64}")  # users.check_name's rule
SIGNABLE = (
    "a record's snapshot (/api/weight/records/{id}/snapshot.jpg), a recording's file "
    "(/api/video_file/{id}/raw), its HLS playlist with its segments "
    "(/api/video_file/stream_hls/{id}) or one segment (/api/video_file/stream_hls/{id}/{n}.ts)"
)


class KeyFileError(PigWeightError):
    """DATA_DIR/url-signing.key is there but holds no key (the message says what to do)."""


@dataclass(frozen=True, slots=True)
class Grant:
    """What a valid link opens, until when, and on whose word (the signer's role then)."""

    scope: str
    exp: int
    user_id: int
    user_name: str  # with the id: an id a removed user leaves may go to a new one
    role: Role


class SigningKey:
    """The key in DATA_DIR/url-signing.key. Every call reads the file (64 bytes; call it
    from a thread): a key deleted or replaced voids the links signed with it at once."""

    def __init__(self, data_dir: Path, name: str = KEY_FILE) -> None:
        self.path = Path(data_dir) / name  # another name: another key (index-jobs.key)

    def current(self) -> bytes | None:
        """The key now; None when there is none or it is damaged: then no link opens."""
        try:
            key = bytes.fromhex(self.path.read_text(encoding="ascii").strip())
        except (OSError, ValueError):  # gone, unreadable, not hex: no link opens
            return None
        return key if len(key) >= 32 else None

    def for_signing(self) -> bytes:
        """The key, made when there is none."""
        key, name = self.current(), self.path.name
        if key is None and not self.path.exists():
            try:
                self._make()
            except OSError as exc:  # a full or read-only disk
                raise KeyFileError(f"cannot write {name} in DATA_DIR: {exc.strerror}") from exc
            key = self.current()
        if key is None:
            raise KeyFileError(
                f"{name} in DATA_DIR cannot be read or holds no key: delete it and a new "
                "one is made (links given out with the old one stop working)"
            )
        return key

    def _make(self) -> None:
        # Linked into place whole: nobody reads a half-written key, and of two made at once
        # the first stays.
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):  # made meanwhile for another request
            write_new(self.path, secrets.token_bytes(32).hex().encode(), mode=0o600)


def media_scope(path: str) -> str | None:
    """What a link to `path` opens (a playlist: its segments too); None: not media."""
    for pattern, more in _MEDIA:
        if pattern.fullmatch(path):
            return path + more
    return None


def _mac(key: bytes, grant: Grant) -> str:
    text = f"{grant.scope}\n{grant.exp}\n{grant.user_id}\n{grant.user_name}\n{grant.role}"
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def sign(
    key: bytes, scope: str, ttl_s: float, signer: User, now: float | None = None
) -> dict[str, str]:
    """The query that opens `scope` for `ttl_s` seconds on the word of this user and role."""
    exp = int((time.time() if now is None else now) + ttl_s)
    grant = Grant(scope, exp, signer.id, signer.name, signer.role)
    values = [str(exp), scope, str(signer.id), signer.name, signer.role, _mac(key, grant)]
    return dict(zip(PARAMS, values, strict=True))


def _covers(scope: str, path: str) -> bool:
    if media_scope(scope) == scope:  # one file
        return path == scope
    folder = scope.endswith("/") and media_scope(scope[:-1]) == scope  # a playlist
    segment = path.startswith(scope) and _SEGMENT.fullmatch(path[len(scope) :]) is not None
    return folder and (path == scope[:-1] or segment)


def check(
    key: bytes, path: str, query: Mapping[str, str], now: float | None = None
) -> Grant | None:
    """The grant of a valid, unexpired link to media that covers `path`; None otherwise.
    Whether its signer still has the role is the caller's to ask (the gate)."""
    exp, scope, user_id, name, role, sig = (query.get(param, "") for param in PARAMS)
    if not (re.fullmatch(r"[0-9]{1,12}", exp) and re.fullmatch(_ID, user_id)):
        return None
    if not _NAME.fullmatch(name):
        return None
    if not re.fullmatch(r"[0-9a-f]{64}", sig):  # compare_digest refuses non-ASCII text
        return None
    if role not in ROLES or not _covers(scope, path):
        return None
    grant = Grant(scope, int(exp), int(user_id), name, role)
    if grant.exp < (time.time() if now is None else now):
        return None
    return grant if hmac.compare_digest(sig, _mac(key, grant)) else None

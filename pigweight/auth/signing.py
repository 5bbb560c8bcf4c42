"""Signed, expiring URLs: a link that opens one media path (a snapshot, an HLS playlist and
its segments, a WebSocket) for a while without a cookie or a header.

A `<video>` fed by a script on another machine, a snapshot sent to a buyer, a player that
cannot add headers: each gets `?exp=<unix time>&scope=<path prefix>&sig=<HMAC-SHA256>`. The
key is random, made once, and kept in DATA_DIR/url-signing.key (0600); deleting it voids
every link given out.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from pathlib import Path
from urllib.parse import urlencode

KEY_FILE = "url-signing.key"
MAX_TTL_S = 7 * 86400


def load_key(data_dir: Path) -> bytes:
    """The signing key of this data folder, made on first use."""
    path = Path(data_dir) / KEY_FILE
    try:
        return bytes.fromhex(path.read_text().strip())
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, key.hex().encode())
    finally:
        os.close(fd)
    return key


def _mac(key: bytes, scope: str, exp: int) -> str:
    return hmac.new(key, f"{scope}\n{exp}".encode(), hashlib.sha256).hexdigest()


def sign(key: bytes, scope: str, ttl_s: float, now: float | None = None) -> dict[str, str]:
    """The query parameters that open every path under `scope` for `ttl_s` seconds."""
    exp = int((time.time() if now is None else now) + ttl_s)
    return {"exp": str(exp), "scope": scope, "sig": _mac(key, scope, exp)}


def signed_path(key: bytes, path: str, ttl_s: float, scope: str | None = None) -> str:
    return f"{path}?{urlencode(sign(key, scope or path, ttl_s))}"


def check(key: bytes, path: str, query: dict[str, str], now: float | None = None) -> bool:
    """Whether the query carries a valid, unexpired signature whose scope covers path."""
    scope, exp_text, sig = query.get("scope"), query.get("exp"), query.get("sig")
    if not scope or not exp_text or not sig or not exp_text.isdigit():
        return False
    exp = int(exp_text)
    if exp < (time.time() if now is None else now):
        return False
    # A scope is a path, or a folder ending in '/' (which opens the path without the slash
    # too: an HLS playlist and its segments): "/a/1" must not open "/a/10".
    folder = scope.endswith("/") and (path.startswith(scope) or path == scope[:-1])
    if not (path == scope or folder):
        return False
    return hmac.compare_digest(sig, _mac(key, scope, exp))

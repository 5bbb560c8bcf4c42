"""RTSP authentication: read a `WWW-Authenticate` challenge and answer it (Basic, Digest MD5).

RTSP borrows HTTP's schemes (RFC 2326 section 12.45). Digest is RFC 2617 with MD5 or
MD5-sess, `qop=auth` or none (RFC 2069): what IP cameras ask for and FFmpeg answers.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from typing import Literal

Scheme = Literal["basic", "digest"]
_PARAM = re.compile(r'([A-Za-z][\w-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))')
_ALGORITHMS = ("md5", "md5-sess")


@dataclass(frozen=True, slots=True)
class Challenge:
    """One challenge a camera sent with its 401."""

    scheme: Scheme
    realm: str = ""
    nonce: str = ""
    opaque: str | None = None
    qop: str | None = None  # "auth" when the camera offers it, else None (RFC 2069)
    algorithm: str | None = None  # as the camera spelled it: echoed back

    @classmethod
    def parse(cls, header: str) -> Challenge | None:
        """The challenge in one header value, or None for a scheme or variant we cannot answer."""
        scheme, _, rest = header.strip().partition(" ")
        params = {m[1].lower(): _value(m) for m in _PARAM.finditer(rest)}
        realm = params.get("realm", "")
        if scheme.lower() == "basic":
            return cls("basic", realm)
        if scheme.lower() != "digest" or not params.get("nonce"):
            return None
        algorithm = params.get("algorithm")
        if algorithm is not None and algorithm.lower() not in _ALGORITHMS:
            return None
        offered = [q.strip().lower() for q in params.get("qop", "").split(",") if q.strip()]
        if offered and "auth" not in offered:
            return None  # auth-int only: a hash of the body, which cameras never ask for
        qop = "auth" if offered else None
        return cls("digest", realm, params["nonce"], params.get("opaque"), qop, algorithm)


def best_challenge(headers: list[str]) -> Challenge | None:
    """The strongest challenge we can answer (Digest before Basic, as FFmpeg chooses)."""
    challenges = [c for c in map(Challenge.parse, headers) if c is not None]
    challenges.sort(key=lambda c: c.scheme != "digest")
    return challenges[0] if challenges else None


def authorization(
    challenge: Challenge,
    user: str,
    password: str,
    method: str,
    uri: str,
    nc: int,
    cnonce: str,
) -> str:
    """The `Authorization` header value answering `challenge` for one request.

    `nc` counts the requests made with this nonce (1, 2, …); `cnonce` is the client's nonce.
    """
    if challenge.scheme == "basic":
        token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        return f"Basic {token}"
    ha1 = _md5(f"{user}:{challenge.realm}:{password}")
    if (challenge.algorithm or "").lower() == "md5-sess":
        ha1 = _md5(f"{ha1}:{challenge.nonce}:{cnonce}")
    ha2 = _md5(f"{method}:{uri}")
    fields = [
        f'username="{_quoted(user)}"',
        f'realm="{_quoted(challenge.realm)}"',
        f'nonce="{_quoted(challenge.nonce)}"',
        f'uri="{_quoted(uri)}"',
    ]
    if challenge.qop:
        count = f"{nc:08x}"
        response = _md5(f"{ha1}:{challenge.nonce}:{count}:{cnonce}:{challenge.qop}:{ha2}")
        fields += [f"qop={challenge.qop}", f"nc={count}", f'cnonce="{_quoted(cnonce)}"']
    else:
        response = _md5(f"{ha1}:{challenge.nonce}:{ha2}")
    fields.append(f'response="{response}"')
    if challenge.algorithm:
        fields.append(f"algorithm={challenge.algorithm}")
    if challenge.opaque is not None:
        fields.append(f'opaque="{_quoted(challenge.opaque)}"')
    return "Digest " + ", ".join(fields)


def _md5(text: str) -> str:
    # MD5 is what the protocol prescribes here, not a choice of ours.
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def _value(match: re.Match[str]) -> str:
    if match[2] is None:
        return match[3]
    return re.sub(r"\\(.)", r"\1", match[2])  # a quoted-string's escapes


def _quoted(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')

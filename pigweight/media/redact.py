"""Keep camera passwords out of every message: FFmpeg errors and logs quote the URL."""

from __future__ import annotations

import re
from urllib.parse import quote, unquote

from pigweight.settings import redact_url

MASK = "***"

# Whatever looks like a URL with user info in free text (an FFmpeg error, a log line).
_URL_IN_TEXT = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://\S+@\S+")
_USERINFO = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://(?P<userinfo>.*)@[^@]*$", re.S)


def url_password(url: str) -> str | None:
    """The password part of a URL as written (raw or percent-encoded), or None."""
    match = _USERINFO.match(url.strip())
    if match is None or ":" not in match["userinfo"]:
        return None
    return match["userinfo"].split(":", 1)[1] or None


def secret_forms(password: str) -> tuple[str, ...]:
    """Every spelling of a password that may show up in a message, longest first.

    A URL may carry it raw or percent-encoded, FFmpeg decodes it once, and an encoded URL
    quoted again (a log of a log, a redirect) double-encodes it.
    """
    decoded = unquote(password)
    forms = {password, decoded, unquote(decoded)}
    for form in list(forms):
        once = quote(form, safe="")
        forms.update({once, quote(once, safe=""), quote(form, safe=":@")})
    return tuple(sorted((f for f in forms if f), key=len, reverse=True))


def redact_text(text: str, secrets: tuple[str, ...] = ()) -> str:
    """`text` with URL passwords and every given secret replaced by `***`."""
    text = _URL_IN_TEXT.sub(lambda m: redact_url(m.group(0)), text)
    for secret in secrets:
        # Case-insensitive because %2f and %2F spell the same byte.
        text = re.sub(re.escape(secret), MASK, text, flags=re.IGNORECASE)
    return text

"""Camera passwords out of every message, in one place: a URL's user info read (raw or
percent-encoded, hand-typed URLs included), its password masked, and every spelling of a
secret found in free text (FFmpeg errors and logs quote the URL)."""

from __future__ import annotations

import re
from urllib.parse import quote, unquote

MASK = "***"

# scheme://user:password@rest; user info runs to the last `@` (hand-typed, not encoded)
_AUTHORITY = re.compile(
    r"^(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^/@:]*)(?P<password>:.*)?@(?P<rest>[^@]*)$",
    re.S,
)
# Whatever looks like a URL with user info in free text (an FFmpeg error, a log line).
_URL_IN_TEXT = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://\S+@\S+")


def redact_url(url: str) -> str:
    """Replace the password of a URL with `***`, keeping the user name for diagnosis.

    Works on raw passwords too (`rtsp://admin:p@ss:w/rd@host/`): a camera URL typed by hand
    is often not percent-encoded, so everything up to the last `@` is taken as user info.
    """
    match = _AUTHORITY.match(url.strip())
    if match is None:
        return url
    user = quote(unquote(match["user"]), safe="")
    hidden = f"{user}:***" if match["password"] is not None else user
    return f"{match['scheme']}{hidden}@{match['rest']}"


def url_password(url: str) -> str | None:
    """The password part of a URL as written (raw or percent-encoded), or None."""
    match = _AUTHORITY.match(url.strip())
    if match is None or match["password"] is None:
        return None
    return match["password"][1:] or None


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

"""What kind of trouble a camera's or a scale's last error is, as a stable code.

The error itself is the library's or the operating system's English ("Connection refused",
"[Errno 110] Connection timed out", "401 Unauthorized"); the page says the kind in its own
language and shows the English only as a technical detail on an English page.
"""

from __future__ import annotations

# Checked in this order: the first whose words appear names the kind.
_KINDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("auth", ("401", "unauthorized", "forbidden", "403", "password", "authenticat")),
    ("refused", ("refused",)),
    ("timeout", ("timed out", "timeout", "no answer in time", "no data for")),
    ("not_found", ("404", "not found", "no such file")),
    (
        "unreachable",
        ("unreachable", "no route", "name or service not known", "resolve", "getaddrinfo"),
    ),
    ("closed", ("closed", "reset", "end of file", "broken pipe", "eof")),
    ("bad_data", ("invalid data", "not a video", "bad frame", "answered", "codec")),
)
KINDS = (*(kind for kind, _ in _KINDS), "other")


def error_kind(message: str | None) -> str | None:
    """The kind of an error message (one of KINDS); None for no error."""
    if not message:
        return None
    text = message.lower()
    for kind, words in _KINDS:
        if any(word in text for word in words):
            return kind
    return "other"

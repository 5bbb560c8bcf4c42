"""The file name a client meant by its X-Filename header, in any script.

HTTP header values are bytes that servers read as latin-1: a name sent as raw UTF-8
(`curl -H 'X-Filename: демо.mp4'`) reached the archive as `Ð´ÐµÐ¼Ð¾.mp4`. Three spellings
are understood: RFC 8187's `UTF-8''%D0%B4…` (as in `filename*=`), percent-encoded UTF-8
(what `encodeURIComponent` gives), and raw UTF-8 bytes; other bytes stay latin-1.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, unquote_to_bytes

from pigweight.errors import PigWeightError

# RFC 8187 ext-value: charset ' [language] ' value-chars; the charset must be UTF-8.
_EXT_VALUE = re.compile(r"(?i:utf-8)'[A-Za-z0-9-]*'(.*)", re.DOTALL)


class InvalidFilename(PigWeightError):
    """An X-Filename that says UTF-8 but is not (422)."""

    code = "invalid_filename"


def header_filename(value: str) -> str:
    """The name in an X-Filename value (as Starlette decodes it: one latin-1 char a byte)."""
    ext = _EXT_VALUE.fullmatch(value)
    if ext:
        try:
            return unquote_to_bytes(ext.group(1)).decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidFilename(
                "X-Filename says UTF-8'' but its %-escapes are not UTF-8: "
                "send encodeURIComponent(name) after UTF-8''"
            ) from None
    if not value.isascii():
        raw = value.encode("latin-1")  # the bytes on the wire
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return value  # a latin-1 name, as the bytes said
    # "%D0%B4.mp4" is a percent-encoded name; "100%.mp4" or "%FF.mp4" are names as written.
    try:
        return unquote(value, errors="strict")
    except UnicodeDecodeError:
        return value

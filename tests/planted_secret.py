"""The password planted in the tests, every spelling of it, and a scan for them.

Not named `secrets.py`: that would shadow the standard module for anything run from tests/.
A leak is the password in any form a reader could use: raw, percent-encoded once (either
way `/` is treated), twice, decoded (what FFmpeg sends the camera), as the user:password
pair, or base64-encoded as in an HTTP/RTSP Basic `Authorization` header.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Iterator
from pathlib import Path
from urllib.parse import quote, unquote

# `@ : / %` all in it: each one breaks a naive URL parser or redaction in its own way.
PLANTED_PASSWORD = "p@ss:w/rd%21"
PLANTED_USER = "admin"
PLANTED_ENV = "PIGWEIGHT_TEST_PLANTED_PASSWORD"


def planted_forms(password: str = PLANTED_PASSWORD, user: str = PLANTED_USER) -> tuple[str, ...]:
    """Every spelling of `password` that must never be written anywhere, longest first."""
    once = quote(password, safe="")
    forms = {
        password,
        once,
        quote(password, safe="/"),
        quote(once, safe=""),
        unquote(password),
        f"{user}:{password}",
        f"{user}:{once}",
        base64.b64encode(f"{user}:{password}".encode()).decode("ascii"),
        base64.b64encode(f"{user}:{unquote(password)}".encode()).decode("ascii"),
    }
    return tuple(sorted(forms, key=len, reverse=True))


# Compared lower-cased: %2F and %2f spell the same byte. Base64 is case-sensitive, but a
# lower-cased match of a 24+ character string is no false alarm worth worrying about.
_FORMS_LOWER = tuple(f.lower() for f in planted_forms())
_FORMS_BYTES = tuple(f.encode("utf-8") for f in _FORMS_LOWER)


def find_planted(text: str) -> list[str]:
    """The planted forms found in `text` (case-insensitive); empty when it is clean."""
    lowered = text.lower()
    return [form for form in _FORMS_LOWER if form in lowered]


def find_planted_bytes(data: bytes) -> list[str]:
    """As find_planted, for the raw bytes of a file (a database, a video, a log)."""
    lowered = data.lower()
    return [form.decode() for form in _FORMS_BYTES if form in lowered]


def scan_files(paths: Iterable[Path]) -> Iterator[tuple[Path, list[str]]]:
    """(path, forms) for every file that holds a planted form."""
    for path in paths:
        try:
            found = _scan_file(path)
        except OSError:
            continue  # removed meanwhile, or not readable
        if found:
            yield path, found


def _scan_file(path: Path, chunk_bytes: int = 8 << 20) -> list[str]:
    """Read in chunks that overlap by the longest form: a big video costs no big buffer."""
    overlap = max(len(f) for f in _FORMS_BYTES)
    found: set[str] = set()
    tail = b""
    with path.open("rb") as file:
        while chunk := file.read(chunk_bytes):
            found.update(find_planted_bytes(tail + chunk))
            tail = chunk[-overlap:]
    return sorted(found)

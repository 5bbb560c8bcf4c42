"""The Idempotency-Key header of the weighing routes: empty is absent, anything else is checked.

An empty key stored as a key made every later weighing sent with an empty header a 409 (or
a replay of the first): a proxy or a script that always sends the header would record one
weighing a day.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Depends, Header

from pigweight.errors import PigWeightError

MAX_KEY_CHARS = 128
# Visible ASCII: a key must reach the database unchanged through every proxy and log.
_KEY = re.compile(rf"[!-~]{{1,{MAX_KEY_CHARS}}}")


class InvalidIdempotencyKey(PigWeightError):
    """The Idempotency-Key header is not a key this service keeps (422)."""

    code = "invalid_idempotency_key"


def idempotency_key(
    idempotency_key: Annotated[
        str | None,
        Header(
            max_length=MAX_KEY_CHARS,
            description="Retrying with the same key returns the first record.",
        ),
    ] = None,
) -> str | None:
    """The key without surrounding spaces; None when the header is absent or blank."""
    if idempotency_key is None or not idempotency_key.strip():
        return None
    key = idempotency_key.strip()
    if not _KEY.fullmatch(key):
        raise InvalidIdempotencyKey(
            f"Idempotency-Key must be 1 to {MAX_KEY_CHARS} visible ASCII characters "
            "(letters, digits, punctuation; no spaces), e.g. scale1-2026-11-26-0007"
        )
    return key


IdempotencyKey = Annotated[str | None, Depends(idempotency_key)]

"""A camera's or a scale's last error gets a kind the page says in its language."""

from __future__ import annotations

import pytest

from pigweight.media.error_kind import KINDS, error_kind


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ("rtsp://127.0.0.1:554/x: connection refused", "refused"),
        ("[Errno 111] Connection refused", "refused"),
        ("[Errno 110] Connection timed out", "timeout"),
        ("no data for 5 s", "timeout"),
        ("server returned 401 Unauthorized (authorization failed)", "auth"),
        ("server returned 404 Not Found", "not_found"),
        ("/data/cam.mp4: no such file", "not_found"),
        ("[Errno -2] Name or service not known", "unreachable"),
        ("the camera closed the connection", "closed"),
        ("Invalid data found when processing input", "bad_data"),
        ("bad frame: no digits", "bad_data"),
        ("RuntimeError: something odd", "other"),
    ],
)
def test_an_error_message_has_its_kind(message: str, kind: str) -> None:
    assert error_kind(message) == kind and kind in KINDS


def test_no_error_has_no_kind() -> None:
    assert error_kind(None) is None and error_kind("") is None

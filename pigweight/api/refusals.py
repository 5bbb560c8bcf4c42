"""Refusals that only the API raises, each with its code; api/errors.py gives each its status.

They live here, not next to the routes and middleware that raise them, because those import
api/errors.py (to answer), which imports these to map them.
"""

from __future__ import annotations

from pigweight.errors import PigWeightError, Refusal


class NotFound(Refusal):
    """What the request names is not there (a camera, a record's picture)."""

    code = "http_404"  # the pages read it as "gone: reload"


class RequestRefused(Refusal):
    """The request is well formed but cannot be done as sent; the message says what to send."""

    code = "http_422"


class Unavailable(Refusal):
    """The service cannot answer this now; the message says when or what to fix."""

    code = "http_503"


class LoginRefused(Refusal):
    """A name and password that do not match a user."""

    code = "http_401"


class NoFrame(PigWeightError):
    """The labelling page asked for a frame the camera has not shown, or whose picture is gone."""

    code = "no_frame"


class BadMultipart(PigWeightError):
    """The form has no file part or is not valid multipart."""

    code = "bad_multipart"


class FormTooLarge(PigWeightError):
    """The fields before the file are too many or too large."""

    code = "form_too_large"


class BodyTooLarge(PigWeightError):
    """A request body over its route's limit (api/body_limits.BodyLimit names message and code)."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


class BadHttpRequest(PigWeightError):
    """Bytes that are not an HTTP/1.1 request (a bad request line, a header without a colon,
    a bad chunk size): uvicorn's protocol answers it before any app sees it."""

    code = "bad_http_request"

    def __init__(self, parser_message: str) -> None:
        super().__init__(
            f"the request is not valid HTTP/1.1 ({parser_message.rstrip('.')}); "
            "check the request line and the headers the client sends"
        )

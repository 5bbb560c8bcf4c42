"""A multipart/form-data request is checked before any route reads it: its boundary by the
rule of RFC 2046, its body part by part as it arrives.

Starlette's form parser answers a malformed form with a bare "Invalid multipart data." (a
300-character boundary was a 500 on the streamed video form), and a form cut short reached
the photo route as "no photo". Here every such form gets one answer, 422 `bad_multipart`,
that says what is wrong with it.
"""

from __future__ import annotations

import re

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, MultipartState, parse_options_header
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pigweight.api.errors import RefusedWhileReading, refusal_response
from pigweight.api.refusals import BadMultipart

FORM_TYPE = b"multipart/form-data"
MAX_BOUNDARY_CHARS = 70  # RFC 2046 section 5.1.1
# bchars of RFC 2046: what every browser, curl and HTTP library uses; a space, not last.
_BOUNDARY = re.compile(rb"[0-9A-Za-z'()+_,\-./:=? ]*[0-9A-Za-z'()+_,\-./:=?]")
# The streamed video form reads its own body with the same parser (multipart_stream.py);
# checking it here too would parse a 10 GB upload twice.
_OWN_PARSER_PATHS = frozenset({"/api/video_file/upload"})


def form_boundary(content_type: str | bytes) -> bytes:
    """The boundary of a multipart/form-data Content-Type; BadMultipart saying what is wrong."""
    _kind, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if not boundary:
        raise BadMultipart(
            "multipart/form-data without a boundary: let the client build the form "
            "(curl -F file=@photo.jpg ...)"
        )
    if len(boundary) > MAX_BOUNDARY_CHARS:
        raise BadMultipart(
            f"the form's boundary has {len(boundary)} characters; at most "
            f"{MAX_BOUNDARY_CHARS} are allowed (RFC 2046): let the client build the form"
        )
    if not _BOUNDARY.fullmatch(boundary):
        what = "ends in a space" if boundary.endswith(b" ") else "has a character"
        raise BadMultipart(
            f"the form's boundary {what} RFC 2046 does not allow (letters, digits, "
            "'()+_,-./:=? and inner spaces only): let the client build the form"
        )
    return boundary


def is_form(scope: Scope) -> bool:
    """True for a request whose Content-Type is multipart/form-data."""
    for name, value in scope.get("headers", []):
        if name == b"content-type":
            return parse_options_header(value)[0] == FORM_TYPE
    return False


class MultipartCheck:
    """Refuse a malformed multipart/form-data request with 422 `bad_multipart`.

    A bad boundary is answered before the route runs; the body is parsed as it is received
    (python-multipart's push parser, no callbacks: nothing is kept) and a part that is not
    valid, or a body that ends before the closing boundary, stops the read with FormCut.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_form(scope):
            await self.app(scope, receive, send)
            return
        content_type = dict(scope["headers"]).get(b"content-type", b"")
        try:
            boundary = form_boundary(content_type)
        except BadMultipart as exc:
            await refusal_response(exc)(scope, receive, send)
            return
        if scope["path"] in _OWN_PARSER_PATHS:
            await self.app(scope, receive, send)
            return
        parser = MultipartParser(boundary, {})

        async def checked_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                _check(parser, message.get("body", b""), more=message.get("more_body", False))
            return message

        await self.app(scope, checked_receive, send)


def _check(parser: MultipartParser, chunk: bytes, more: bool) -> None:
    try:
        parser.write(chunk)
    except FormParserError as exc:
        raise _cut(f"the form is not valid multipart/form-data ({exc})") from None
    # START: an empty body, which the route answers as a form without its file.
    if not more and parser.state not in (MultipartState.START, MultipartState.END):
        raise _cut("the form ended before its closing boundary: the upload was cut; send it again")


def _cut(message: str) -> RefusedWhileReading:
    return RefusedWhileReading(BadMultipart(message))

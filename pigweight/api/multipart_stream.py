"""The file part of a multipart/form-data upload, streamed: never spooled whole.

Starlette's form parser writes an uploaded file to a temporary file before the handler
sees it: for a 10 GB recording that is 10 GB of extra disk and a wait. Here python-multipart's
push parser is fed the request body as it arrives and the bytes of the part named `file`
are handed on chunk by chunk.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from pigweight.api.multipart_check import form_boundary
from pigweight.api.refusals import BadMultipart, FormTooLarge

FIELD = "file"
# What may come before the file's bytes: a few small fields, not an endless preamble (the
# upload routes have no body cap of their own, the file's size is checked later). Each part's
# headers are bounded by python-multipart (8 lines of 4 KB).
MAX_PARTS_BEFORE_FILE = 16
MAX_BYTES_BEFORE_FILE = 1024 * 1024


class _Parts:
    """Callbacks of the push parser: headers of each part, data of the file part."""

    def __init__(self) -> None:
        self.parts = 0
        self.field_bytes = 0  # of the parts before the file
        self.field = b""
        self.value = b""
        self.headers: dict[bytes, bytes] = {}
        self.filename: str | None = None
        self.in_file = False
        self.pending: list[bytes] = []
        self.file_done = False

    def on_part_begin(self) -> None:
        self.headers = {}
        self.parts += 1
        if self.filename is None and self.parts > MAX_PARTS_BEFORE_FILE:
            raise FormTooLarge(
                f"the form has more than {MAX_PARTS_BEFORE_FILE} fields before the file; "
                "send the video as the field 'file' with few others"
            )

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.value += data[start:end]

    def on_header_end(self) -> None:
        self.headers[self.field.lower()] = self.value
        self.field, self.value = b"", b""

    def on_headers_finished(self) -> None:
        _kind, options = parse_options_header(self.headers.get(b"content-disposition", b""))
        name = options.get(b"name", b"").decode("utf-8", "replace")
        if name == FIELD and self.filename is None:
            raw = options.get(b"filename", b"upload.mp4")
            self.filename = raw.decode("utf-8", "replace") or "upload.mp4"
            self.in_file = True

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self.in_file:
            self.pending.append(bytes(data[start:end]))
        elif self.filename is None:
            self.field_bytes += end - start
            if self.field_bytes > MAX_BYTES_BEFORE_FILE:
                raise FormTooLarge(
                    f"the form has more than {MAX_BYTES_BEFORE_FILE} bytes before the file; "
                    "send the video as the field 'file' with few small others"
                )

    def on_part_end(self) -> None:
        if self.in_file:
            self.in_file = False
            self.file_done = True


async def file_part(request: Request) -> tuple[str, AsyncIterator[bytes]]:
    """(filename, chunks) of the form field `file`; BadMultipart if the form has none."""
    boundary = form_boundary(request.headers.get("content-type", ""))
    parts = _Parts()
    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": parts.on_part_begin,
            "on_header_field": parts.on_header_field,
            "on_header_value": parts.on_header_value,
            "on_header_end": parts.on_header_end,
            "on_headers_finished": parts.on_headers_finished,
            "on_part_data": parts.on_part_data,
            "on_part_end": parts.on_part_end,
        },
    )
    stream = request.stream().__aiter__()
    # Read until the file part's headers are known: its name comes before its bytes.
    while parts.filename is None:
        try:
            chunk = await stream.__anext__()
        except StopAsyncIteration:
            raise BadMultipart(
                "no file in the form: send the video as the multipart field 'file' "
                "(curl -F file=@nvr.mp4 ...)"
            ) from None
        _feed(parser, chunk)

    async def chunks() -> AsyncIterator[bytes]:
        while True:
            while parts.pending:
                yield parts.pending.pop(0)
            if parts.file_done:
                return
            try:
                chunk = await stream.__anext__()
            except StopAsyncIteration:
                raise BadMultipart("the form ended inside the file: the upload was cut") from None
            _feed(parser, chunk)

    return parts.filename, chunks()


def _feed(parser: MultipartParser, chunk: bytes) -> None:
    try:
        parser.write(chunk)
    except MultipartParseError as exc:
        raise BadMultipart(f"the form is not valid multipart/form-data ({exc})") from None

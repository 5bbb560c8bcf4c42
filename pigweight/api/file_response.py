"""Files served with Range, whose refusals are `{detail, code}` answers like every error.

Starlette's FileResponse answers a bad Range header itself, in plain text (400, or 416 with
an empty body), out of reach of the error handlers. Here its range parser's refusals become
domain errors, raised before anything is sent, and api/errors.py answers them.
"""

from __future__ import annotations

import os

from starlette.responses import FileResponse, MalformedRangeHeader, RangeNotSatisfiable, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from pigweight.errors import PigWeightError

_SHOWN_CHARS = 60  # of the client's Range header, quoted back


class BadRange(PigWeightError):
    """A Range header that is not `bytes=a-b` (400)."""

    code = "bad_range"


class RangeOutside(PigWeightError):
    """A Range that starts past the end of the file (416, with `Content-Range: bytes */size`)."""

    code = "range_not_satisfiable"

    def __init__(self, message: str, size_bytes: int) -> None:
        super().__init__(message)
        self.headers = {"Content-Range": f"bytes */{size_bytes}"}


class RangeFileResponse(FileResponse):
    """FileResponse whose Range refusals are BadRange and RangeOutside."""

    @classmethod
    def _parse_range_header(cls, http_range: str, file_size: int) -> list[tuple[int, int]]:
        shown = http_range[:_SHOWN_CHARS]
        try:
            return super()._parse_range_header(http_range, file_size)
        except MalformedRangeHeader as exc:
            reason = exc.content.removeprefix("Range header: ").rstrip(".")
            raise BadRange(
                f"Range {shown!r} is not valid ({reason}): send bytes=START-END, "
                "e.g. bytes=0-1023, or no Range for the whole file"
            ) from None
        except RangeNotSatisfiable:
            raise RangeOutside(
                f"Range {shown!r} starts past the end of the file, which has "
                f"{file_size} bytes: ask for bytes before {file_size}",
                file_size,
            ) from None


class RangeStaticFiles(StaticFiles):
    """StaticFiles whose files refuse a bad Range as RangeFileResponse does."""

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        if type(response) is not FileResponse:
            return response  # 304 Not Modified: no body, no Range
        return RangeFileResponse(full_path, status_code=status_code, stat_result=stat_result)

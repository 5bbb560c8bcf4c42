"""Every error a client can cause, mapped to one HTTP answer here and nowhere else.

Answers are `{"detail": "<what to fix>", "code": "<stable id>"}`: `detail` is for people
(English, one line), `code` lets the web page show the message in the operator's language.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from pigweight.api.file_response import BadRange, RangeOutside
from pigweight.api.filename_header import InvalidFilename
from pigweight.api.idempotency import InvalidIdempotencyKey
from pigweight.api.refusals import (
    BadHttpRequest,
    BadMultipart,
    BodyTooLarge,
    FormTooLarge,
    LoginRefused,
    NoFrame,
    NotFound,
    RequestRefused,
    Unavailable,
)
from pigweight.api.schemas import ErrorPublic
from pigweight.auth.gate import Forbidden, NotSignedIn
from pigweight.auth.login_limits import LoginBusy, TooManyLogins
from pigweight.auth.users import UnknownToken, UnknownUser, UserError
from pigweight.background import StillStopping
from pigweight.camera_policy import CameraHostRefused, CameraHostUnresolved
from pigweight.errors import (
    DatabaseUnavailable,
    ImageTooLarge,
    InvalidImage,
    InvalidVideo,
    ModelLoadError,
    PigWeightError,
)
from pigweight.media.roots import MediaNotFound, PathRefused
from pigweight.media.uploads import (
    InsufficientStorage,
    UploadNotFound,
    UploadOffsetMismatch,
    UploadRejected,
    VideoTooLarge,
)
from pigweight.pipeline.archive import InvalidTime, VideoNotFound
from pigweight.redact import redact_text
from pigweight.sites.index_source import IndexTokenRefused
from pigweight.sites.wire import WireError
from pigweight.store.copy import CopyRefused
from pigweight.streaming.webrtc import InvalidOffer, TooManyPeers, WebRTCDisabled
from pigweight.teaching.boxes import LabelRejected
from pigweight.teaching.folder import ImportRejected
from pigweight.teaching.frames import FrameNotFound, FrameNotKept, LabelConflict
from pigweight.teaching.jobs import (
    JobNotFound,
    TrainingBusy,
    TrainingRejected,
    TrainingUnavailable,
)
from pigweight.teaching.models import ActivationRefused, ModelNotFound, ModelRejected
from pigweight.weighing.batches import BatchClosed, BatchNotFound, BatchRejected
from pigweight.weighing.rules import (
    CountUnavailable,
    DuplicateWeighing,
    IdempotencyConflict,
    RecordConflict,
    RecordNotFound,
    WeighingRejected,
)
from pigweight.zones import InvalidZone

logger = logging.getLogger(__name__)


class UploadTooLarge(PigWeightError):
    """The upload has more bytes than MAX_UPLOAD_MB allows."""

    code = "upload_too_large"

    def __init__(self, limit_mb: float) -> None:
        super().__init__(upload_limit_message(limit_mb))
        self.limit_mb = limit_mb


# The HTTP status of each domain error; an error's own class, else its nearest base here.
# Its code (the error's `code`, "bad_request" when it has none) goes into the body.
STATUS: dict[type[PigWeightError], int] = {
    PigWeightError: 400,
    # what a request sends
    BadHttpRequest: 400,
    InvalidImage: 422,
    ImageTooLarge: 413,
    InvalidVideo: 422,
    UploadTooLarge: 413,
    BodyTooLarge: 413,
    BadMultipart: 422,
    FormTooLarge: 413,
    InvalidFilename: 422,
    InvalidIdempotencyKey: 422,
    BadRange: 400,
    RangeOutside: 416,
    InvalidZone: 422,
    CameraHostRefused: 422,
    CameraHostUnresolved: 422,
    WireError: 422,  # a site's message, or a site id, that cannot be read
    # the routes' own
    NotFound: 404,
    RequestRefused: 422,
    Unavailable: 503,
    # logging in, and the gate every request passes (auth/gate.py)
    LoginRefused: 401,
    NotSignedIn: 401,
    Forbidden: 403,
    IndexTokenRefused: 403,
    TooManyLogins: 429,
    LoginBusy: 503,
    # users and tokens
    UserError: 422,
    UnknownUser: 404,
    UnknownToken: 404,
    # media roots, uploads and the archive
    PathRefused: 403,
    MediaNotFound: 404,
    VideoTooLarge: 413,
    InsufficientStorage: 507,
    UploadOffsetMismatch: 409,
    UploadNotFound: 404,
    UploadRejected: 400,
    VideoNotFound: 404,
    InvalidTime: 422,
    # the model and the live view
    ModelLoadError: 503,
    DatabaseUnavailable: 503,  # the database went away (a start stops on it instead)
    CopyRefused: 409,  # `pigweight db copy` (the CLI's; no route raises it)
    TooManyPeers: 429,
    WebRTCDisabled: 503,
    InvalidOffer: 422,
    # weighing
    WeighingRejected: 422,
    CountUnavailable: 409,
    IdempotencyConflict: 409,
    DuplicateWeighing: 409,
    RecordNotFound: 404,
    RecordConflict: 409,
    BatchRejected: 422,
    BatchNotFound: 404,
    BatchClosed: 409,
    # teaching
    NoFrame: 409,
    FrameNotFound: 404,
    LabelRejected: 422,
    FrameNotKept: 507,
    LabelConflict: 409,
    ImportRejected: 422,
    ModelNotFound: 404,
    ModelRejected: 422,
    ActivationRefused: 409,
    TrainingBusy: 409,
    StillStopping: 409,
    TrainingRejected: 422,
    TrainingUnavailable: 503,
    JobNotFound: 404,
}


def status_of(exc: PigWeightError) -> int:
    """The HTTP status that answers `exc`."""
    for exc_type in type(exc).__mro__:
        status_code = STATUS.get(exc_type)
        if status_code is not None:
            return status_code
    return 400  # not reached: every error is a PigWeightError


def code_of(exc: PigWeightError) -> str:
    """The stable id a page and a client read, as the error names it."""
    return str(getattr(exc, "code", "bad_request"))


class RefusedWhileReading(HTTPException):
    """Carries a domain error out of the read of a request body: FastAPI answers anything
    else raised there as a bare 400 'There was an error parsing the body'."""

    def __init__(self, error: PigWeightError) -> None:
        super().__init__(status_of(error), str(error))
        self.error = error


MISSING_FILE_MESSAGE = (
    "no photo in the request: send it as the multipart form field 'file' "
    "(curl -F file=@photo.jpg ...)"
)

NOT_UTF8_MESSAGE = "body: the JSON is not valid UTF-8; send it encoded as UTF-8"


def upload_limit_message(limit_mb: float) -> str:
    """The one sentence every 413 for an oversize upload says."""
    return (
        f"the upload is larger than the {limit_mb:g} MB limit (MAX_UPLOAD_MB); send a smaller photo"
    )


def error_response(
    status_code: int, detail: str, code: str, params: dict[str, Any] | None = None
) -> JSONResponse:
    """The JSON body of every error answer; a URL's password quoted in it is hidden."""
    body: dict[str, Any] = {"detail": redact_text(detail), "code": code}
    if params:
        body["params"] = params
    return JSONResponse(body, status_code=status_code)


def install_error_handlers(app: FastAPI) -> None:
    """Map domain exceptions and request validation errors to clear 4xx/503 answers."""
    app.add_exception_handler(PigWeightError, _domain_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(RefusedWhileReading, _refused_while_reading)  # type: ignore[arg-type]
    _document_error_body(app)


# FastAPI documents its own 422 body (a list of errors); the handler above sends ErrorPublic.
_FASTAPI_422_SCHEMAS = ("HTTPValidationError", "ValidationError")


def _document_error_body(app: FastAPI) -> None:
    """/openapi.json tells what a 422 really holds: `{detail, code}`, as every error does."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.setdefault("ErrorPublic", ErrorPublic.model_json_schema())
        for name in _FASTAPI_422_SCHEMAS:
            components.pop(name, None)
        for operation in (op for path in schema.get("paths", {}).values() for op in path.values()):
            answer = operation.get("responses", {}).get("422", {})
            if "application/json" in answer.get("content", {}):
                answer["content"]["application/json"]["schema"] = {
                    "$ref": "#/components/schemas/ErrorPublic"
                }
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def refusal_response(exc: PigWeightError) -> JSONResponse:
    """The answer to a domain error: its status, body and headers (middleware sends it as is)."""
    status_code = status_of(exc)
    params = getattr(exc, "params", None)  # what the page needs to say it in its language
    response = error_response(
        status_code, str(exc), code_of(exc), params if isinstance(params, dict) else None
    )
    offset = getattr(exc, "offset", None)
    if status_code == 409 and isinstance(offset, int):
        response.headers["Upload-Offset"] = str(offset)  # where a resumable upload resumes
    retry_after_s = getattr(exc, "retry_after_s", None)  # a refusal that ends by itself
    if isinstance(retry_after_s, int):
        response.headers["Retry-After"] = str(retry_after_s)
    headers = getattr(exc, "headers", None)  # e.g. a 416's Content-Range: bytes */size
    if isinstance(headers, dict):
        response.headers.update(headers)
    return response


def refusal_bytes(exc: PigWeightError) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """refusal_response's status, headers and body, for a protocol that writes them itself."""
    response = refusal_response(exc)
    return response.status_code, response.raw_headers, bytes(response.body)


async def _domain_error(request: Request, exc: PigWeightError) -> JSONResponse:
    message = redact_text(str(exc))
    # An error of the server is logged as one; a refusal that ends by itself is not.
    if status_of(exc) >= 500 and getattr(exc, "retry_after_s", None) is None:
        logger.error("%s %s: %s", request.method, request.url.path, message)
    else:
        logger.info("%s %s refused: %s", request.method, request.url.path, message)
    return refusal_response(exc)


async def _refused_while_reading(request: Request, exc: RefusedWhileReading) -> JSONResponse:
    return await _domain_error(request, exc.error)


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = exc.errors()
    if any(tuple(err.get("loc", ()))[-1:] == ("file",) for err in errors):
        return error_response(422, MISSING_FILE_MESSAGE, "missing_file")
    parts = []
    for err in errors:
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "request"
        message = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        if err.get("type") == "missing":
            message = "is required"
        elif err.get("type") == "extra_forbidden":
            message = "is not a field of this request (check the spelling)"
        parts.append(f"{where}: {message}")
    return error_response(422, "; ".join(parts) or "invalid request", "invalid_request")


async def _http_error(request: Request, exc: HTTPException) -> JSONResponse:
    if exc.status_code == 400 and isinstance(exc.__cause__, UnicodeDecodeError):
        # FastAPI's "There was an error parsing the body" for a JSON body that is not UTF-8.
        return error_response(422, NOT_UTF8_MESSAGE, "invalid_request")
    # Starlette's and FastAPI's own: an unknown path (404), a method the path has not (405,
    # with Allow), a body over a framework limit (413).
    code = "upload_too_large" if exc.status_code == 413 else f"http_{exc.status_code}"
    response = error_response(exc.status_code, str(exc.detail), code)
    if exc.headers:
        response.headers.update(exc.headers)
    return response

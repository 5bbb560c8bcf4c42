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

from pigweight.api.schemas import ErrorPublic
from pigweight.errors import (
    ImageTooLarge,
    InvalidImage,
    InvalidVideo,
    ModelLoadError,
    PigWeightError,
)
from pigweight.media.redact import redact_text
from pigweight.weighing.records import (
    CountUnavailable,
    IdempotencyConflict,
    RecordConflict,
    RecordNotFound,
    WeighingRejected,
)

logger = logging.getLogger(__name__)


class UploadTooLarge(PigWeightError):
    """The upload has more bytes than MAX_UPLOAD_MB allows."""

    def __init__(self, limit_mb: float) -> None:
        super().__init__(upload_limit_message(limit_mb))
        self.limit_mb = limit_mb


# Most specific first: ImageTooLarge is an InvalidImage, UploadTooLarge a PigWeightError.
_STATUS_AND_CODE: list[tuple[type[PigWeightError], int, str]] = [
    (ImageTooLarge, 413, "image_too_large"),
    (InvalidImage, 422, "invalid_image"),
    (UploadTooLarge, 413, "upload_too_large"),
    (ModelLoadError, 503, "model_unavailable"),
    (InvalidVideo, 422, "invalid_video"),
    (WeighingRejected, 422, WeighingRejected.code),
    (CountUnavailable, 409, CountUnavailable.code),
    (IdempotencyConflict, 409, IdempotencyConflict.code),
    (RecordNotFound, 404, RecordNotFound.code),
    (RecordConflict, 409, RecordConflict.code),
    (PigWeightError, 400, "bad_request"),
]

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


def _classify(exc: PigWeightError) -> tuple[int, str]:
    # A domain error may name its own answer (class attributes http_status and code).
    declared = getattr(exc, "http_status", None)
    if isinstance(declared, int):
        return declared, str(getattr(exc, "code", f"http_{declared}"))
    for exc_type, status_code, code in _STATUS_AND_CODE:
        if isinstance(exc, exc_type):
            return status_code, code
    return 400, "bad_request"


async def _domain_error(request: Request, exc: PigWeightError) -> JSONResponse:
    status_code, code = _classify(exc)
    message = redact_text(str(exc))
    if status_code >= 500:
        logger.error("%s %s: %s", request.method, request.url.path, message)
    else:
        logger.info("%s %s refused: %s", request.method, request.url.path, message)
    params = getattr(exc, "params", None)  # what the page needs to say it in its language
    response = error_response(
        status_code, message, code, params if isinstance(params, dict) else None
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
    code = getattr(exc, "code", None)  # api/uploads.BodyTooLarge names its own
    if not isinstance(code, str):
        code = "upload_too_large" if exc.status_code == 413 else f"http_{exc.status_code}"
    response = error_response(exc.status_code, str(exc.detail), code)
    if exc.headers:
        response.headers.update(exc.headers)
    return response

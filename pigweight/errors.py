"""Domain exceptions; `api/errors.py` maps them to HTTP answers, the CLI to exit code 2."""

from __future__ import annotations

from typing import Any


class PigWeightError(Exception):
    """Base of every error a user can fix; the message says what to fix."""


class Refusal(PigWeightError):
    """A refusal with its own code and the numbers a page needs to say it in its language;
    a subclass names its code when it has only one (api/errors.py gives it its HTTP status)."""

    code = "bad_request"

    def __init__(self, message: str, code: str | None = None, **params: Any) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        self.params = params


class InvalidImage(PigWeightError):
    """The input is not a readable image (empty, truncated, not an image, too large)."""

    code = "invalid_image"


class ImageTooLarge(InvalidImage):
    """The image has more pixels than the configured limit."""

    code = "image_too_large"


class InvalidVideo(PigWeightError):
    """The input is not a readable video."""

    code = "invalid_video"


class ModelLoadError(PigWeightError):
    """The model file is missing or is not a model PigWeight understands."""

    code = "model_unavailable"


class DatabaseUnavailable(PigWeightError):
    """DATABASE_URL names no database that can be opened (its password is never quoted)."""

    code = "database_unavailable"

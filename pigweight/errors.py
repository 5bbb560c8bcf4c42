"""Domain exceptions; `api/errors.py` maps them to HTTP answers, the CLI to exit code 2."""

from __future__ import annotations


class PigWeightError(Exception):
    """Base of every error a user can fix; the message says what to fix."""


class InvalidImage(PigWeightError):
    """The input is not a readable image (empty, truncated, not an image, too large)."""


class ImageTooLarge(InvalidImage):
    """The image has more pixels than the configured limit."""


class InvalidVideo(PigWeightError):
    """The input is not a readable video."""


class ModelLoadError(PigWeightError):
    """The model file is missing or is not a model PigWeight understands."""

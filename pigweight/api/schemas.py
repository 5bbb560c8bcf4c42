"""Response bodies, named by role; the OpenAPI page at /docs is generated from them."""

from __future__ import annotations

from dataclasses import fields
from typing import Any, Literal

from pydantic import BaseModel, Field


def body_of(answer: Any) -> dict[str, Any]:
    """A pipeline dataclass as a JSON object: its fields by name, values as they are (no
    deep copy, unlike dataclasses.asdict: a page of outlines is thousands of lists)."""
    return {f.name: getattr(answer, f.name) for f in fields(answer)}


class HealthPublic(BaseModel):
    """GET /healthz."""

    status: Literal["ok"] = "ok"
    ready: bool = Field(description="The segmenter is loaded; the next photo is counted at once.")
    segmenter: str = Field(description="Name of the segmenter that counts ('classic', ...).")
    version: str


class ConfigPublic(BaseModel):
    """GET /api/config: what the web page needs to know before the first upload."""

    ui_language: Literal["ru", "en"]
    max_upload_mb: float
    max_image_megapixels: float
    segmenter: str
    version: str
    webrtc_enabled: bool = Field(description="False: the live view uses MJPEG only.")
    webrtc_stun: list[str] = Field(
        description="The STUN servers of WEBRTC_ICE_SERVERS, for the browser's side of ICE "
        "(TURN servers and their credentials stay on the server)."
    )


class PhotoCountPublic(BaseModel):
    """POST /api/count_image: the animals counted on one photo."""

    count: int = Field(
        ge=0, description="Animals found on the photo (inside the zone when one is given)."
    )
    confidence: float = Field(ge=0, le=1, description="Mean detection score, 0-1.")
    width: int = Field(description="Photo width in pixels (after EXIF rotation).")
    height: int = Field(description="Photo height in pixels.")
    segmenter: str
    ms: float = Field(description="Server time to decode, count, draw and encode, in ms.")
    outlines: list[list[tuple[float, float]]] = Field(
        description="One polygon per animal, points (x, y) in 0-1 of the photo size."
    )
    overlay: str = Field(
        description="The photo with masks, ids and count drawn on it, as a "
        "data:image/jpeg;base64 URL (longest side at most 1600 px)."
    )
    outside: int = Field(0, ge=0, description="Animals outside the zone: found, not counted.")
    outside_outlines: list[list[tuple[float, float]]] = Field(
        default_factory=list, description="Their outlines, in the format of `outlines`."
    )


class ErrorPublic(BaseModel):
    """Every 4xx/5xx answer."""

    detail: str = Field(description="One line for a person: what went wrong, what to fix.")
    code: str = Field(description="Stable id for programs and translations, e.g. invalid_image.")
    params: dict[str, Any] | None = Field(
        None,
        description="What the message names (a record's id, a count), for a page that says it "
        "in its own language; only on some errors.",
    )

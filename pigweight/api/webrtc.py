"""WebRTC signalling: the browser posts its SDP offer, the server answers (one round trip)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from pigweight.api.live_deps import LiveDep, find_worker
from pigweight.streaming.webrtc import WebRTCService

router = APIRouter(tags=["live"])


class OfferIn(BaseModel):
    """The browser's offer: it receives one video track."""

    model_config = ConfigDict(extra="forbid")

    sdp: str = Field(min_length=1, max_length=200_000)
    type: Literal["offer"]
    overlay: bool = Field(
        False,
        description="True: the annotated frames the counter publishes (TARGET_FPS), the "
        "outlines drawn on the frame they were counted on (what the web page asks for). "
        "False: every frame the camera sends, without outlines.",
    )


class AnswerOut(BaseModel):
    sdp: str
    type: Literal["answer"]


@router.post("/api/webrtc/{camera_id}/offer", response_model=AnswerOut)
async def offer(request: Request, camera_id: str, body: OfferIn, live: LiveDep) -> AnswerOut:
    """Answer a WebRTC offer with the camera's video. 429 when the camera already streams
    to WEBRTC_MAX_PEERS browsers, 503 when WEBRTC_ENABLED is false: the page uses MJPEG."""
    worker = find_worker(live, camera_id)
    service: WebRTCService = request.app.state.webrtc
    answer = await service.answer(worker, body.sdp, body.type, body.overlay)
    return AnswerOut(sdp=answer["sdp"], type=answer["type"])

"""GET /healthz and GET /api/config: small answers for monitors and the web page."""

from __future__ import annotations

from fastapi import APIRouter

from pigweight import __version__
from pigweight.api.deps import LazySegmenterDep, SettingsDep
from pigweight.api.schemas import ConfigPublic, HealthPublic

router = APIRouter(tags=["service"])


@router.get("/healthz", response_model=HealthPublic)
async def healthz(holder: LazySegmenterDep) -> HealthPublic:
    """The server answers; `ready` says whether the segmenter is loaded."""
    return HealthPublic(ready=holder.ready, segmenter=holder.name, version=__version__)


@router.get("/api/config", response_model=ConfigPublic)
async def config(settings: SettingsDep, holder: LazySegmenterDep) -> ConfigPublic:
    """Defaults and limits the web page shows before the first upload."""
    return ConfigPublic(
        ui_language=settings.server.ui_language,
        max_upload_mb=settings.limits.max_upload_mb,
        max_image_megapixels=settings.limits.max_image_megapixels,
        segmenter=holder.name,
        version=__version__,
        webrtc_enabled=settings.webrtc.webrtc_enabled,
        webrtc_stun=[
            u for u in settings.webrtc.webrtc_ice_servers if u.startswith(("stun:", "stuns:"))
        ],
    )

"""Models the central sends to its sites (issue 21, part 3): /api/central/models.

The central's admin uploads an ONNX model for a site; it is checked here as the model book
checks an import (onnxruntime loads it, one pig class, a detector), then put into the hub's
PW_MODELS object store and activated for the site (sites/models.py). The site fetches it,
checks it again (size, sha256, the same checks) and reports; the list shows each site's
state: none, pending (sent, no report yet: the link may be down), active or refused.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

import anyio
import nats.errors
import nats.js.errors
from fastapi import APIRouter, File, Form, Request, UploadFile
from nats.js import JetStreamContext

from pigweight.api.body_limits import read_upload
from pigweight.api.central import CentralBookDep
from pigweight.api.deps import actor_name
from pigweight.api.refusals import NotFound, Unavailable
from pigweight.settings import SiteSettings
from pigweight.sites import models
from pigweight.sites.hub_link import HubDown, HubLink
from pigweight.sites.models import REQUEST_TIMEOUT_S
from pigweight.teaching.models import MAX_MODEL_BYTES, check_model_file

router = APIRouter(tags=["central"])

SEND_TIMEOUT_S = 300.0  # a model of up to 200 MB into the object store


def _settings(request: Request) -> SiteSettings:
    settings: SiteSettings = request.app.state.settings.sites
    return settings


@contextlib.asynccontextmanager
async def hub(
    request: Request, timeout_s: float = 3 * REQUEST_TIMEOUT_S
) -> AsyncIterator[JetStreamContext]:
    """The hub's JetStream over the app's one link (sites/hub_link.py); a 503 that says why
    at once when the hub is down, or when it has not answered within `timeout_s`."""
    link: HubLink | None = getattr(request.app.state, "central_hub", None)
    if link is None:
        raise NotFound("this PigWeight is not the central service", "not_central")
    try:
        js = link.jetstream()
    except HubDown as exc:
        raise Unavailable(str(exc), "hub_unreachable") from None
    try:
        with anyio.fail_after(timeout_s):
            yield js
    except (TimeoutError, nats.errors.TimeoutError, nats.errors.ConnectionClosedError) as exc:
        raise Unavailable(
            f"the hub did not answer ({type(exc).__name__}); try again when it is up",
            "hub_unreachable",
        ) from None
    except nats.js.errors.ServiceUnavailableError:
        raise Unavailable("the hub's JetStream is not available now", "hub_unreachable") from None


@router.get("/api/central/models")
async def site_models(request: Request, _book: CentralBookDep) -> dict[str, Any]:
    """Each site's model from the central: the last activation sent, the site's last report
    and the state (none | pending | active | refused)."""
    settings = _settings(request)
    async with hub(request) as js:
        await models.ensure_central_streams(js, settings.central_sites)
        sites = [await models.site_model_state(js, s) for s in settings.central_sites]
    return {"sites": sites}


@router.get("/api/central/labels/{site}")
async def site_labels(request: Request, site: str, _book: CentralBookDep) -> dict[str, Any]:
    """The labelled frames a site sent (for a group model), oldest first, newest version of
    each: camera, version, boxes, who labelled it, the JPEG's size."""
    settings = _settings(request)
    if site not in settings.central_sites:
        raise NotFound(f"no site {site[:40]!r} in CENTRAL_SITES", "site_not_found")
    async with hub(request) as js:
        await models.ensure_central_streams(js, settings.central_sites)
        frames = await models.site_labels(js, site)
    return {"site": site, "frames": frames}


@router.post("/api/central/models/{site}/import", status_code=201)
async def send_model(
    request: Request,
    site: str,
    _book: CentralBookDep,
    file: Annotated[UploadFile, File(description="An ONNX pig detector (one class: pig).")],
    cameras: Annotated[
        str, Form(description="Comma-separated camera ids at the site; empty: all its cameras.")
    ] = "",
) -> dict[str, Any]:
    """Check a model and activate it for one site's cameras (admin): it reaches the site
    through the hub's object store, is checked there again and counts once it passed."""
    settings = _settings(request)
    if site not in settings.central_sites:
        raise NotFound(f"no site {site[:40]!r} in CENTRAL_SITES", "site_not_found")
    data = await read_upload(file, MAX_MODEL_BYTES / 1024 / 1024)

    def check() -> None:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "model.onnx"
            path.write_bytes(data)
            check_model_file(path)  # ModelRejected: a 422 that says why

    await anyio.to_thread.run_sync(check)
    chosen = [c.strip() for c in cameras.split(",") if c.strip()] or None
    async with hub(request, timeout_s=SEND_TIMEOUT_S) as js:
        await models.send_model(
            js, site, data, file.filename or "model.onnx", chosen, actor_name(request)
        )
        return await models.site_model_state(js, site)

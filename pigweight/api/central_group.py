"""A group model from the sites' labelled frames (issue 21, part 3): /api/central/group.

The sites send their labelled frames to the hub; here the central shows them (a frame's
picture), copies them into DATA_DIR/group_labels and fine-tunes the shipped model on them
with the sites' own trainer (teaching/jobs.py: a child process, progress, cancel with
POST /api/training/{job_id}/cancel, resumed after a restart). Each camera's newest fifth is
held out (teaching/group.py): the model's figures are on frames it never learnt from. The
model lands in the central's model book as camera `group`; the admin sends it to a site as
an uploaded model goes (sites/models.py send_model).
"""

from __future__ import annotations

from typing import Any

import anyio
from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from pigweight.api.central import CentralBookDep
from pigweight.api.central_models import SEND_TIMEOUT_S, hub
from pigweight.api.deps import actor_name
from pigweight.api.refusals import NotFound, RequestRefused
from pigweight.api.teaching import TrainingIn
from pigweight.settings import SiteSettings
from pigweight.sites import models
from pigweight.teaching.group import GROUP, GroupFrames, copy_labels, figures_by_site
from pigweight.teaching.jobs import can_train, check_request
from pigweight.teaching.models import SHIPPED, ModelNotFound
from pigweight.teaching.service import Teaching

router = APIRouter(tags=["central"])

COPY_TIMEOUT_S = 600.0  # thousands of frames of up to 900 KB from the hub


def _settings(request: Request) -> SiteSettings:
    settings: SiteSettings = request.app.state.settings.sites
    return settings


def _teaching(request: Request) -> Teaching:
    teaching: Teaching = request.app.state.teaching
    return teaching


def _site(settings: SiteSettings, site: str) -> str:
    if site not in settings.central_sites:
        raise NotFound(f"no site {site[:40]!r} in CENTRAL_SITES", "site_not_found")
    return site


@router.get(
    "/api/central/labels/{site}/{frame_id}.jpg",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}}},
)
async def label_picture(
    request: Request, site: str, frame_id: int, _book: CentralBookDep
) -> Response:
    """The picture of a labelled frame a site sent (its newest version), to see what was
    labelled; 404 label_not_found when the hub has no such frame (label_not_a_jpeg: what the
    site sent is not a JPEG)."""
    _site(_settings(request), site)
    if not 0 <= frame_id < 2**62:
        raise NotFound(f"no labelled frame {frame_id} from site {site}", "label_not_found")
    async with hub(request) as js:
        found = await models.label_image(js, site, frame_id)
    if found is None:
        raise NotFound(
            f"site {site} sent no labelled frame {frame_id} (or the hub has not got it yet)",
            "label_not_found",
        )
    if not found[1].startswith(b"\xff\xd8"):  # a site's bytes are never served as anything else
        raise NotFound(f"site {site}'s frame {frame_id} is not a JPEG", "label_not_a_jpeg")
    headers = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
    return Response(found[1], media_type="image/jpeg", headers=headers)


@router.get("/api/central/group")
async def group_state(request: Request, _book: CentralBookDep) -> dict[str, Any]:
    """Per site: labelled frames on the hub and copied here; the last group training (its
    step, loss, state) and the group models with their held-out figures (all, and per site:
    `by_site`)."""
    settings = _settings(request)
    teaching = _teaching(request)
    async with hub(request) as js:
        await models.ensure_central_streams(js, settings.central_sites)
        on_hub = {s: await models.label_count(js, s) for s in settings.central_sites}
    copied = GroupFrames(teaching.data_dir, settings.central_sites).counts()
    job = await anyio.to_thread.run_sync(teaching.trainer.latest, GROUP)
    cards = await anyio.to_thread.run_sync(_group_cards, teaching)
    return {
        "sites": [{"site": s, "frames": on_hub[s], "copied": copied[s]} for s in on_hub],
        "job": job if job is not None and job["camera"] == GROUP else None,
        "models": cards,
        "available": can_train(),
    }


def _group_cards(teaching: Teaching) -> list[dict[str, Any]]:
    """The group models, newest first, each with its held-out figures per site."""
    cards = []
    for card in teaching.models.cards(GROUP):
        if card["id"] == SHIPPED:
            continue
        try:
            by_site = figures_by_site(teaching.models.comparison(card["id"]))
        except ModelNotFound:
            by_site = {}
        cards.append(card | {"by_site": by_site})
    return cards


class GroupTrainingIn(TrainingIn):
    sites: list[str] | None = Field(
        None, max_length=256, description="The sites whose frames it learns from; null: all."
    )


@router.post("/api/central/group/train", status_code=202)
async def train_group(
    request: Request, _book: CentralBookDep, body: GroupTrainingIn | None = None
) -> dict[str, Any]:
    """Copy the sites' labelled frames from the hub (the newest version of each, once) and
    fine-tune the shipped model on them in the background; 409 training_running while a
    training runs, 422 too_few_labels with fewer than five frames."""
    settings = _settings(request)
    body = body or GroupTrainingIn.model_validate({})
    sites = settings.central_sites if body.sites is None else list(dict.fromkeys(body.sites))
    if not sites:
        raise RequestRefused("sites: name at least one site, or null for all", "no_sites")
    for site in sites:
        _site(settings, site)
    check_request(body.steps, body.imgsz)  # refused before anything is copied
    teaching = _teaching(request)
    async with hub(request, timeout_s=COPY_TIMEOUT_S) as js:
        await models.ensure_central_streams(js, settings.central_sites)
        copied = await copy_labels(js, sites, teaching.data_dir)
    frames = GroupFrames(teaching.data_dir, sites)
    job = await anyio.to_thread.run_sync(
        teaching.trainer.begin, GROUP, body.steps, body.imgsz, actor_name(request), frames
    )
    return job | {"sites": sites, "copied": copied}


class GroupSendIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    site: str = Field(max_length=32, description="The site (one of CENTRAL_SITES).")
    cameras: list[str] | None = Field(
        None, max_length=256, description="Camera ids at the site; null: all its cameras."
    )


@router.post("/api/central/group/models/{model_id}/send", status_code=201)
async def send_group_model(
    request: Request, model_id: str, body: GroupSendIn, _book: CentralBookDep
) -> dict[str, Any]:
    """Send a group model to a site's cameras, as an uploaded model goes: the site checks it
    again and reports; the answer is the site's model state (pending until it does)."""
    site = _site(_settings(request), body.site)
    book = _teaching(request).models
    card = book.card(model_id)  # 404 model_not_found
    if card.get("camera") != GROUP:  # a site's own camera model is not sent from here
        raise NotFound(f"no group model {model_id!r}", "model_not_found")
    data = await anyio.to_thread.run_sync(book.path(model_id).read_bytes)
    cameras = [c.strip() for c in body.cameras or [] if c.strip()] or None
    async with hub(request, timeout_s=SEND_TIMEOUT_S) as js:
        await models.send_model(js, site, data, f"{model_id}.onnx", cameras, actor_name(request))
        return await models.site_model_state(js, site)

"""What the live routes receive: the app's LiveServices and a camera id checked against it."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from pigweight.api.refusals import NotFound
from pigweight.pipeline.camera_worker import CameraWorker
from pigweight.pipeline.live import LiveServices
from pigweight.pipeline.manager import UnknownCamera


def get_live(request: HTTPConnection) -> LiveServices:
    """The app's live services (built in create_app)."""
    live: LiveServices = request.app.state.live
    return live


LiveDep = Annotated[LiveServices, Depends(get_live)]


def unknown_camera(live: LiveServices, camera_id: str) -> NotFound:
    """A refusal that lists the cameras there are, so a typo is obvious."""
    known = ", ".join(sorted(live.manager.cameras)) or "none configured"
    # Quoted back only when it looks like an id: a URL sent by mistake may hold a password.
    shown = repr(camera_id) if re.fullmatch(r"[A-Za-z0-9_.-]{0,40}", camera_id) else "with that id"
    return NotFound(f"no camera {shown}; cameras: {known}")


def find_worker(live: LiveServices, camera_id: str | None) -> CameraWorker:
    """The worker of `camera_id` (the first camera when None); 404 if unknown."""
    if camera_id is None:
        if not live.manager.cameras:
            raise unknown_camera(live, "")
        camera_id = next(iter(live.manager.cameras))
    try:
        return live.manager.worker(camera_id)
    except UnknownCamera:
        raise unknown_camera(live, camera_id) from None


def get_worker(camera_id: str, live: LiveDep) -> CameraWorker:
    """The worker named in the path; 404 if unknown."""
    return find_worker(live, camera_id)


WorkerDep = Annotated[CameraWorker, Depends(get_worker)]

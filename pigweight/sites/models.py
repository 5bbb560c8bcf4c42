"""Models from the central to a site, over the hub's JetStream (issue 21, part 3).

The central puts a model file into the hub's object store `PW_MODELS` (named by its sha256)
and the activation ("model <sha256>, <name>, for these cameras or all") into the site's own
last-value stream `PW_TO_<site>` on the hub. The site reads, every POLL_S, the last message
of that stream through its leaf link (`nc.jetstream(domain="hub")`, one STREAM.MSG.GET): an
activation sent while the link is down is simply there when it returns, and only the newest
one counts. The site reads the object chunk by chunk with STREAM.MSG.GET as well (no
consumer: its leaf user may call exactly these two API subjects and take replies on its own
inbox prefix, nats_config.py), checks size and sha256 against the activation, then the model
book's own checks (onnxruntime loads it, one pig class, a detector), adds it to the book and
switches the cameras to it. A refused model is never counted with: the cameras keep theirs.
Either outcome goes back as the last message on `pw.model.<site>.status` (stream
`PW_MODEL_STATUS` on the hub), which the central shows. Labelled frames go the other way,
into `PW_LABELS_<site>` (teaching/labels_to_central.py). The site's task that applies them to
its model book is teaching/from_central.py (a layer above this one).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from nats.js import JetStreamContext, api
from nats.js.errors import BucketNotFoundError, NotFoundError

from pigweight.sites.streams import ensure_stream
from pigweight.sites.wire import check_site

logger = logging.getLogger(__name__)

MODELS_BUCKET = "PW_MODELS"
MODELS_STREAM = f"OBJ_{MODELS_BUCKET}"
STATUS_STREAM = "PW_MODEL_STATUS"
# Labelled frames from the sites, for a group model: the newest version of each frame, one
# message a frame (`pw.labels.<site>.frame.<id>` into `PW_LABELS_<site>`: the JPEG; camera,
# version and boxes in the `Pw-Label` header's JSON).
MAX_LABEL_BYTES = 900 * 1024  # under nats-server's 1 MB max_payload
CENTRAL_USER = "central"
POLL_S = 2.0
REQUEST_TIMEOUT_S = 5.0


def to_site_stream(site: str) -> str:
    return f"PW_TO_{check_site(site)}"


def activation_subject(site: str) -> str:
    return f"pw.to.{check_site(site)}.model"


def status_subject(site: str) -> str:
    return f"pw.model.{check_site(site)}.status"


def labels_stream(site: str) -> str:
    return f"PW_LABELS_{check_site(site)}"


def label_subject(site: str, frame_id: int) -> str:
    return f"pw.labels.{check_site(site)}.frame.{int(frame_id)}"


def site_inbox(site: str) -> str:
    """The inbox prefix of a site's model connection: its leaf user may take only these."""
    return f"_INBOX_{check_site(site)}"


def object_meta_subject(name: str) -> str:
    encoded = base64.urlsafe_b64encode(name.encode()).decode()
    return f"$O.{MODELS_BUCKET}.M.{encoded}"


# --- the central -----------------------------------------------------------------------------


async def ensure_central_streams(js: JetStreamContext, sites: list[str]) -> None:
    """On the hub: the models bucket, the status stream and each site's activation stream."""
    try:
        await js.object_store(MODELS_BUCKET)
    except BucketNotFoundError:
        await js.create_object_store(
            MODELS_BUCKET, api.ObjectStoreConfig(storage=api.StorageType.FILE)
        )
    await ensure_stream(
        js,
        api.StreamConfig(
            name=STATUS_STREAM,
            subjects=["pw.model.*.status"],
            storage=api.StorageType.FILE,
            max_msgs_per_subject=1,
        ),
    )
    for site in sites:
        # one stream a site: the hub's interest in exactly the subjects the site's leaf user
        # may publish (a wildcard over all sites is not passed on to the leaf)
        await ensure_stream(
            js,
            api.StreamConfig(
                name=labels_stream(site),
                subjects=[f"pw.labels.{site}.frame.*"],
                storage=api.StorageType.FILE,
                max_msgs_per_subject=1,
                duplicate_window=24 * 3600.0,
            ),
        )
        await ensure_stream(
            js,
            api.StreamConfig(
                name=to_site_stream(site),
                subjects=[activation_subject(site)],
                storage=api.StorageType.FILE,
                max_msgs_per_subject=10,
            ),
        )


async def send_model(
    js: JetStreamContext,
    site: str,
    data: bytes,
    name: str,
    cameras: list[str] | None,
    user: str,
) -> dict[str, Any]:
    """Put a model into PW_MODELS and tell `site` to count with it on `cameras` (None: all).
    Returns the activation as sent. The caller checked the file (check_model_file)."""
    await ensure_central_streams(js, [site])
    digest = hashlib.sha256(data).hexdigest()
    store = await js.object_store(MODELS_BUCKET)
    await store.put(digest, data)
    activation = {
        "id": uuid.uuid4().hex,
        "site": check_site(site),
        "sha256": digest,
        "bytes": len(data),
        "name": Path(name).name[:120] or digest[:12],
        "cameras": cameras,
        "ts": time.time(),
        "user": user,
    }
    await js.publish(activation_subject(site), json.dumps(activation).encode())
    logger.info("models: %s (%s) sent to site %s by %s", activation["name"], digest, site, user)
    return activation


async def site_model_state(js: JetStreamContext, site: str) -> dict[str, Any]:
    """What the central knows of a site's model: the last activation sent, and the site's
    last report. `state`: none | pending | active | refused."""
    sent = await _last_json(js, to_site_stream(site), activation_subject(site))
    report = await _last_json(js, STATUS_STREAM, status_subject(site))
    if sent is None:
        state = "none"
    elif report is None or report.get("activation") != sent["id"]:
        state = "pending"
    else:
        state = str(report["state"])
    return {"site": site, "state": state, "sent": sent, "report": report}


async def site_labels(js: JetStreamContext, site: str, limit: int = 1000) -> list[dict[str, Any]]:
    """A site's labelled frames at the central, oldest first: what each one says (camera,
    version, boxes, who, the JPEG's size), not the picture."""
    found: list[dict[str, Any]] = []
    async for meta, data in label_messages(js, site):
        found.append(meta | {"jpeg_bytes": len(data)})
        if len(found) >= limit:
            break
    return found


async def label_messages(
    js: JetStreamContext, site: str
) -> AsyncIterator[tuple[dict[str, Any], bytes]]:
    """Each labelled frame a site sent, oldest first: (its `Pw-Label` metadata, the JPEG).
    Nothing when the site's stream is not made yet."""
    seq = 1
    wanted = f"pw.labels.{check_site(site)}.frame.*"
    while True:
        try:
            msg = await js.get_msg(labels_stream(site), seq=seq, subject=wanted, next=True)
        except NotFoundError:
            return
        yield _label_meta(msg.headers), msg.data or b""
        assert msg.seq is not None
        seq = msg.seq + 1


async def label_image(
    js: JetStreamContext, site: str, frame_id: int
) -> tuple[dict[str, Any], bytes] | None:
    """One labelled frame a site sent, newest version: (metadata, JPEG); None: not there."""
    try:
        msg = await js.get_last_msg(labels_stream(site), label_subject(site, frame_id))
    except NotFoundError:
        return None
    return _label_meta(msg.headers), msg.data or b""


async def label_count(js: JetStreamContext, site: str) -> int:
    """How many labelled frames of a site the hub holds (0: its stream is not made yet)."""
    try:
        info = await js.stream_info(labels_stream(site))
    except NotFoundError:
        return 0
    return int(info.state.messages)


def _label_meta(headers: dict[str, str] | None) -> dict[str, Any]:
    try:
        meta = json.loads((headers or {}).get("Pw-Label", "{}"))
    except ValueError:
        return {}
    return meta if isinstance(meta, dict) else {}


# --- the site ---------------------------------------------------------------------------------


class ObjectRefused(Exception):
    """The object is not the file the activation names (size, digest, missing)."""


async def fetch_object(js: JetStreamContext, digest: str, size: int, max_bytes: int) -> bytes:
    """The PW_MODELS object named `digest`, read chunk by chunk (STREAM.MSG.GET only), checked
    against the activation's size and sha256. ObjectRefused says why not."""
    if size <= 0 or size > max_bytes:
        raise ObjectRefused(f"a model of {size} bytes")
    try:
        meta = await js.get_last_msg(MODELS_STREAM, object_meta_subject(digest))
    except NotFoundError:
        raise ObjectRefused(f"no object {digest} in {MODELS_BUCKET}") from None
    info = json.loads(meta.data or b"{}")
    if info.get("deleted") or int(info.get("size") or 0) != size:
        raise ObjectRefused(f"the object has {info.get('size')} bytes, the activation says {size}")
    chunks = f"$O.{MODELS_BUCKET}.C.{info['nuid']}"
    h = hashlib.sha256()
    parts: list[bytes] = []
    got, seq = 0, 1
    while got < size:
        msg = await js.get_msg(MODELS_STREAM, seq=seq, subject=chunks, next=True)
        data = msg.data or b""
        parts.append(data)
        h.update(data)
        got += len(data)
        assert msg.seq is not None
        seq = msg.seq + 1
    if got != size:
        raise ObjectRefused(f"the object has {got} bytes, the activation says {size}")
    if h.hexdigest() != digest:
        raise ObjectRefused(f"sha256 {h.hexdigest()} is not the activation's {digest}")
    return b"".join(parts)


async def _last_json(js: JetStreamContext, stream: str, subject: str) -> dict[str, Any] | None:
    try:
        msg = await js.get_last_msg(stream, subject)
    except NotFoundError:
        return None
    data: dict[str, Any] = json.loads(msg.data or b"{}")
    return data

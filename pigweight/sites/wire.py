"""What a site sends the central service: JSON envelopes with a typed body, checked both ways.

Every message is `{"v": 1, "kind": ..., "site": ..., "event_id": ..., "body": {...}}` on the
subject `pw.site.<site>.<stream part>`. `event_id` is also the JetStream `Nats-Msg-Id`
(de-duplication); records and batches carry the UUID made where they were recorded, which
the central keys them by (with the site). `decode` refuses anything else with a `WireError`
that says what is wrong, so a bad message is logged and dropped, never half-written.
"""

from __future__ import annotations

import json
import math
import re
import types
import uuid
from dataclasses import asdict, dataclass, fields
from typing import Any, Union, get_args, get_origin, get_type_hints

from pigweight.errors import PigWeightError

VERSION = 1
SUBJECT_ROOT = "pw.site"
_SITE = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
MAX_TEXT = 2000  # characters of any text field (a note, a reason: 500 on the site)
MAX_POINTS = 1000  # count points in one message


class WireError(PigWeightError):
    """A message that is not what a site sends: the reason, for the log."""

    code = "bad_site_message"


def check_site(site: str) -> str:
    """A site id: lower-case letters, digits, `_` and `-`, up to 32, starting with a letter or
    digit (it is also the site's JetStream domain and part of subjects and stream names)."""
    if not isinstance(site, str) or not _SITE.fullmatch(site):
        raise WireError(
            f"site id {site!r}: use 1-32 of a-z, 0-9, '_' and '-', starting with a letter or digit"
        )
    return site


def site_prefix(site: str) -> str:
    """`pw.site.<site>`: every subject of the site starts with it."""
    return f"{SUBJECT_ROOT}.{check_site(site)}"


# --- the bodies --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RecordBody:
    """A weighing as written at the site: a new one, or a correction of `corrects_uuid`."""

    uuid: str
    corrects_uuid: str | None
    ts: float
    created_ts: float
    timezone: str
    local_time: str
    local_date: str
    camera: str
    count: int
    count_source: str
    confidence: float | None
    total_weight_kg: float
    avg_weight_kg: float
    note: str
    weight_source: str
    batch_uuid: str | None


@dataclass(frozen=True, slots=True)
class DeletionBody:
    """A record deleted at the site, with the operator's reason."""

    record_uuid: str
    ts: float
    reason: str


@dataclass(frozen=True, slots=True)
class ConfirmationBody:
    """An operator at the site said the record is right."""

    record_uuid: str
    ts: float


@dataclass(frozen=True, slots=True)
class BatchBody:
    """A batch as it stands after a change; `changed_ts` orders its revisions."""

    uuid: str
    name: str
    camera: str
    expected_head: int | None
    target_avg_kg: float | None
    note: str
    started_ts: float
    closed_ts: float | None
    changed_ts: float


@dataclass(frozen=True, slots=True)
class CameraBody:
    """A camera's state at `ts` (`running`, `reconnecting`, `error`, `stopped`, ...)."""

    camera: str
    state: str
    ts: float


@dataclass(frozen=True, slots=True)
class CountsBody:
    """A camera's count series, downsampled: [ts, count, stable_count or null] each."""

    camera: str
    points: list[list[float | int | None]]


Body = RecordBody | DeletionBody | ConfirmationBody | BatchBody | CameraBody | CountsBody

# kind -> (its body, the subject part it travels on)
KINDS: dict[str, tuple[type[Any], str]] = {
    "record": (RecordBody, "records"),
    "deletion": (DeletionBody, "records"),
    "confirmation": (ConfirmationBody, "records"),
    "batch": (BatchBody, "batches"),
    "camera": (CameraBody, "cameras"),
    "counts": (CountsBody, "counts"),
}
_KIND_OF = {body: kind for kind, (body, _part) in KINDS.items()}
_SHAPES = {
    body: (frozenset(f.name for f in fields(body)), get_type_hints(body)) for body in _KIND_OF
}


@dataclass(frozen=True, slots=True)
class Envelope:
    """One message: who sent it, its id (the Nats-Msg-Id) and what it says."""

    site: str
    event_id: str
    body: Body

    @property
    def kind(self) -> str:
        return _KIND_OF[type(self.body)]

    @property
    def subject(self) -> str:
        return subject_of(self.site, self.kind)


def subject_of(site: str, kind: str) -> str:
    """The subject a kind of message of a site travels on: `pw.site.<site>.records`, ..."""
    return f"{site_prefix(site)}.{KINDS[kind][1]}"


def new_event_id() -> str:
    return str(uuid.uuid4())


def encode(envelope: Envelope) -> bytes:
    """The message's JSON bytes (checked first: what is sent is what `decode` takes)."""
    _check_envelope(envelope.site, envelope.event_id)
    _check_body(type(envelope.body), asdict(envelope.body))
    data = {
        "v": VERSION,
        "kind": envelope.kind,
        "site": envelope.site,
        "event_id": envelope.event_id,
        "body": asdict(envelope.body),
    }
    return json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


def decode(data: bytes) -> Envelope:
    """The message in these bytes, or WireError saying why it is refused."""
    try:
        raw = json.loads(data)
    except (UnicodeDecodeError, ValueError) as exc:
        raise WireError(f"not JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise WireError("not a JSON object")
    if raw.get("v") != VERSION:
        raise WireError(f"version {raw.get('v')!r}: this service reads version {VERSION}")
    kind = raw.get("kind")
    if kind not in KINDS:
        raise WireError(f"unknown kind {kind!r}: one of {', '.join(KINDS)}")
    unknown = set(raw) - {"v", "kind", "site", "event_id", "body"}
    if unknown:
        raise WireError(f"unknown fields {sorted(unknown)}")
    site, event_id = raw.get("site"), raw.get("event_id")
    _check_envelope(site, event_id)
    assert isinstance(site, str) and isinstance(event_id, str)
    body_type = KINDS[kind][0]
    body = raw.get("body")
    if not isinstance(body, dict):
        raise WireError(f"{kind}: body is not a JSON object")
    _check_body(body_type, body)
    return Envelope(site, event_id, body_type(**body))


def _check_envelope(site: Any, event_id: Any) -> None:
    check_site(site)
    _check_uuid("event_id", event_id)


def _check_uuid(name: str, value: Any) -> None:
    try:
        ok = isinstance(value, str) and str(uuid.UUID(value)) == value
    except ValueError:
        ok = False
    if not ok:
        raise WireError(f"{name} must be a UUID in its canonical form, got {value!r:.60}")


def _check_body(body_type: type[Any], body: dict[str, Any]) -> None:
    kind = _KIND_OF[body_type]
    names, hints = _shape(body_type)
    if set(body) != names:
        missing, extra = sorted(names - set(body)), sorted(set(body) - names)
        raise WireError(f"{kind}: missing fields {missing}, unknown fields {extra}")
    for name in sorted(names):
        value = body[name]
        if not _fits(value, hints[name]):
            raise WireError(f"{kind}.{name}: {value!r:.60} is not {_describe(hints[name])}")
        if (name == "uuid" or name.endswith("_uuid")) and value is not None:
            _check_uuid(f"{kind}.{name}", value)
    if body_type is CountsBody and len(body["points"]) > MAX_POINTS:
        raise WireError(f"counts: {len(body['points'])} points; at most {MAX_POINTS} a message")
    if body_type is CountsBody and not all(_is_point(p) for p in body["points"]):
        raise WireError("counts: each point is [ts, count, stable_count or null]")


def _shape(body_type: type[Any]) -> tuple[frozenset[str], dict[str, Any]]:
    """A body's field names and type hints, worked out once (get_type_hints evaluates the
    annotations' strings: most of a message's decoding when done for each)."""
    return _SHAPES[body_type]


def _is_point(point: list[Any]) -> bool:
    return (
        len(point) == 3
        and _fits(point[0], float)
        and _fits(point[1], int)
        and _fits(point[2], int | None)
    )


def _fits(value: Any, hint: Any) -> bool:
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        return any(_fits(value, arm) for arm in get_args(hint))
    if origin is list:
        (item,) = get_args(hint)
        return isinstance(value, list) and all(_fits(v, item) for v in value)
    if hint is type(None):
        return value is None
    if hint is bool or isinstance(value, bool):
        return False
    if hint is int:
        return isinstance(value, int) and abs(value) < 2**53
    if hint is float:
        return isinstance(value, int | float) and math.isfinite(value)
    if hint is str:
        return isinstance(value, str) and len(value) <= MAX_TEXT and "\x00" not in value
    return False


def _describe(hint: Any) -> str:
    return str(hint).replace("typing.", "").replace("NoneType", "null")

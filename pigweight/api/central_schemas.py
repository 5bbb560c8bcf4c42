"""Response bodies of /api/central/* and of /api/health's site and central parts."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from pigweight.sites.central import IngestStatus
from pigweight.sites.central_book import CentralBatch, CentralRecord, SiteDay
from pigweight.sites.publisher import PublisherStatus


def iso_day(local_date: str) -> str:
    """20260528 -> 2026-05-28."""
    return f"{local_date[:4]}-{local_date[4:6]}-{local_date[6:8]}"


class IngestPublic(BaseModel):
    """How the central takes one site's stream (since the central started)."""

    taken: int = Field(description="Messages that changed something.")
    repeats: int = Field(description="Messages it already had (a redelivery): no change.")
    refused: int = Field(description="Messages refused (another site's, unreadable): dropped.")
    last_taken_ts: float | None = Field(description="When it last fetched a batch (central clock).")
    last_error: str | None

    @classmethod
    def of(cls, status: IngestStatus) -> IngestPublic:
        return cls(
            taken=status.taken,
            repeats=status.repeats,
            refused=status.refused,
            last_taken_ts=status.last_taken_ts,
            last_error=status.last_error,
        )


class CentralRecordPublic(BaseModel):
    """A site's weighing as the central keeps it."""

    site: str
    uuid: str = Field(description="Made at the site when it was recorded; the same everywhere.")
    corrects_uuid: str | None = Field(description="The site's record this one replaced.")
    ts: float
    local_time: str = Field(description="The site's local time as recorded, ISO 8601 + offset.")
    local_date: str = Field(description="The site's day, YYYY-MM-DD.")
    timezone: str
    camera: str
    count: int
    count_source: str
    confidence: float | None
    total_weight_kg: float
    avg_weight_kg: float
    note: str
    weight_source: str
    batch_uuid: str | None
    status: Literal["active", "corrected", "deleted"]
    corrected_by: str | None
    deleted_reason: str | None
    confirmed_ts: float | None
    received_ts: float = Field(description="When the central wrote it (central clock).")

    @classmethod
    def of(cls, r: CentralRecord) -> CentralRecordPublic:
        return cls(
            site=r.site,
            uuid=r.uuid,
            corrects_uuid=r.corrects_uuid,
            ts=r.ts,
            local_time=r.local_time,
            local_date=iso_day(r.local_date),
            timezone=r.timezone,
            camera=r.camera,
            count=r.count,
            count_source=r.count_source,
            confidence=r.confidence,
            total_weight_kg=r.total_weight_kg,
            avg_weight_kg=r.avg_weight_kg,
            note=r.note,
            weight_source=r.weight_source,
            batch_uuid=r.batch_uuid,
            status=r.status,  # type: ignore[arg-type]
            corrected_by=r.corrected_by,
            deleted_reason=r.deleted_reason,
            confirmed_ts=r.confirmed_ts,
            received_ts=r.received_ts,
        )


class CentralCameraPublic(BaseModel):
    camera: str
    state: str = Field(description="As the site's camera reported it: streaming, reconnecting…")
    online: bool = Field(description="Streaming in the site's latest report, the site online.")
    last_heard_ts: float = Field(description="The time of that state (the site's clock).")


class CentralSitePublic(BaseModel):
    """One site of CENTRAL_SITES (or one heard from): its link, cameras and records."""

    site: str
    online: bool = Field(description="A message came within online_within_s.")
    first_heard_ts: float | None = Field(description="None: never heard from.")
    last_heard_ts: float | None = Field(description="When its last message came (central clock).")
    cameras: list[CentralCameraPublic]
    cameras_online: int
    records: int = Field(description="Current records (neither corrected nor deleted).")
    records_today: int = Field(description="... of the site's own day (today).")
    today: str | None = Field(description="The site's day now, YYYY-MM-DD; None before a record.")
    last_record: CentralRecordPublic | None
    ingest: IngestPublic | None = Field(description="None: not in CENTRAL_SITES.")


class CentralSitesPublic(BaseModel):
    """GET /api/central/sites."""

    online_within_s: float = Field(description="A site heard within this is online.")
    connected: bool = Field(description="The central's own connection to the hub is up.")
    last_error: str | None = Field(description="The last error of that connection.")
    sites: list[CentralSitePublic]


class CentralRecordPage(BaseModel):
    """GET /api/central/records: newest first."""

    records: list[CentralRecordPublic]
    total: int
    limit: int
    offset: int


class CentralBatchPublic(BaseModel):
    """A site's batch with the figures of its current records, as on the site."""

    site: str
    uuid: str
    name: str
    camera: str
    expected_head: int | None
    target_avg_kg: float | None
    note: str
    started_ts: float
    closed_ts: float | None
    open: bool
    weighings: int
    animals: int
    remaining: int | None = Field(description="Expected head not weighed yet; None: not known.")
    over_count: bool
    total_weight_kg: float
    avg_weight_kg: float | None
    min_avg_weight_kg: float | None
    max_avg_weight_kg: float | None
    cv_percent: float | None = Field(
        description="Uniformity: coefficient of variation of the weighings' averages per head, "
        "weighted by head, %; None below two weighings."
    )
    vs_target_kg: float | None

    @classmethod
    def of(cls, b: CentralBatch) -> CentralBatchPublic:
        expected, avg, target = b.expected_head, b.avg_weight_kg, b.target_avg_kg
        return cls(
            site=b.site,
            uuid=b.uuid,
            name=b.name,
            camera=b.camera,
            expected_head=expected,
            target_avg_kg=target,
            note=b.note,
            started_ts=b.started_ts,
            closed_ts=b.closed_ts,
            open=b.closed_ts is None,
            weighings=b.weighings,
            animals=b.animals,
            remaining=None if expected is None else max(0, expected - b.animals),
            over_count=expected is not None and b.animals > expected,
            total_weight_kg=b.total_weight_kg,
            avg_weight_kg=avg,
            min_avg_weight_kg=b.min_avg_weight_kg,
            max_avg_weight_kg=b.max_avg_weight_kg,
            cv_percent=b.cv_percent,
            vs_target_kg=None if avg is None or target is None else round(avg - target, 3),
        )


class CentralBatchList(BaseModel):
    """GET /api/central/batches: open ones first, newest started first."""

    batches: list[CentralBatchPublic]


class CentralDayPublic(BaseModel):
    """One site's current weighings of one camera on one of its days."""

    site: str
    local_date: str = Field(description="The site's day, YYYY-MM-DD.")
    camera: str
    weighings: int
    animals: int
    total_weight_kg: float
    avg_weight_kg: float | None = Field(description="Total kg / animals.")

    @classmethod
    def of(cls, d: SiteDay) -> CentralDayPublic:
        avg = round(d.total_weight_kg / d.animals, 3) if d.animals else None
        return cls(
            site=d.site,
            local_date=iso_day(d.local_date),
            camera=d.camera,
            weighings=d.weighings,
            animals=d.animals,
            total_weight_kg=d.total_weight_kg,
            avg_weight_kg=avg,
        )


class CentralDayList(BaseModel):
    """GET /api/central/days: per site, day and camera, oldest day first."""

    days: list[CentralDayPublic]


class SiteLinkPublic(BaseModel):
    """At a site (SITE_ID): its link to the central, for the page's header."""

    site: str
    connected: bool = Field(description="Connected to the site's own nats-server.")
    link_up: bool | None = Field(
        description="The site's nats-server has its leaf link to the hub (NATS_MONITOR_URL's "
        "/leafz); None: not known (not read yet, or the monitoring port did not answer)."
    )
    waiting: int = Field(
        description="Changes not yet at the hub: the outbox's, and those put into the site's "
        "stream while the link was down since this start (kept here; they go when it is back)."
    )
    pending: int = Field(description="Outbox rows not yet in the site's own stream.")
    oldest_pending_ts: float | None
    published: int = Field(description="Outbox rows put into the stream since start.")
    last_sent_ts: float | None = Field(
        description="When changes last went to the hub (published with the link up, or the "
        "link's return with changes waiting)."
    )
    last_error: str | None

    @classmethod
    def of(cls, s: PublisherStatus) -> SiteLinkPublic:
        return cls(
            site=s.site,
            connected=s.connected,
            link_up=s.link_up,
            waiting=s.waiting,
            pending=s.pending,
            oldest_pending_ts=s.oldest_pending_ts,
            published=s.published,
            last_sent_ts=s.last_sent_ts,
            last_error=s.last_error,
        )


class CentralIngestHealth(BaseModel):
    """On the central (--central): its connection to the hub and each site's ingest."""

    connected: bool
    last_error: str | None
    sites: dict[str, IngestPublic]


class CentralModelPublic(BaseModel):
    """At a site: the last model the central activated for it (teaching/from_central.py)."""

    activation: str | None = Field(description="The central's activation id; None: none yet.")
    state: Literal["active", "refused"] | None
    reason: str | None = Field(description="Why the site refused it (size, sha256, checks).")
    model_id: str | None = Field(description="Its id in the site's model book when active.")
    name: str | None
    sha256: str | None
    ts: float | None = Field(description="When the site handled it, Unix seconds.")
    last_error: str | None = Field(description="Why the hub could not be read the last time.")


class ServiceHealthPublic(BaseModel):
    """GET /api/health."""

    status: Literal["ok"] = "ok"
    version: str
    ready: bool = Field(description="The segmenter is loaded.")
    role: Literal["standalone", "site", "central"]
    site_link: SiteLinkPublic | None = Field(description="At a site (SITE_ID) only.")
    central: CentralIngestHealth | None = Field(description="On the central (--central) only.")
    central_model: CentralModelPublic | None = Field(
        default=None, description="At a site: the model the central sent (issue 21 part 3)."
    )

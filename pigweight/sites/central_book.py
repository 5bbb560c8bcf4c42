"""CentralBook: what the central service knows of its sites, read for the API and the page.

Read-only and typed: every answer is a frozen dataclass. A site's record is "current" when
no later record of the same site corrects it and it is not deleted, as on the site itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from datetime import datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Engine, and_, func, select
from sqlalchemy.sql.elements import ColumnElement

from pigweight.store.batches import figures
from pigweight.store.db import (
    central_batches,
    central_cameras,
    central_counts,
    central_record_confirmations,
    central_record_deletions,
    central_records,
    central_sites,
)

# A site whose last message is older than this is shown offline (it sends its cameras'
# states every 5 s while its link is up): six missed reports, not one slow one.
ONLINE_WITHIN_S = 30.0
STREAMING = "streaming"  # the camera state (media/source.py SourceState) of a camera at work


@dataclass(frozen=True, slots=True)
class CameraState:
    camera: str
    state: str  # as the site's camera reported it: "streaming", "reconnecting", ...
    last_heard_ts: float  # the site's clock
    # streaming, in the site's newest report (within ONLINE_WITHIN_S of it, by the site's
    # own clock), and the site online
    online: bool = False


@dataclass(frozen=True, slots=True)
class SiteInfo:
    """A site the central has heard from."""

    site: str
    online: bool  # heard within ONLINE_WITHIN_S
    first_heard_ts: float
    last_heard_ts: float
    messages: int  # messages that changed something
    records: int  # current records (neither corrected nor deleted)
    cameras: list[CameraState]
    records_today: int = 0  # current records of the site's own day (its newest record's zone)
    today: str | None = None  # that day, YYYYMMDD; None before its first record
    last_record: CentralRecord | None = None  # its newest current record


@dataclass(frozen=True, slots=True)
class CentralRecord:
    """A site's weighing as the central keeps it; `status` as on the site."""

    site: str
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
    received_ts: float
    corrected_by: str | None = None  # the uuid of the record that replaced it
    deleted_reason: str | None = None
    deleted_ts: float | None = None
    confirmed_ts: float | None = None

    @property
    def status(self) -> str:
        """'active', 'corrected' or 'deleted'."""
        if self.deleted_reason is not None:
            return "deleted"
        return "corrected" if self.corrected_by is not None else "active"


@dataclass(frozen=True, slots=True)
class CentralBatch:
    site: str
    uuid: str
    name: str
    camera: str
    expected_head: int | None
    target_avg_kg: float | None
    note: str
    started_ts: float
    closed_ts: float | None
    changed_ts: float
    # figures of its current records, as a site's batch has them (store/batches.figures)
    weighings: int = 0
    animals: int = 0
    total_weight_kg: float = 0.0
    avg_weight_kg: float | None = None
    min_avg_weight_kg: float | None = None
    max_avg_weight_kg: float | None = None
    cv_percent: float | None = None


@dataclass(frozen=True, slots=True)
class SiteDay:
    """One site's current weighings of one camera on one local day."""

    site: str
    local_date: str
    camera: str
    weighings: int
    animals: int
    total_weight_kg: float


@dataclass(frozen=True, slots=True)
class CountPoint:
    ts: float
    count: int
    stable_count: int | None


_replacement = central_records.alias("replacement")
_d = central_record_deletions
_c = central_record_confirmations


class CentralBook:
    """Reads the central tables of one database; safe from any thread."""

    def __init__(self, engine: Engine, clock: Callable[[], float] = time.time) -> None:
        self.engine = engine
        self._clock = clock

    def sites(self) -> list[SiteInfo]:
        """Every site heard from, by id, with its cameras and its current record count."""
        now = self._clock()
        with self.engine.connect() as conn:
            sites = list(conn.execute(select(central_sites).order_by(central_sites.c.site)))
            cameras: dict[str, list[CameraState]] = {}
            query = select(central_cameras).order_by(central_cameras.c.camera)
            for row in conn.execute(query):
                cameras.setdefault(row.site, []).append(
                    CameraState(row.camera, row.state, row.last_heard_ts)
                )
            counted = (
                select(central_records.c.site, func.count())
                .select_from(_joined())
                .where(_current())
                .group_by(central_records.c.site)
            )
            records = {site: int(n) for site, n in conn.execute(counted)}
            newest = {s.site: self._newest(conn, s.site) for s in sites}
            days = {s.site: _site_day(newest[s.site], now) for s in sites}
            today = {
                s.site: self._count_day(conn, s.site, days[s.site])
                for s in sites
                if days[s.site] is not None
            }
        out = []
        for s in sites:
            online = now - s.last_heard_ts <= ONLINE_WITHIN_S
            out.append(
                SiteInfo(
                    site=s.site,
                    online=online,
                    first_heard_ts=s.first_heard_ts,
                    last_heard_ts=s.last_heard_ts,
                    messages=int(s.messages),
                    records=records.get(s.site, 0),
                    cameras=_cameras_online(cameras.get(s.site, []), online),
                    records_today=today.get(s.site, 0),
                    today=days[s.site],
                    last_record=newest[s.site],
                )
            )
        return out

    def _newest(self, conn: Any, site: str) -> CentralRecord | None:
        query = self._query(and_(_current(), central_records.c.site == site)).limit(1)
        row = conn.execute(query).mappings().first()
        return None if row is None else _record(row)

    def _count_day(self, conn: Any, site: str, day: str | None) -> int:
        r = central_records.c
        query = select(func.count()).select_from(_joined())
        query = query.where(_current(), r.site == site, r.local_date == day)
        return int(conn.execute(query).scalar_one())

    def records(
        self,
        site: str | None = None,
        since_ts: float | None = None,
        until_ts: float | None = None,
        current_only: bool = True,
        limit: int = 100,
        offset: int = 0,
        camera: str | None = None,
        from_date: str | None = None,
        to_date: str | None = None,
    ) -> tuple[list[CentralRecord], int]:
        """Records across sites (or of one), newest first, and how many match in all.
        `current_only`: only those neither corrected nor deleted; `from_date`/`to_date`:
        YYYYMMDD, the sites' own days, both included."""
        r = central_records.c
        parts: list[ColumnElement[bool]] = []
        if current_only:
            parts.append(_current())
        if site is not None:
            parts.append(r.site == site)
        if camera is not None:
            parts.append(r.camera == camera)
        if since_ts is not None:
            parts.append(r.ts >= since_ts)
        if until_ts is not None:
            parts.append(r.ts < until_ts)
        if from_date is not None:
            parts.append(r.local_date >= from_date)
        if to_date is not None:
            parts.append(r.local_date <= to_date)
        condition = and_(True, *parts)
        query = self._query(condition).limit(limit).offset(offset)
        with self.engine.connect() as conn:
            total = conn.execute(
                select(func.count()).select_from(_joined()).where(condition)
            ).scalar_one()
            rows = list(conn.execute(query).mappings())
        return [_record(row) for row in rows], int(total)

    def _query(self, condition: ColumnElement[bool]) -> Any:
        """Records with what corrected, deleted or confirmed them, newest first."""
        r = central_records.c
        return (
            select(
                central_records,
                _replacement.c.uuid.label("corrected_by"),
                _d.c.reason.label("deleted_reason"),
                _d.c.ts.label("deleted_ts"),
                _c.c.ts.label("confirmed_ts"),
            )
            .select_from(
                _joined().outerjoin(_c, and_(_c.c.site == r.site, _c.c.record_uuid == r.uuid))
            )
            .where(condition)
            .order_by(r.ts.desc(), r.id.desc())
        )

    def batches(self, site: str | None = None) -> list[CentralBatch]:
        """Batches as their newest revision has them, open ones first, newest started first."""
        query = select(central_batches)
        if site is not None:
            query = query.where(central_batches.c.site == site)
        query = query.order_by(
            central_batches.c.closed_ts.is_not(None),
            central_batches.c.started_ts.desc(),
            central_batches.c.uuid,
        )
        with self.engine.connect() as conn:
            found = [CentralBatch(**row) for row in conn.execute(query).mappings()]
            groups = self._batch_weighings(conn, site)
        return [replace(b, **figures(groups.get((b.site, b.uuid), []))) for b in found]

    def _batch_weighings(
        self, conn: Any, site: str | None
    ) -> dict[tuple[str, str], list[tuple[int, float, float]]]:
        """(count, total kg, average kg) of each current record, by (site, batch uuid)."""
        r = central_records.c
        where = and_(_current(), r.batch_uuid.is_not(None))
        if site is not None:
            where = and_(where, r.site == site)
        query = (
            select(r.site, r.batch_uuid, r.count, r.total_weight_kg, r.avg_weight_kg)
            .select_from(_joined())
            .where(where)
            .order_by(r.ts)
        )
        out: dict[tuple[str, str], list[tuple[int, float, float]]] = {}
        for s, batch, n, total, avg in conn.execute(query):
            out.setdefault((s, batch), []).append((int(n), float(total), float(avg)))
        return out

    def days(
        self, site: str | None = None, from_date: str | None = None, to_date: str | None = None
    ) -> list[SiteDay]:
        """Per site, local day and camera: current weighings, animals and total kg."""
        r = central_records.c
        where = _current()
        if site is not None:
            where = and_(where, r.site == site)
        if from_date is not None:
            where = and_(where, r.local_date >= from_date)
        if to_date is not None:
            where = and_(where, r.local_date <= to_date)
        query = (
            select(r.site, r.local_date, r.camera, func.count(), func.sum(r.count))
            .add_columns(func.sum(r.total_weight_kg))
            .select_from(_joined())
            .where(where)
            .group_by(r.site, r.local_date, r.camera)
            .order_by(r.site, r.local_date, r.camera)
        )
        with self.engine.connect() as conn:
            return [
                SiteDay(s, d, c, int(n), int(a), round(float(t), 3))
                for s, d, c, n, a, t in conn.execute(query)
            ]

    def counts(self, site: str, camera: str, since_ts: float, until_ts: float) -> list[CountPoint]:
        """A camera's downsampled count series, oldest first."""
        k = central_counts.c
        query = (
            select(k.ts, k.count, k.stable_count)
            .where(k.site == site, k.camera == camera, k.ts >= since_ts, k.ts < until_ts)
            .order_by(k.ts)
        )
        with self.engine.connect() as conn:
            return [CountPoint(*row) for row in conn.execute(query)]


def _joined() -> Any:
    r = central_records.c
    return central_records.outerjoin(
        _replacement,
        and_(_replacement.c.site == r.site, _replacement.c.corrects_uuid == r.uuid),
    ).outerjoin(_d, and_(_d.c.site == r.site, _d.c.record_uuid == r.uuid))


def _current() -> ColumnElement[bool]:
    return and_(_replacement.c.id.is_(None), _d.c.record_uuid.is_(None))


def _cameras_online(cameras: list[CameraState], site_online: bool) -> list[CameraState]:
    """Online: streaming in the site's newest camera report (the site's clock on both sides,
    so a site whose clock is off is judged fairly) while the site is online."""
    if not cameras:
        return cameras
    newest = max(c.last_heard_ts for c in cameras)
    return [
        replace(
            c,
            online=site_online
            and c.state == STREAMING
            and newest - c.last_heard_ts <= ONLINE_WITHIN_S,
        )
        for c in cameras
    ]


def _site_day(newest: CentralRecord | None, now: float) -> str | None:
    """The site's day now (YYYYMMDD), in the time zone its newest record was made in."""
    if newest is None:
        return None
    zone: tzinfo | None
    try:
        zone = ZoneInfo(newest.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        # "MSK", "local": no zone name this server knows; the offset the record was made at
        try:
            zone = datetime.fromisoformat(newest.local_time).tzinfo
        except ValueError:
            zone = None
    if zone is None:
        return newest.local_date
    return datetime.fromtimestamp(now, zone).strftime("%Y%m%d")


_RECORD_FIELDS = [f.name for f in fields(CentralRecord)]


def _record(row: Any) -> CentralRecord:
    return CentralRecord(**{name: row[name] for name in _RECORD_FIELDS})

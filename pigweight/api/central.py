"""The central service's view of its sites: /api/central/*; and /api/health.

/api/central/* answer only on the central (`pigweight serve --central`); elsewhere a 404
says so. Records are "current" as on a site: a correction replaces its record, a deleted
record is hidden (status=all shows them). Dates are the sites' own days.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

import anyio
from fastapi import APIRouter, Depends, Query, Request

from pigweight import __version__
from pigweight.api.central_schemas import (
    CentralBatchList,
    CentralBatchPublic,
    CentralCameraPublic,
    CentralDayList,
    CentralDayPublic,
    CentralIngestHealth,
    CentralModelPublic,
    CentralRecordPage,
    CentralRecordPublic,
    CentralSitePublic,
    CentralSitesPublic,
    IngestPublic,
    ServiceHealthPublic,
    SiteLinkPublic,
    iso_day,
)
from pigweight.api.deps import LazySegmenterDep
from pigweight.api.refusals import NotFound
from pigweight.sites.central import CentralIngest
from pigweight.sites.central_book import ONLINE_WITHIN_S, CentralBook, SiteInfo
from pigweight.sites.publisher import SitePublisher

router = APIRouter(tags=["central"])

SITE_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,31}$"
SiteQuery = Annotated[str | None, Query(pattern=SITE_PATTERN, description="Only this site.")]
DayQuery = Annotated[date | None, Query(description="A site's day, YYYY-MM-DD (included).")]


def get_central_book(request: Request) -> CentralBook:
    """The central's book; a 404 that says why on a PigWeight that is not the central."""
    book: CentralBook | None = getattr(request.app.state, "central_book", None)
    if book is None:
        raise NotFound(
            "this PigWeight is not the central service: the sites are seen on the central "
            "(pigweight serve --central with CENTRAL_SITES)",
            code="not_central",
        )
    return book


CentralBookDep = Annotated[CentralBook, Depends(get_central_book)]


def _ingest(request: Request) -> CentralIngest | None:
    ingest: CentralIngest | None = request.app.state.central_ingest
    return ingest


def _day(value: date | None) -> str | None:
    return None if value is None else value.strftime("%Y%m%d")


@router.get("/api/central/sites", response_model=CentralSitesPublic)
async def central_sites(request: Request, book: CentralBookDep) -> CentralSitesPublic:
    """Every site of CENTRAL_SITES and every site heard from: online (a message within
    online_within_s), last heard, cameras, how its ingest goes, records today, last record."""
    heard = {s.site: s for s in await anyio.to_thread.run_sync(book.sites)}
    ingest = _ingest(request)
    status = {s.site: s for s in ingest.status()} if ingest is not None else {}
    names = list(dict.fromkeys([*status, *sorted(heard)]))
    sites = []
    for name in names:
        info = heard.get(name)
        taken = status.get(name)
        sites.append(_site(name, info, None if taken is None else IngestPublic.of(taken)))
    return CentralSitesPublic(
        online_within_s=ONLINE_WITHIN_S,
        connected=ingest is not None and ingest.connected,
        last_error=None if ingest is None else ingest.last_error,
        sites=sites,
    )


def _site(name: str, info: SiteInfo | None, ingest: IngestPublic | None) -> CentralSitePublic:
    if info is None:  # configured, never heard from
        return CentralSitePublic(
            site=name,
            online=False,
            first_heard_ts=None,
            last_heard_ts=None,
            cameras=[],
            cameras_online=0,
            records=0,
            records_today=0,
            today=None,
            last_record=None,
            ingest=ingest,
        )
    cameras = [
        CentralCameraPublic(
            camera=c.camera, state=c.state, online=c.online, last_heard_ts=c.last_heard_ts
        )
        for c in info.cameras
    ]
    last = info.last_record
    return CentralSitePublic(
        site=info.site,
        online=info.online,
        first_heard_ts=info.first_heard_ts,
        last_heard_ts=info.last_heard_ts,
        cameras=cameras,
        cameras_online=sum(c.online for c in cameras),
        records=info.records,
        records_today=info.records_today,
        today=None if info.today is None else iso_day(info.today),
        last_record=None if last is None else CentralRecordPublic.of(last),
        ingest=ingest,
    )


@router.get("/api/central/records", response_model=CentralRecordPage)
async def central_records(
    book: CentralBookDep,
    site: SiteQuery = None,
    camera: Annotated[str | None, Query(max_length=64, description="Only this camera.")] = None,
    from_date: DayQuery = None,
    to_date: DayQuery = None,
    status: Annotated[
        Literal["current", "all"],
        Query(description="current: corrections replace, deletions hidden; all: every one."),
    ] = "current",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> CentralRecordPage:
    """Records across sites (or of one), newest first, each in its site's local time."""
    found, total = await anyio.to_thread.run_sync(
        lambda: book.records(
            site=site,
            camera=camera,
            from_date=_day(from_date),
            to_date=_day(to_date),
            current_only=status == "current",
            limit=limit,
            offset=offset,
        )
    )
    return CentralRecordPage(
        records=[CentralRecordPublic.of(r) for r in found],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.get("/api/central/batches", response_model=CentralBatchList)
async def central_batches(
    book: CentralBookDep,
    site: SiteQuery = None,
    state: Annotated[Literal["open", "closed", "all"], Query()] = "all",
) -> CentralBatchList:
    """The sites' batches with head weighed, average and uniformity (CV), as on the site."""
    found = await anyio.to_thread.run_sync(book.batches, site)
    batches = [CentralBatchPublic.of(b) for b in found]
    if state != "all":
        batches = [b for b in batches if b.open == (state == "open")]
    return CentralBatchList(batches=batches)


@router.get("/api/central/days", response_model=CentralDayList)
async def central_days(
    book: CentralBookDep,
    site: SiteQuery = None,
    from_date: DayQuery = None,
    to_date: DayQuery = None,
) -> CentralDayList:
    """Per site, day and camera: current weighings, head, total and average kg."""
    found = await anyio.to_thread.run_sync(lambda: book.days(site, _day(from_date), _day(to_date)))
    return CentralDayList(days=[CentralDayPublic.of(d) for d in found])


@router.get("/api/health", response_model=ServiceHealthPublic)
async def health(request: Request, holder: LazySegmenterDep) -> ServiceHealthPublic:
    """The service and, at a site, its link to the central (changes waiting, last sent); on
    the central, its connection to the hub and each site's ingest. No password, ever."""
    publisher: SitePublisher | None = request.app.state.site_publisher
    ingest = _ingest(request)
    central = None
    if ingest is not None:
        sites = {s.site: IngestPublic.of(s) for s in ingest.status()}
        central = CentralIngestHealth(
            connected=ingest.connected, last_error=ingest.last_error, sites=sites
        )
    role: Literal["standalone", "site", "central"] = (
        "central" if ingest is not None else "site" if publisher is not None else "standalone"
    )
    receiver = getattr(request.app.state, "model_receiver", None)
    central_model = None
    if receiver is not None:
        got = receiver.status()
        central_model = CentralModelPublic(
            activation=got.activation,
            state=got.state,
            reason=got.reason,
            model_id=got.model_id,
            name=got.name,
            sha256=got.sha256,
            ts=got.ts,
            last_error=got.last_error,
        )
    return ServiceHealthPublic(
        version=__version__,
        ready=holder.ready,
        role=role,
        site_link=None if publisher is None else SiteLinkPublic.of(publisher.status()),
        central=central,
        central_model=central_model,
    )

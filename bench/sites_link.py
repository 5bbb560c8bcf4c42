"""The link cut, large: sites record while the hub is down and the central is killed.

    .venv/bin/python bench/sites_link.py                       # ~3 min: 2 sites x 500, 120 s down
    .venv/bin/python bench/sites_link.py --cut link            # the hub up, the links cut
    .venv/bin/python bench/sites_link.py --records 100 --down-s 20   # ~40 s

Real nats-servers (a hub with JetStream domain `hub`, one leaf a site, tests/natsd.py), a
PostgreSQL with fsync on (tests/postgres.py), the central's ingest as a child process
(`pigweight sites ingest`, what `serve --central` runs), and each site's RecordBook and
SitePublisher in this process. Then:

1. baseline, link up: each site records 50 weighings; the time from the last one until
   every one is in the central's PostgreSQL;
2. the hub is stopped (--cut link: the sites' leaf links are cut by a TCP relay, the hub
   running, as when a barn's internet goes); each site records --records weighings (one in
   25 then corrected, one in 50 deleted) while the central's ingest is SIGKILLed once and
   started again;
3. after --down-s the hub starts again (--cut link: the relay lets the links through); the
   ingest is SIGKILLed a second time as soon as the first of the backlog reaches PostgreSQL,
   and started again;
4. figures: the seconds from the hub's return until every record, correction and deletion
   is in PostgreSQL; rows there against rows made (exactly once: no record missing, none
   twice, each correction pointing at its record); the sites' record() p50/p99 while the
   link was down.

Target (issue 21): all in PostgreSQL exactly once within 10 s of the link's return.
Writes bench/results/sites_link_hub.json (sites_link_link.json with --cut link).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # tests/natsd.py and tests/postgres.py start the servers

import anyio  # noqa: E402
from sqlalchemy import Engine, func, select  # noqa: E402

from pigweight.settings import Settings  # noqa: E402
from pigweight.sites.journal import SiteJournal  # noqa: E402
from pigweight.sites.publisher import SitePublisher  # noqa: E402
from pigweight.store.db import (  # noqa: E402
    central_record_deletions,
    central_records,
    open_database,
)
from pigweight.weighing.records import RecordBook  # noqa: E402
from pigweight.weighing.rules import Weighing  # noqa: E402
from tests.natsd import Hub, Leaf, LinkProxy, central_ingest, site_password  # noqa: E402
from tests.postgres import PostgresServer, installed  # noqa: E402

RESULTS = REPO / "bench" / "results" / "sites_link_hub.json"  # _link.json with --cut link
T0 = time.monotonic()


def log(message: str) -> None:
    print(f"[{time.monotonic() - T0:6.1f} s] {message}", flush=True)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Site:
    def __init__(self, root: Path, leaf: Leaf) -> None:
        self.name = leaf.site
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            data_dir=root / leaf.site,
            records_dir=root / leaf.site / "records",
            log_dir=root / leaf.site / "logs",
            site_id=leaf.site,
            nats_url=leaf.url,
            nats_user=leaf.site,
            nats_password=site_password(leaf.site),
        )
        self.engine = open_database(settings.server.data_dir)
        self.book = RecordBook(settings.weighing, settings.server.data_dir)
        journal = SiteJournal(leaf.site)
        self.book.set_journal(journal)
        self.book.start(self.engine)
        self.publisher = SitePublisher(settings.sites, journal)
        self.made = {"records": 0, "corrections": 0, "deletions": 0}
        self.latencies: list[float] = []

    def record(self, n: int, fixes: bool) -> None:
        """n weighings (one in 25 corrected, one in 50 deleted when `fixes`)."""
        for i in range(n):
            started = time.perf_counter()
            saved = self.book.record(Weighing("cam1", 200.0 + i % 100, count=20), None)
            self.latencies.append(time.perf_counter() - started)
            self.made["records"] += 1
            if fixes and i % 25 == 24:
                self.book.correct(saved.record.id, count=19)
                self.made["corrections"] += 1
            if fixes and i % 50 == 49:
                self.book.delete(saved.record.id - 1, "typed twice")
                self.made["deletions"] += 1

    def expected(self) -> tuple[int, int]:
        """Rows the central must hold: records and corrections; deletions."""
        return self.made["records"] + self.made["corrections"], self.made["deletions"]


def counts(central: Engine) -> tuple[int, int, int]:
    """Rows, distinct (site, uuid), deletions at the central."""
    with central.connect() as conn:
        rows = conn.execute(select(func.count()).select_from(central_records)).scalar_one()
        distinct = conn.execute(
            select(func.count()).select_from(
                select(central_records.c.site, central_records.c.uuid).distinct().subquery()
            )
        ).scalar_one()
        deleted = conn.execute(
            select(func.count()).select_from(central_record_deletions)
        ).scalar_one()
    return int(rows), int(distinct), int(deleted)


def first_row_after(central: Engine, wall: float) -> float | None:
    """Seconds from `wall` (time.time()) to the first record the central took after it."""
    with central.connect() as conn:
        first = conn.execute(
            select(func.min(central_records.c.received_ts)).where(
                central_records.c.received_ts > wall
            )
        ).scalar_one()
    return None if first is None else round(float(first) - wall, 2)


def wait_for(central: Engine, rows: int, deleted: int, limit_s: float) -> float | None:
    started = time.monotonic()
    while time.monotonic() - started < limit_s:
        have, _distinct, gone = counts(central)
        if have >= rows and gone >= deleted:
            return time.monotonic() - started
        time.sleep(0.05)
    return None


def streams_made(hub: Hub, n: int) -> bool:
    found = hub.monitor("jsz?streams=true").get("streams", 0)
    return isinstance(found, int) and found >= n


async def run_sites(sites: list[Site], n: int, fixes: bool) -> None:
    await asyncio.gather(*(anyio.to_thread.run_sync(s.record, n, fixes) for s in sites))


async def drained(sites: list[Site]) -> None:
    while any(s.publisher.status().pending for s in sites):
        await asyncio.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sites", type=int, default=2)
    parser.add_argument("--records", type=int, default=500, help="weighings a site while down")
    parser.add_argument("--down-s", type=float, default=120.0)
    parser.add_argument(
        "--cut",
        choices=("hub", "link"),
        default="hub",
        help="hub: the hub's nats-server stopped (the issue's); link: the sites' leaf links "
        "cut by a TCP relay while both nats-servers run (a barn's internet gone)",
    )
    parser.add_argument("--results", type=Path, default=None)
    args = parser.parse_args()
    bin_dir = installed()
    if bin_dir is None:
        sys.exit("PostgreSQL is not installed (apt-get install postgresql)")
    names = [f"barn{i + 1}" for i in range(args.sites)]
    load_start = os.getloadavg()[0]
    pg = PostgresServer(bin_dir, durable=True)
    pg.start()
    root = Path(tempfile.mkdtemp(prefix="pw-sites-link-"))
    proxy = LinkProxy() if args.cut == "link" else None
    hub = Hub(root, names, advertise=None if proxy is None else proxy.port)
    hub.start()
    if proxy is not None:
        proxy.target_port = hub.leaf_port
        proxy.start()
    leaves = [Leaf(root, n, hub, via=None if proxy is None else proxy.port) for n in names]
    for leaf in leaves:
        leaf.start()
    url = pg.url(pg.create_database())
    central = open_database(root / "central", url)
    child = central_ingest(root, hub, url, names)
    result: dict[str, Any] = {"cut": args.cut, "sites": args.sites, "records_a_site": args.records}

    def cut() -> None:
        if proxy is None:
            hub.stop()
        else:
            proxy.cut()

    def restore() -> None:
        if proxy is None:
            hub.start()
        else:
            proxy.restore()

    try:
        sites = [Site(root, leaf) for leaf in leaves]
        deadline = time.monotonic() + 30
        while not streams_made(hub, len(names)) and time.monotonic() < deadline:
            time.sleep(0.1)

        async def everything() -> None:
            for s in sites:
                await s.publisher.start(s.engine)
            # 1. the baseline, link up
            await run_sites(sites, 50, fixes=False)
            rows = sum(s.expected()[0] for s in sites)
            took = await anyio.to_thread.run_sync(wait_for, central, rows, 0, 60.0)
            result["baseline_link_up_s"] = None if took is None else round(took, 2)
            log(f"baseline: {rows} records at the central {took} s after the last")
            for s in sites:
                s.latencies.clear()
            # 2. the hub down; the sites record; the ingest killed once
            cut()
            down_at = time.monotonic()
            log(f"{args.cut} cut; the sites record {args.records} weighings each")
            nonlocal child
            recording = asyncio.ensure_future(run_sites(sites, args.records, fixes=True))
            await asyncio.sleep(min(5.0, args.down_s / 4))
            child.send_signal(signal.SIGKILL)
            child.wait(10)
            child = central_ingest(root, hub, url, names)
            log("the central's ingest SIGKILLed and started again (the link down)")
            await recording
            await asyncio.wait_for(drained(sites), 60)
            lat = [x for s in sites for x in s.latencies]
            result["site_record_while_down_ms"] = {
                "p50": round(pct(lat, 0.5) * 1000, 2),
                "p99": round(pct(lat, 0.99) * 1000, 2),
                "max": round(max(lat) * 1000, 2),
            }
            log(f"recorded and in the sites' streams; record p99 {pct(lat, 0.99) * 1000:.1f} ms")
            await asyncio.sleep(max(0.0, args.down_s - (time.monotonic() - down_at)))
            # 3. the link back; the ingest killed again as the backlog starts to land
            rows_before = counts(central)[0]
            restore()
            back = time.monotonic()
            log(f"{args.cut} back after {back - down_at:.0f} s")
            while counts(central)[0] == rows_before and time.monotonic() - back < 30:
                await asyncio.sleep(0.02)
            first = time.monotonic() - back
            child.send_signal(signal.SIGKILL)
            child.wait(10)
            killed_wall, killed = time.time(), time.monotonic()
            child = central_ingest(root, hub, url, names)
            log(f"first of the backlog at the central {first:.1f} s after; ingest killed again")
            rows = sum(s.expected()[0] for s in sites)
            deleted = sum(s.expected()[1] for s in sites)
            took = await anyio.to_thread.run_sync(wait_for, central, rows, deleted, 120.0)
            all_in = None if took is None else round(time.monotonic() - back, 2)
            result["first_after_return_s"] = round(first, 2)
            result["all_after_return_s"] = all_in
            result["second_kill_at_s"] = round(killed - back, 2)
            result["restarted_first_row_after_kill_s"] = first_row_after(central, killed_wall)
            for s in sites:
                await s.publisher.stop()

        asyncio.run(everything())
        have, distinct, gone = counts(central)
        expected = sum(s.expected()[0] for s in sites)
        result["central_rows"] = have
        result["central_distinct"] = distinct
        result["central_deletions"] = gone
        result["made"] = {s.name: s.made for s in sites}
        result["expected_rows"] = expected
        result["exactly_once"] = have == distinct == expected
        all_in = result.get("all_after_return_s")
        result["target_met"] = bool(result["exactly_once"] and all_in is not None and all_in <= 10)
    finally:
        child.kill()
        child.wait(10)
        central.dispose()
        for leaf in leaves:
            leaf.stop()
        if proxy is not None:
            proxy.stop()
        hub.stop()
        pg.stop()
    result["load_average"] = {"start": round(load_start, 2), "end": round(os.getloadavg()[0], 2)}
    print(json.dumps(result, indent=2))
    path = args.results or RESULTS.with_name(f"sites_link_{args.cut}.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()

"""The central's ingest under many sites: the issue's load, its latency, and the headroom.

    .venv/bin/python bench/central_ingest.py                  # ~3 min: 50 sites x 4 platforms
    .venv/bin/python bench/central_ingest.py --sites 10 --seconds 30

Real nats-servers on loopback (a hub and one leaf a site, the configs of `pigweight sites
nats-config`, tests/natsd.py), PostgreSQL 15 with fsync on, and the central's ingest as a
child process (`pigweight sites ingest`, what `serve --central` runs). This process plays the
sites: one NATS connection to each site's leaf, publishing wire messages (sites/wire.py) into
the site's own stream, as a site's publisher does; the hub sources them as it does in
production. The load (issue 21): each site has 4 platforms; each platform a weighing every
20 s, its count at 1 Hz (one point a message), each site its cameras' states every 5 s.

1. nominal: that load for --seconds; figures: messages a second taken, the end-to-end
   latency of the weighings (the site's publish to the central's commit, `received_ts`;
   one clock) p50/p99, and whether a backlog built up (the consumers' pending messages);
2. flood (the headroom): --flood weighings a site published at once, then the time until
   every one is at the central: the ingest's most messages a second, and that over the
   nominal rate.

Writes bench/results/central_ingest.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import nats  # noqa: E402
from nats.aio.client import Client  # noqa: E402
from nats.js import JetStreamContext  # noqa: E402
from sqlalchemy import Engine, func, select  # noqa: E402

from pigweight.sites import streams, wire  # noqa: E402
from pigweight.store.db import central_counts, central_records, open_database  # noqa: E402
from tests.natsd import Hub, Leaf, central_ingest, site_password  # noqa: E402
from tests.postgres import PostgresServer, installed  # noqa: E402

RESULTS = REPO / "bench" / "results" / "central_ingest.json"
PLATFORMS = 4
WEIGH_EVERY_S = 20.0
STATUS_EVERY_S = 5.0
T0 = time.monotonic()


def log(message: str) -> None:
    print(f"[{time.monotonic() - T0:6.1f} s] {message}", flush=True)


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def record(site: str, camera: str, now: float) -> wire.Envelope:
    body = wire.RecordBody(
        uuid=str(uuid.uuid4()), corrects_uuid=None, ts=now, created_ts=now, timezone="UTC",
        local_time=time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(now)),
        local_date=time.strftime("%Y%m%d", time.gmtime(now)), camera=camera, count=20,
        count_source="auto", confidence=0.9, total_weight_kg=240.0, avg_weight_kg=12.0,
        note="", weight_source="scale", batch_uuid=None,
    )  # fmt: skip
    return wire.Envelope(site, wire.new_event_id(), body)


class Sites:
    """Every site's connection to its own leaf nats-server."""

    def __init__(self, leaves: list[Leaf]) -> None:
        self.leaves = leaves
        self.js: dict[str, JetStreamContext] = {}
        self.clients: list[Client] = []
        self.sent = 0

    async def connect(self) -> None:
        for leaf in self.leaves:
            nc = await nats.connect(
                leaf.url, user=leaf.site, password=site_password(leaf.site), name=leaf.site
            )
            self.clients.append(nc)
            js = nc.jetstream()
            await streams.ensure_site_stream(js, leaf.site)
            self.js[leaf.site] = js

    async def close(self) -> None:
        for nc in self.clients:
            await nc.close()

    async def send(self, envelope: wire.Envelope) -> None:
        await self.js[envelope.site].publish(
            envelope.subject, wire.encode(envelope), headers={"Nats-Msg-Id": envelope.event_id}
        )
        self.sent += 1

    async def site_load(self, site: str, seconds: float, offset: float) -> None:
        """One site's traffic: counts at 1 Hz a platform, a weighing every 20 s a platform
        (spread), its cameras' states every 5 s."""
        cameras = [f"cam{i + 1}" for i in range(PLATFORMS)]
        start = time.time()
        tick = 0
        while (now := time.time()) - start < seconds:
            sends = [
                wire.Envelope(site, wire.new_event_id(), wire.CountsBody(c, [[now, 20, 20]]))
                for c in cameras
            ]
            for i, camera in enumerate(cameras):
                if (tick + int(offset) + 5 * i) % int(WEIGH_EVERY_S) == 0:
                    sends.append(record(site, camera, now))
            if tick % int(STATUS_EVERY_S) == 0:
                sends += [
                    wire.Envelope(site, wire.new_event_id(), wire.CameraBody(c, "streaming", now))
                    for c in cameras
                ]
            await asyncio.gather(*(self.send(e) for e in sends))
            tick += 1
            await asyncio.sleep(max(0.0, start + tick - time.time()))


def taken(central: Engine) -> tuple[int, int]:
    with central.connect() as conn:
        records = conn.execute(select(func.count()).select_from(central_records)).scalar_one()
        counts = conn.execute(select(func.count()).select_from(central_counts)).scalar_one()
    return int(records), int(counts)


def latencies(central: Engine, since: float) -> list[float]:
    c = central_records.c
    with central.connect() as conn:
        rows = conn.execute(select(c.received_ts - c.created_ts).where(c.created_ts >= since))
        return [float(r[0]) for r in rows]


def pending(hub: Hub) -> int:
    """Messages the central's consumers have not yet been given or not yet acknowledged."""
    total = 0
    data = hub.monitor("jsz?consumers=true")
    for account in data.get("account_details", []) or []:  # type: ignore[union-attr]
        for stream in account.get("stream_detail", []) or []:
            for consumer in stream.get("consumer_detail", []) or []:
                total += int(consumer.get("num_pending", 0)) + int(
                    consumer.get("num_ack_pending", 0)
                )
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sites", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0, help="of nominal load")
    parser.add_argument("--flood", type=int, default=200, help="weighings a site, at once")
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args()
    bin_dir = installed()
    if bin_dir is None:
        sys.exit("PostgreSQL is not installed (apt-get install postgresql)")
    names = [f"s{i + 1:02d}" for i in range(args.sites)]
    load_start = os.getloadavg()[0]
    pg = PostgresServer(bin_dir, durable=True)
    pg.start()
    root = Path(tempfile.mkdtemp(prefix="pw-central-ingest-"))
    hub = Hub(root, names)
    hub.start()
    leaves = [Leaf(root, name, hub) for name in names]
    for leaf in leaves:
        leaf.start()
    log(f"hub and {len(leaves)} leaf nats-servers up")
    url = pg.url(pg.create_database())
    central = open_database(root / "central", url)
    child = central_ingest(root, hub, url, names)
    nominal_rate = args.sites * PLATFORMS * (1 + 1 / WEIGH_EVERY_S + 1 / STATUS_EVERY_S)
    result: dict[str, Any] = {
        "sites": args.sites,
        "platforms": args.sites * PLATFORMS,
        "nominal_messages_per_s": round(nominal_rate, 1),
    }
    sites = Sites(leaves)
    try:

        async def everything() -> None:
            await sites.connect()
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                found = hub.monitor("jsz").get("streams", 0)
                if isinstance(found, int) and found >= len(names):
                    break
                await asyncio.sleep(0.2)
            log(f"nominal load: {nominal_rate:.0f} messages/s for {args.seconds:.0f} s")
            since = time.time()
            before = taken(central)
            backlog = []

            async def watch() -> None:
                while True:
                    await asyncio.sleep(5)
                    backlog.append(await asyncio.to_thread(pending, hub))

            watcher = asyncio.ensure_future(watch())
            sent0 = sites.sent
            await asyncio.gather(
                *(sites.site_load(n, args.seconds, i) for i, n in enumerate(names))
            )
            watcher.cancel()
            took = time.time() - since
            await asyncio.sleep(5)  # the last ones in
            after = taken(central)
            lat = latencies(central, since)
            result["nominal"] = {
                "seconds": round(took, 1),
                "sent": sites.sent - sent0,
                "sent_per_s": round((sites.sent - sent0) / took, 1),
                "weighings_taken": after[0] - before[0],
                "count_points_taken": after[1] - before[1],
                "weighing_latency_p50_ms": round((pct(lat, 0.5) or 0) * 1000, 1),
                "weighing_latency_p99_ms": round((pct(lat, 0.99) or 0) * 1000, 1),
                "backlog_every_5_s": backlog,
            }
            log(f"nominal: {result['nominal']}")
            # 2. the flood
            start = time.time()
            records0 = taken(central)[0]
            envelopes = [record(n, "cam1", start) for n in names for _ in range(args.flood)]
            for i in range(0, len(envelopes), 500):
                await asyncio.gather(*(sites.send(e) for e in envelopes[i : i + 500]))
            published = time.time() - start
            want = records0 + len(envelopes)
            while taken(central)[0] < want and time.time() - start < 600:
                await asyncio.sleep(0.2)
            all_in = time.time() - start
            have = taken(central)[0] - records0
            rate = have / all_in
            result["flood"] = {
                "weighings": len(envelopes),
                "published_in_s": round(published, 1),
                "all_at_central_s": round(all_in, 1),
                "taken": have,
                "taken_per_s": round(rate, 1),
                "headroom_over_nominal": round(rate / nominal_rate, 1),
            }
            log(f"flood: {result['flood']}")
            await sites.close()

        asyncio.run(everything())
    finally:
        child.kill()
        child.wait(10)
        central.dispose()
        for leaf in leaves:
            leaf.stop()
        hub.stop()
        pg.stop()
    result["load_average"] = {"start": round(load_start, 2), "end": round(os.getloadavg()[0], 2)}
    print(json.dumps(result, indent=2))
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.results}")


if __name__ == "__main__":
    main()

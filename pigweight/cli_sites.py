"""`pigweight sites …`: sites and the central service over NATS JetStream (issue 21).

    pigweight sites nats-config --hub --sites barn1,barn2 --store-dir /var/lib/nats
    pigweight sites nats-config --leaf --site barn1 --store-dir /var/lib/nats
    pigweight sites ingest      (the central's taking of CENTRAL_SITES alone, without the web)

The configurations are the ones the tests run (pigweight/sites/nats_config.py); they hold no
secret: nats-server reads the passwords from its environment.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from pathlib import Path
from typing import Any

from pigweight.errors import PigWeightError
from pigweight.settings import load_settings
from pigweight.sites.central import CentralIngest
from pigweight.sites.nats_config import HubPorts, hub_config, leaf_config
from pigweight.sites.wire import check_site
from pigweight.store.db import open_database


class SitesError(PigWeightError):
    """A `pigweight sites` argument that cannot work (exit code 2)."""

    code = "sites_usage"


def add_parser(sub: Any) -> None:
    sites = sub.add_parser("sites", help="NATS configurations; the central's ingest alone")
    actions = sites.add_subparsers(dest="action", required=True, metavar="ACTION")
    config = actions.add_parser("nats-config", help="print a nats-server configuration")
    which = config.add_mutually_exclusive_group(required=True)
    which.add_argument("--hub", action="store_true", help="the central hub's")
    which.add_argument("--leaf", action="store_true", help="a site's leaf node's")
    config.add_argument("--sites", default="", help="--hub: the site ids, comma-separated")
    config.add_argument("--site", help="--leaf: the site id (default SITE_ID)")
    config.add_argument("--store-dir", type=Path, default=Path("/var/lib/nats"))
    config.add_argument("--port", type=int, default=4222, help="client port")
    config.add_argument("--leaf-port", type=int, default=7422, help="--hub: leaf node port")
    config.add_argument("--monitor-port", type=int, default=8222)
    config.set_defaults(func=_nats_config)
    ingest = actions.add_parser("ingest", help="take the sites' messages (CENTRAL_SITES)")
    ingest.set_defaults(func=_ingest)


def _nats_config(args: argparse.Namespace) -> int:
    if args.hub:
        sites = [check_site(s.strip()) for s in args.sites.split(",") if s.strip()]
        if not sites:
            raise SitesError("--hub needs --sites barn1,barn2,...")
        ports = HubPorts(args.port, args.leaf_port, args.monitor_port)
        print(hub_config(sites, args.store_dir, ports), end="")
        return 0
    site = args.site or load_settings().sites.site_id
    if not site:
        raise SitesError("--leaf needs --site ID (or SITE_ID)")
    print(leaf_config(check_site(site), args.store_dir, args.port, args.monitor_port), end="")
    return 0


def _ingest(args: argparse.Namespace) -> int:
    settings = load_settings(central=True)
    problem = settings.sites.conflict()
    if problem:
        raise SitesError(problem)
    engine = open_database(settings.server.data_dir, settings.server.database_url)
    try:
        asyncio.run(_run_ingest(CentralIngest(settings.sites), engine))
    finally:
        engine.dispose()
    return 0


async def _run_ingest(ingest: CentralIngest, engine: Any) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await ingest.start(engine)
    try:
        await stop.wait()
    finally:
        await ingest.stop()

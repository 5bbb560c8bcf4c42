"""`pigweight sites …`: sites and the central service over NATS JetStream (issue 21).

    pigweight sites nats-config --hub --sites barn1,barn2 --store-dir /var/lib/nats
    pigweight sites nats-config --leaf --site barn1 --store-dir /var/lib/nats
    … --tls-cert hub.pem --tls-key hub.key [--tls-ca ca.pem --verify-clients]   (TLS)
    … --leaf … --hub-ca ca.pem [--link-cert barn1.pem --link-key barn1.key]    (TLS link)
    pigweight sites ingest      (the central's taking of CENTRAL_SITES alone, without the web)
    pigweight sites resend --since 2026-12-01   (a site's changes since a day, sent again)

The configurations are the ones the tests run (pigweight/sites/nats_config.py); they hold no
secret: nats-server reads the passwords from its environment.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from collections.abc import Callable
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from pigweight.errors import PigWeightError
from pigweight.settings import load_settings
from pigweight.sites.central import CentralIngest
from pigweight.sites.journal import SiteJournal
from pigweight.sites.nats_config import HubPorts, TlsFiles, hub_config, leaf_config
from pigweight.sites.resend import resend
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
    config.add_argument(
        "--host", help="the client and leaf ports' address (hub: 0.0.0.0; leaf: 127.0.0.1)"
    )
    _add_tls_arguments(config)
    config.set_defaults(func=_nats_config)
    ingest = actions.add_parser("ingest", help="take the sites' messages (CENTRAL_SITES)")
    ingest.set_defaults(func=_ingest)
    again = actions.add_parser(
        "resend",
        help="a site: send its changes since a day again (its nats-server lost its store)",
    )
    again.add_argument(
        "--since", required=True, metavar="YYYY-MM-DD", help="the first day, the farm's own"
    )
    again.set_defaults(func=_resend)


def _add_tls_arguments(config: Any) -> None:
    tls = config.add_argument_group("TLS (PEM files; the keys stay in their files)")
    tls.add_argument("--tls-cert", type=Path, help="this server's certificate: TLS only")
    tls.add_argument("--tls-key", type=Path, help="the key of --tls-cert")
    tls.add_argument("--tls-ca", type=Path, help="the CA that signs the clients' certificates")
    tls.add_argument(
        "--verify-clients",
        action="store_true",
        help="every client (and, on the hub, every site's leaf) must show a certificate "
        "signed by --tls-ca",
    )
    tls.add_argument(
        "--hub-ca", type=Path, help="--leaf: link to the hub over TLS, checked by this CA"
    )
    tls.add_argument("--link-cert", type=Path, help="--leaf: the certificate shown to the hub")
    tls.add_argument("--link-key", type=Path, help="--leaf: the key of --link-cert")


def _nats_config(args: argparse.Namespace) -> int:
    tls = _listener_tls(args)
    if args.hub:
        sites = [check_site(s.strip()) for s in args.sites.split(",") if s.strip()]
        if not sites:
            raise SitesError("--hub needs --sites barn1,barn2,...")
        if args.hub_ca or args.link_cert or args.link_key:
            raise SitesError("--hub-ca, --link-cert and --link-key are a leaf's (--leaf)")
        ports = HubPorts(args.port, args.leaf_port, args.monitor_port)
        host = args.host or "0.0.0.0"
        print(_checked(lambda: hub_config(sites, args.store_dir, ports, host, tls)), end="")
        return 0
    site = args.site or load_settings().sites.site_id
    if not site:
        raise SitesError("--leaf needs --site ID (or SITE_ID)")
    link = _link_tls(args)
    host = args.host or "127.0.0.1"
    config = _checked(
        lambda: leaf_config(
            check_site(site), args.store_dir, args.port, args.monitor_port, host, link, tls
        )
    )
    print(config, end="")
    return 0


def _listener_tls(args: argparse.Namespace) -> TlsFiles | None:
    """The server's own listeners' TLS (--tls-*), None without it."""
    if not (args.tls_cert or args.tls_key or args.tls_ca or args.verify_clients):
        return None
    files = TlsFiles(args.tls_cert, args.tls_key, args.tls_ca, args.verify_clients)
    problem = files.problem()
    if problem:
        raise SitesError(f"{problem}: --tls-cert FILE --tls-key FILE [--tls-ca FILE]")
    _readable(args.tls_cert, args.tls_key, args.tls_ca)
    return files


def _link_tls(args: argparse.Namespace) -> TlsFiles | None:
    """A leaf's link to the hub over TLS (--hub-ca, --link-cert, --link-key)."""
    if not (args.hub_ca or args.link_cert or args.link_key):
        return None
    if args.hub_ca is None:
        raise SitesError("a TLS link needs --hub-ca: the CA that signs the hub's certificate")
    if (args.link_cert is None) != (args.link_key is None):
        raise SitesError("--link-cert and --link-key go together")
    _readable(args.hub_ca, args.link_cert, args.link_key)
    return TlsFiles(args.link_cert, args.link_key, args.hub_ca)


def _readable(*paths: Path | None) -> None:
    for path in paths:
        if path is not None and not path.is_file():
            raise SitesError(f"no such file: {path}")


def _checked(make: Callable[[], str]) -> str:
    try:
        return make()
    except ValueError as error:  # a path nats-server could not read
        raise SitesError(str(error)) from None


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


def _resend(args: argparse.Namespace) -> int:
    settings = load_settings()
    site = settings.sites.site_id
    if not site:
        raise SitesError("resend runs at a site: set SITE_ID (and the site's DATA_DIR)")
    try:
        day = date.fromisoformat(args.since)
    except ValueError:
        raise SitesError(f"--since {args.since[:20]!r}: use a day as YYYY-MM-DD") from None
    since = datetime.combine(day, time(), settings.weighing.zone())
    engine = open_database(settings.server.data_dir, settings.server.database_url)
    try:
        sent = resend(engine, SiteJournal(site), since.timestamp())
    finally:
        engine.dispose()
    print(
        f"site {site}: since {day:%Y-%m-%d}, {sent.records} records, {sent.deletions} "
        f"deletions, {sent.confirmations} confirmations and {sent.batches} batches are in the "
        "outbox again; the running PigWeight sends them (the central takes what it has as "
        "repeats)"
    )
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

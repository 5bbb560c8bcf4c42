"""Sites and the central over real nats-servers: the hub cut while a site records, the central
killed while it takes the backlog, a publisher killed before it published, a site posing as
another. Each test starts its own hub and leaf nodes (tests/natsd.py) in milliseconds."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import nats
import pytest
from sqlalchemy import Engine, func, select

from pigweight.settings import Settings
from pigweight.sites.journal import SiteJournal
from pigweight.sites.nats_config import hub_config
from pigweight.sites.publisher import SitePublisher
from pigweight.store.db import (
    central_record_deletions,
    central_records,
    open_database,
    site_outbox,
)
from pigweight.weighing.records import RecordBook
from pigweight.weighing.rules import Weighing
from tests.conftest import need_system
from tests.natsd import (
    CENTRAL_PASSWORD,
    Hub,
    Leaf,
    LinkProxy,
    central_ingest,
    installed,
    site_password,
)

pytestmark = pytest.mark.timeout(120)
SITES = ("barn1", "barn2")  # the hub's (tests/sites/conftest.py)


def _settings(tmp_path: Path, leaf: Leaf) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=tmp_path / leaf.site,
        records_dir=tmp_path / leaf.site / "records",
        site_id=leaf.site,
        nats_url=leaf.url,
        nats_user=leaf.site,
        nats_password=site_password(leaf.site),
    )


def _site(tmp_path: Path, leaf: Leaf) -> tuple[RecordBook, SitePublisher, Engine]:
    settings = _settings(tmp_path, leaf)
    engine = open_database(settings.server.data_dir)
    book = RecordBook(settings.weighing, settings.server.data_dir)
    journal = SiteJournal(leaf.site)
    book.set_journal(journal)
    book.start(engine)
    return book, SitePublisher(settings.sites, journal), engine


def _rows(engine: Engine, table: Any = central_records) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def _wait(condition: Any, limit_s: float, what: str) -> float:
    """Seconds until `condition()` held; fails after `limit_s`."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > limit_s:
            pytest.fail(f"{what}: not within {limit_s} s")
        time.sleep(0.02)
    return time.monotonic() - start


async def _published(publisher: SitePublisher, count: int) -> None:
    while publisher.status().published < count or publisher.status().pending:
        await asyncio.sleep(0.02)


# alone (the Makefile runs these by themselves): the 10 s from the link's return, of
# which nats-server 2.9 spends about 5 s before it sources again, is held on a quiet CPU.
@pytest.mark.alone
def test_link_cut_and_a_killed_central_lose_nothing_and_repeat_nothing(
    tmp_path: Path, hub: Hub, barn1: Leaf, postgres: Any
) -> None:
    _cut_record_return(tmp_path, hub, barn1, postgres, hub.stop, hub.start)


@pytest.mark.alone
def test_a_barns_internet_gone_while_the_hub_runs_loses_nothing(
    tmp_path: Path, postgres: Any
) -> None:
    """The hub stays up; the leaf link is cut between the two nats-servers (a TCP relay)."""
    need_system(installed(), "nats-server is not installed (Debian: apt-get install nats-server)")
    proxy = LinkProxy()
    hub = Hub(tmp_path, list(SITES), advertise=proxy.port)
    hub.start()
    proxy.target_port = hub.leaf_port
    proxy.start()
    barn1 = Leaf(tmp_path, "barn1", hub, via=proxy.port)
    barn1.start()
    try:
        _wait(lambda: hub.leafnode_count() == 1, 10, "the leaf link through the relay")
        _cut_record_return(tmp_path, hub, barn1, postgres, proxy.cut, proxy.restore)
    finally:
        barn1.stop()
        proxy.stop()
        hub.stop()


def _cut_record_return(
    tmp_path: Path,
    hub: Hub,
    barn1: Leaf,
    postgres: Any,
    cut: Callable[[], None],
    restore: Callable[[], None],
) -> None:
    """The link cut; the site records 20 weighings, corrects one and deletes one; the link
    back and the central's ingest SIGKILLed as the first arrives: every one at the central
    within 10 s of the link's return, once."""
    name = postgres.create_database()
    url = postgres.url(name)
    central = open_database(tmp_path / "central", url)  # its schema before the ingest
    ingest = central_ingest(tmp_path, hub, url, SITES)
    try:
        book, publisher, site_db = _site(tmp_path, barn1)
        # the central's streams exist before the cut (as they would after its first start)
        _wait(lambda: _streams_made(hub), 20, "the central's streams on the hub")
        cut()
        latencies: list[float] = []

        async def record_while_down() -> None:
            await publisher.start(site_db)
            ids = []
            for i in range(20):
                start = time.monotonic()
                saved = await anyio.to_thread.run_sync(
                    lambda i=i: book.record(Weighing("cam1", 200.0 + i, count=20), None)
                )
                latencies.append(time.monotonic() - start)
                ids.append(saved.record.id)
            await anyio.to_thread.run_sync(lambda: book.correct(ids[3], count=19))
            await anyio.to_thread.run_sync(lambda: book.delete(ids[5], "typed twice"))
            await asyncio.wait_for(_published(publisher, 22), 10)
            await publisher.stop()

        asyncio.run(record_while_down())
        print(f"site: 20 weighings while the link was down, slowest {max(latencies):.3f} s")
        restore()
        back = time.monotonic()
        _wait(lambda: _rows(central) > 0, 10, "the first record at the central")
        ingest.send_signal(signal.SIGKILL)  # mid-ingest: before its acks, maybe mid-batch
        ingest.wait(10)
        ingest = central_ingest(tmp_path, hub, url, SITES)
        _wait(
            lambda: _rows(central) == 21 and _rows(central, central_record_deletions) == 1,
            max(0.1, 10 - (time.monotonic() - back)),
            "every record at the central within 10 s of the link's return",
        )
        print(f"central: all 21 records and the deletion {time.monotonic() - back:.1f} s after")
        with central.connect() as conn:
            uuids = conn.execute(select(central_records.c.uuid)).scalars().all()
            fixes = conn.execute(
                select(func.count()).where(central_records.c.corrects_uuid.is_not(None))
            ).scalar_one()
        assert len(set(uuids)) == 21 and fixes == 1
        with site_db.connect() as conn:
            assert conn.execute(select(func.count()).select_from(site_outbox)).scalar() == 0
        site_db.dispose()
    finally:
        ingest.kill()
        ingest.wait(10)
        central.dispose()
        postgres.drop_database(name)


def _streams_made(hub: Hub) -> bool:
    streams = hub.monitor("jsz?streams=true").get("streams", 0)
    return isinstance(streams, int) and streams >= 2


def test_a_publisher_killed_before_publishing_sends_once_after_restart(
    tmp_path: Path, barn1: Leaf
) -> None:
    book, _, engine = _site(tmp_path, barn1)
    # the app died after the commit, before its publisher ran: the row waits in the outbox
    book.record(Weighing("cam1", 300.0, count=25), None)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(site_outbox)).scalar() == 1

    async def restart_twice() -> int:
        for _ in range(2):  # the second start finds nothing left to send
            _, again, _ = _site(tmp_path, barn1)
            await again.start(engine)
            await asyncio.wait_for(_published(again, 0), 10)
            await asyncio.sleep(0.2)
            await again.stop()
        nc = await nats.connect(barn1.url, user="barn1", password=site_password("barn1"))
        info = await nc.jetstream().stream_info("PW_SITE_barn1")
        await nc.close()
        return int(info.state.messages)

    assert asyncio.run(restart_twice()) == 1
    engine.dispose()


def test_a_site_cannot_write_another_sites_records(tmp_path: Path, hub: Hub) -> None:
    barn2 = Leaf(tmp_path, "barn2", hub)
    barn2.start()
    central_db = open_database(tmp_path / "central")
    try:

        async def pose_as_barn1() -> list[str]:
            seen: list[str] = []
            hub_nc = await nats.connect(hub.url, user="central", password=CENTRAL_PASSWORD)

            async def keep(message: Any) -> None:
                if message.subject != "pw.site.barn2.probe":
                    seen.append(message.subject)

            for subject in ("pw.site.>", "pw.deliver.barn1.>"):
                await hub_nc.subscribe(subject, cb=keep)
            await hub_nc.flush()
            nc = await nats.connect(barn2.url, user="barn2", password=site_password("barn2"))
            await _until_leaf_interest(nc, seen)
            seen.clear()
            # through its link: barn1's subjects, barn1's deliveries, the hub's JetStream API
            for subject in ("pw.site.barn1.records", "pw.deliver.barn1.x"):
                await nc.publish(subject, b"{}")
            await nc.publish("$JS.hub.API.STREAM.DELETE.PW_FROM_barn1", b"")
            await nc.publish("pw.site.barn2.records", b"{}")  # its own: passes
            await nc.flush()
            await asyncio.sleep(0.5)
            # its own stream, a record that says it is barn1's: sourced, then refused
            settings = _settings(tmp_path, barn2)
            book = RecordBook(settings.weighing, settings.server.data_dir)
            journal = SiteJournal("barn1")  # the forger's journal names barn1
            book.set_journal(journal)
            site_db = open_database(settings.server.data_dir)
            book.start(site_db)
            book.record(Weighing("cam1", 100.0, count=10), None)
            with site_db.begin() as conn:  # moved under barn2's subject by the forger
                conn.execute(site_outbox.update().values(subject="pw.site.barn2.records"))
            publisher = SitePublisher(settings.sites, SiteJournal("barn2"))
            await publisher.start(site_db)
            await asyncio.wait_for(_published(publisher, 1), 10)
            await publisher.stop()
            site_db.dispose()
            await nc.close()
            await hub_nc.close()
            return seen

        seen = asyncio.run(pose_as_barn1())
        assert set(seen) == {"pw.site.barn2.records"}  # nothing of barn1, nor the hub API
        ingest = _ingest_here(tmp_path, hub, central_db)
        assert ingest["refused"] == 1 and _rows(central_db) == 0
    finally:
        barn2.stop()
        central_db.dispose()


async def _until_leaf_interest(nc: Any, seen: list[str]) -> None:
    """The hub's subscriptions reached the leaf: a probe on barn2's own subject arrives."""
    for _ in range(200):
        await nc.publish("pw.site.barn2.records", b"")
        await nc.flush()
        await asyncio.sleep(0.02)
        if seen:
            return
    pytest.fail("the hub's interest never reached barn2's leaf node")


def _ingest_here(tmp_path: Path, hub: Hub, engine: Engine) -> dict[str, int]:
    """The central's ingest in this process until it took barn2's stream; its counts."""
    from pigweight.sites.central import CentralIngest

    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        central=True,
        central_sites=["barn2"],
        nats_url=hub.url,
        nats_user="central",
        nats_password=CENTRAL_PASSWORD,
    )

    async def run() -> dict[str, int]:
        ingest = CentralIngest(settings.sites)
        await ingest.start(engine)
        try:
            for _ in range(1000):
                (status,) = ingest.status()
                if status.refused or status.taken:
                    return {"refused": status.refused, "taken": status.taken}
                await asyncio.sleep(0.02)
            pytest.fail("barn2's stream never reached the central")
        finally:
            await ingest.stop()

    return asyncio.run(run())


def test_the_hub_lets_each_site_take_only_its_own_flow_control() -> None:
    config = hub_config(["barn1", "barn2"], Path("/var/lib/nats"))
    assert '"$JS.FC.PW_SITE_barn1.>"' in config and '"$JS.FC.PW_SITE_barn2.>"' in config
    assert '"$JS.FC.>"' not in config

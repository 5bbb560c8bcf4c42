"""NATS over TLS end to end, with the configurations `pigweight sites nats-config` prints: a
hub whose client port and leaf listener take TLS only and check client certificates, a
site's leaf that dials it over TLS with its own certificate and serves its PigWeight over
TLS too. A weighing recorded at the site reaches the central's database; a client that
trusts another CA, or brings no certificate, is refused in words (never a hang), and no
password reaches a log line; a certificate file it cannot read is named by its setting."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from pigweight.settings import Settings
from pigweight.sites import streams
from pigweight.sites.central import CentralIngest
from pigweight.sites.journal import SiteJournal
from pigweight.sites.nats_config import TlsFiles
from pigweight.sites.publisher import SitePublisher
from pigweight.store.db import central_records, open_database
from pigweight.weighing.records import RecordBook
from pigweight.weighing.rules import Weighing
from tests.conftest import need_system
from tests.natsd import CENTRAL_PASSWORD, Hub, Leaf, central_ingest, installed, site_password
from tests.sites.conftest import LogLines
from tests.tlscerts import TestCA

pytestmark = pytest.mark.timeout(90)


@dataclass(frozen=True)
class Farm:
    """The certificates of a farm's NATS: one CA signs the hub's, the leaf's and the
    central's; `other` is a CA nobody here trusts."""

    ca: TestCA
    other: TestCA
    hub: TlsFiles  # the hub's listeners: its certificate, and clients' checked (verify)
    link: TlsFiles  # barn1's leaf dialling the hub: the CA, and its own certificate
    leaf: TlsFiles  # barn1's local client port
    central: dict[str, str]  # the central's settings: NATS_TLS_*


@pytest.fixture
def farm(tmp_path: Path) -> Farm:
    need_system(installed(), "nats-server is not installed (Debian: apt-get install nats-server)")
    ca = TestCA(tmp_path / "certs", "farm")
    server, barn1, central = ca.server("hub"), ca.client("barn1"), ca.client("central")
    site_server = ca.server("barn1-local")
    return Farm(
        ca=ca,
        other=TestCA(tmp_path / "certs", "other"),
        hub=TlsFiles(server.cert, server.key, ca.cert, verify=True),
        link=TlsFiles(barn1.cert, barn1.key, ca.cert),
        leaf=TlsFiles(site_server.cert, site_server.key),
        central={
            "NATS_TLS_CA": str(ca.cert),
            "NATS_TLS_CERT": str(central.cert),
            "NATS_TLS_KEY": str(central.key),
        },
    )


@pytest.fixture
def tls_hub(tmp_path: Path, farm: Farm) -> Iterator[Hub]:
    hub = Hub(tmp_path, ["barn1"], tls=farm.hub)
    hub.start()
    yield hub
    hub.stop()


def test_a_weighing_reaches_the_central_over_tls_links_only(
    tmp_path: Path, farm: Farm, tls_hub: Hub
) -> None:
    leaf = Leaf(tmp_path, "barn1", tls_hub, link_tls=farm.link, tls=farm.leaf)
    leaf.start()
    ingest = central_ingest(tmp_path, tls_hub, "", ["barn1"], farm.central)
    try:
        _until(lambda: tls_hub.leafnode_count() == 1, 10, "barn1's leaf link over TLS")
        assert leaf.url.startswith("tls://") and tls_hub.url.startswith("tls://")
        asyncio.run(_record_at_site(tmp_path, leaf, farm))
        central = open_database(tmp_path / "central")  # the ingest's SQLite (DATA_DIR)
        try:
            _until(lambda: _central_weights(central) == [250.0], 20, "the weighing at the central")
        finally:
            central.dispose()
        assert ingest.poll() is None
    finally:
        ingest.kill()
        ingest.wait(10)
        leaf.stop()
    log = (tmp_path / "ingest.log").read_text() + tls_hub.log.read_text() + leaf.log.read_text()
    assert CENTRAL_PASSWORD not in log and site_password("barn1") not in log


def test_a_leaf_that_trusts_another_ca_never_links_and_its_log_says_why(
    tmp_path: Path, farm: Farm, tls_hub: Hub
) -> None:
    link = TlsFiles(farm.link.cert, farm.link.key, farm.other.cert)
    leaf = Leaf(tmp_path, "barn1", tls_hub, link_tls=link)
    leaf.start()
    try:
        _until(
            lambda: "certificate signed by unknown authority" in leaf.log.read_text(),
            10,
            "the leaf's log saying why the hub is not trusted",
        )
        assert tls_hub.leafnode_count() == 0
    finally:
        leaf.stop()
    assert site_password("barn1") not in leaf.log.read_text() + tls_hub.log.read_text()


async def _record_at_site(tmp_path: Path, leaf: Leaf, farm: Farm) -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=tmp_path / "barn1",
        records_dir=tmp_path / "barn1" / "records",
        site_id="barn1",
        nats_url=leaf.url,
        nats_user="barn1",
        nats_password=site_password("barn1"),
        nats_tls_ca=farm.ca.cert,
    )
    engine = open_database(settings.server.data_dir)
    book = RecordBook(settings.weighing, settings.server.data_dir)
    journal = SiteJournal("barn1")
    book.set_journal(journal)
    book.start(engine)
    publisher = SitePublisher(settings.sites, journal)
    try:
        await publisher.start(engine)
        book.record(Weighing("cam1", 250.0, count=20), None)
        deadline = time.monotonic() + 15
        while publisher.status().published < 1:
            assert time.monotonic() < deadline, publisher.status().last_error
            await asyncio.sleep(0.02)
    finally:
        await publisher.stop()
        engine.dispose()


@pytest.mark.parametrize(
    ("trust", "certificate", "said"),
    [
        # the hub's certificate is not signed by the CA the client trusts
        ("other", True, "nats_tls_ca"),
        # the hub asks for a client certificate and gets none
        ("farm", False, "nats_tls_cert"),
    ],
)
def test_a_client_the_hub_cannot_trust_is_refused_in_words(
    tmp_path: Path,
    farm: Farm,
    tls_hub: Hub,
    every_log: LogLines,
    trust: str,
    certificate: bool,
    said: str,
) -> None:
    central = farm.central if certificate else {}
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        central=True,
        central_sites=["barn1"],
        nats_url=tls_hub.url,
        nats_user="central",
        nats_password=CENTRAL_PASSWORD,
        nats_tls_ca=(farm.other if trust == "other" else farm.ca).cert,
        nats_tls_cert=central.get("NATS_TLS_CERT"),
        nats_tls_key=central.get("NATS_TLS_KEY"),
    )
    ingest = CentralIngest(settings.sites)
    engine = open_database(tmp_path / "central")

    async def refused() -> str:
        await ingest.start(engine)
        try:
            deadline = time.monotonic() + 15
            while said not in (ingest.last_error or "").lower():
                assert time.monotonic() < deadline, f"not said within 15 s: {ingest.last_error}"
                await asyncio.sleep(0.05)
            return ingest.last_error or ""
        finally:
            await ingest.stop()

    try:
        error = asyncio.run(refused())
    finally:
        engine.dispose()
    print(f"refused in words: {error}")
    assert said in error.lower(), error
    assert not ingest.connected
    assert any(said in line.lower() for line in every_log.lines), every_log
    for text in [error, *every_log.lines]:
        assert CENTRAL_PASSWORD not in text, text


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (None, "TLS: NATS_TLS_CA: cannot read {path}: No such file"),
        ("not a certificate", "TLS: NATS_TLS_CA: no CA certificate in {path}"),
    ],
)
def test_a_certificate_file_it_cannot_use_is_named_by_its_setting(
    tmp_path: Path, content: str | None, said: str
) -> None:
    path = tmp_path / "ca.pem"
    if content is not None:
        path.write_text(content)
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        nats_url="tls://127.0.0.1:4222",
        nats_tls_ca=path,
    )
    with pytest.raises(streams.TlsFileError) as raised:
        asyncio.run(streams.connect(settings.sites, "test"))
    assert streams.describe(raised.value).startswith(said.format(path=path))


def _central_weights(engine: Any) -> list[float]:
    with engine.connect() as conn:
        rows = conn.execute(select(central_records.c.total_weight_kg)).scalars().all()
        assert conn.execute(select(func.count()).select_from(central_records)).scalar() == len(rows)
    return [float(w) for w in rows]


def _until(condition: Any, limit_s: float, what: str) -> None:
    deadline = time.monotonic() + limit_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {limit_s} s")
        time.sleep(0.05)

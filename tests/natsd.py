"""Real nats-servers for tests: a hub and site leaf nodes on free ports of 127.0.0.1.

Each runs from the configuration `pigweight sites nats-config` prints (pigweight/sites/
nats_config.py), in a folder of its own; the hub can be stopped and started again to cut
the sites' link. With `TlsFiles` a server's ports take TLS only (tests/tlscerts.py makes the
certificates). Start-up waits on the monitoring port's /healthz, never a fixed sleep.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pigweight.sites.nats_config import (
    HubPorts,
    TlsFiles,
    hub_config,
    leaf_config,
    site_password_variable,
)

NATS_SERVER = Path("/usr/sbin/nats-server")
CENTRAL_PASSWORD = "central-pw-1"  # the tests' central user


def installed() -> bool:
    return NATS_SERVER.is_file() or shutil.which("nats-server") is not None


def site_password(site: str) -> str:
    return f"{site}-leaf-pw"


class NatsServer:
    """One nats-server process: its config written under `folder`, started and stopped."""

    def __init__(
        self, name: str, folder: Path, env: dict[str, str], tls: TlsFiles | None = None
    ) -> None:
        self.name = name
        self.tls = tls
        self.folder = folder
        self.env = env
        self.client_port = free_port()
        self.monitor_port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.config = folder / f"{name}.conf"
        self.log = folder / f"{name}.log"

    @property
    def url(self) -> str:
        scheme = "nats" if self.tls is None else "tls"
        return f"{scheme}://127.0.0.1:{self.client_port}"

    def start(self) -> None:
        binary = str(NATS_SERVER) if NATS_SERVER.is_file() else "nats-server"
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    binary,
                    "-c",
                    str(self.config),
                    "-l",
                    str(self.log),
                    *os.environ.get("NATSD_EXTRA", "").split(),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={"PATH": os.environ.get("PATH", "")} | self.env,
            )
        self._wait_healthy()

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
        self.process = None

    def monitor(self, path: str) -> dict[str, object]:
        url = f"http://127.0.0.1:{self.monitor_port}/{path}"
        with urllib.request.urlopen(url, timeout=2) as answer:
            data: dict[str, object] = json.load(answer)
            return data

    def _wait_healthy(self, timeout_s: float = 15.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"nats-server {self.name} exited: {self.log.read_text()[-2000:]}"
                )
            try:
                self.monitor("healthz?js-enabled-only=true")
                return
            except (OSError, urllib.error.URLError):
                time.sleep(0.02)
        raise RuntimeError(f"nats-server {self.name} not healthy in {timeout_s} s")


class Hub(NatsServer):
    """`advertise`: the leaf port the hub tells leaf nodes to come back to (a LinkProxy's: a
    leaf learns the hub's own address from it otherwise, and goes round the proxy)."""

    def __init__(
        self,
        folder: Path,
        sites: Sequence[str],
        tls: TlsFiles | None = None,
        advertise: int | None = None,
    ) -> None:
        env = {"PW_CENTRAL_PASSWORD": CENTRAL_PASSWORD}
        env |= {site_password_variable(s): site_password(s) for s in sites}
        super().__init__("hub", folder, env, tls)
        self.leaf_port = free_port()
        ports = HubPorts(self.client_port, self.leaf_port, self.monitor_port)
        config = hub_config(sites, folder / "hub-js", ports, host="127.0.0.1", tls=tls)
        if advertise is not None:
            config = config.replace(
                "leafnodes {", f"leafnodes {{\n  advertise: 127.0.0.1:{advertise}"
            )
        self.config.write_text(config)

    def leafnode_count(self) -> int:
        return int(self.monitor("leafz").get("leafnodes", 0))  # type: ignore[call-overload]


class Leaf(NatsServer):
    """A site's nats-server; `login_as`: the leaf user it logs in to the hub as (another
    site's, for the tests of a site posing as another); `link_tls`, `tls`: leaf_config's;
    `via`: the port its link goes through (a LinkProxy's)."""

    def __init__(
        self,
        folder: Path,
        site: str,
        hub: Hub,
        login_as: str | None = None,
        link_tls: TlsFiles | None = None,
        tls: TlsFiles | None = None,
        via: int | None = None,
    ) -> None:
        user = login_as or site
        port = hub.leaf_port if via is None else via
        env = {
            "NATS_USER": site,
            "NATS_PASSWORD": site_password(site),
            "PW_HUB_URL": f"nats-leaf://{user}:{site_password(user)}@127.0.0.1:{port}",
        }
        super().__init__(f"leaf-{site}", folder, env, tls)
        self.site = site
        config = leaf_config(
            site,
            folder / f"{site}-js",
            self.client_port,
            self.monitor_port,
            link_tls=link_tls,
            tls=tls,
        )
        self.config.write_text(config)


# Ports below the kernel's ephemeral range (32768 and up), a block of 2000 for each pytest-xdist
# worker: a port the OS picked (bind to 0) and freed could be handed to another process's
# outgoing connection before nats-server bound it ("address already in use", seen in CI).
_WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
_PORTS = itertools.count(20000 + 2000 * (_WORKER % 6) + os.getpid() % 1000)


def free_port() -> int:
    for port in _PORTS:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port")


class LinkProxy:
    """A TCP relay for the sites' leaf links, to cut the link while both nats-servers run (a
    barn's internet gone, not the hub stopped). Its own thread and event loop; `cut()` closes
    the listener and every relayed connection, `restore()` listens again."""

    def __init__(self, target_port: int | None = None) -> None:
        self.port = free_port()
        self.target_port = target_port  # set before start() when the hub is made after
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    def start(self) -> None:
        self._thread.start()
        self.restore()

    def restore(self) -> None:
        self._call(self._listen())

    def cut(self) -> None:
        self._call(self._cut())

    def stop(self) -> None:
        self.cut()
        self._call(self._settle())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    async def _settle(self) -> None:
        """Let the relays the cut ended finish (a pending task left would warn at close)."""
        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        await asyncio.wait(others, timeout=2) if others else None

    def _call(self, coroutine: Any) -> None:
        asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(5)

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)

    async def _cut(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        assert self.target_port is not None
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.transport.abort()
            return
        self._writers |= {writer, up_writer}
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError, asyncio.CancelledError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    writer.transport.abort()


class Single(NatsServer):
    """One JetStream nats-server with no login: the archive's index queue (index_queue.py)."""

    def __init__(self, folder: Path) -> None:
        super().__init__("single", folder, {})
        self.config.write_text(
            f"listen: 127.0.0.1:{self.client_port}\n"
            f"http: 127.0.0.1:{self.monitor_port}\n"
            f'jetstream {{ store_dir: "{folder / "single-js"}" }}\n'
        )

    def stream_messages(self, stream: str) -> int:
        """How many messages the stream holds (0 before it exists)."""
        data = self.monitor("jsz?streams=true")
        for account in data.get("account_details", []):  # type: ignore[attr-defined]
            for detail in account.get("stream_detail", []):
                if detail["name"] == stream:
                    return int(detail["state"]["messages"])
        return 0


def central_ingest(
    root: Path,
    hub: Hub,
    database_url: str,
    sites: Sequence[str],
    settings: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """The central's ingest as a child process (`pigweight sites ingest`, what `serve
    --central` runs), on `database_url`, taking `sites` from `hub` (with `settings` added to
    its environment: NATS_TLS_CA ...); its log in root/ingest.log. A test or bench SIGKILLs
    it to play a crashed central."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
        "DATABASE_URL": database_url,
        "DATA_DIR": str(root / "central"),
        "NATS_URL": hub.url,
        "NATS_USER": "central",
        "NATS_PASSWORD": CENTRAL_PASSWORD,
        "CENTRAL_SITES": ",".join(sites),
    } | (settings or {})
    command = [sys.executable, "-m", "pigweight", "sites", "ingest"]
    with (root / "ingest.log").open("ab") as log:  # the child keeps its own copy
        return subprocess.Popen(command, env=env, cwd=root, stdout=log, stderr=log)

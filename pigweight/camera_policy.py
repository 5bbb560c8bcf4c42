"""Where a camera URL may lead: never to this computer, a link-local or a metadata address.

A camera URL makes the server open a connection on the user's behalf. Left unchecked it
reaches services that trust local callers (loopback), the cloud's instance metadata (keys
and tokens at 169.254.169.254) or devices on link-local addresses: a server-side request
forgery. Such hosts are refused unless CAMERA_ALLOW_HOSTS lists them (an RTSP relay on the
same PC is a real set-up: CAMERA_ALLOW_HOSTS=127.0.0.1).

Names are checked for what they point at: the RTSP source resolves them (in its own
thread, with a timeout) before every connection, so a name that later points at a
refused address is caught on the next reconnect too.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from pigweight.errors import PigWeightError
from pigweight.settings import CameraSettings, Settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

RESOLVE_TIMEOUT_S = 3.0
SETTING = "CAMERA_ALLOW_HOSTS"
# Instance metadata of AWS (also over IPv6), GCP, Azure, OpenStack, Alibaba Cloud.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200")
)
METADATA_NAMES = frozenset(
    {"metadata", "metadata.google.internal", "instance-data", "instance-data.ec2.internal"}
)
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})
# 0.0.0.0/8 reaches this computer on Linux like 127.0.0.1 does.
_THIS_HOST = ipaddress.ip_network("0.0.0.0/8")
_NUMERIC_V4 = re.compile(r"[0-9a-fx.]+", re.IGNORECASE)


class CameraHostRefused(PigWeightError, ValueError):
    """The camera URL's host is this computer, link-local or a metadata address (422).

    A ValueError too: pydantic validators and the RTSP source take it as a refused value.
    """

    code = "camera_host_refused"


class CameraHostUnresolved(PigWeightError, OSError):
    """The camera's host name could not be resolved (in time); the source retries later."""

    code = "camera_host_unresolved"


@dataclass(frozen=True, slots=True)
class HostPolicy:
    """CAMERA_ALLOW_HOSTS read once: the networks and names a camera may use although local."""

    networks: tuple[IPNetwork, ...] = ()
    names: frozenset[str] = frozenset()

    @classmethod
    def of(cls, cameras: CameraSettings) -> HostPolicy:
        """The policy for these settings (entries were validated by CameraSettings)."""
        return cls.from_entries(cameras.camera_allow_hosts)

    @classmethod
    def from_entries(cls, entries: Iterable[str]) -> HostPolicy:
        networks: list[IPNetwork] = []
        names: set[str] = set()
        for entry in entries:
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                names.add(_normal_name(entry))
        return cls(tuple(networks), frozenset(names))

    def check(self, host: str, resolve_timeout_s: float | None = RESOLVE_TIMEOUT_S) -> None:
        """Raise CameraHostRefused if `host` is, or points at, a refused address.

        `resolve_timeout_s=None` checks without DNS: literal addresses and well-known names
        only (reading the configuration). Blocking: call it off the event loop.
        """
        name = _normal_name(host)
        if name in self.names:
            return
        literal = _literal_address(name)
        if literal is not None:
            self._check_address(host, literal, None)
            return
        kind = _name_kind(name)
        if kind is not None:
            raise CameraHostRefused(_refusal(host, kind, None, name))
        if resolve_timeout_s is not None:
            for address in resolve(name, resolve_timeout_s):
                self._check_address(host, address, name)

    def _check_address(self, host: str, address: IPAddress, name: str | None) -> None:
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
        kind = address_kind(address)
        if kind is None or self._allows(address):
            return
        shown = address if name is not None else None
        raise CameraHostRefused(_refusal(host, kind, shown, name or str(address)))

    def _allows(self, address: IPAddress) -> bool:
        if address in METADATA_ADDRESSES:  # only when listed itself, not through a network
            return any(n.num_addresses == 1 and address in n for n in self.networks)
        return any(address in n for n in self.networks)


def address_kind(address: IPAddress) -> str | None:
    """Why a camera may not use this address ("this computer", ...), or None if it may."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if address.is_loopback or address.is_unspecified or address in _THIS_HOST:
        return "this computer (loopback)"
    if address.is_link_local:
        return "a link-local address"
    return None


def url_host(url: str) -> str | None:
    """The host of a camera URL, read as FFmpeg reads it: after the last '@' (raw passwords)."""
    scheme, sep, rest = url.strip().partition("://")
    if not sep:
        return None
    return urlsplit(f"{scheme}://{rest.rsplit('@', 1)[-1]}").hostname


def resolve(name: str, timeout_s: float) -> list[IPAddress]:
    """Every address `name` resolves to; CameraHostUnresolved if none within `timeout_s`.

    getaddrinfo has no timeout of its own: it runs in a daemon thread that is left to end
    by itself (the resolver gives up after its own timeouts) when it takes too long.
    """
    found: list[IPAddress] = []
    failed: list[Exception] = []

    def lookup() -> None:
        try:
            infos = socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)
        except (OSError, ValueError) as exc:  # gaierror; a name IDNA or the OS refuses
            failed.append(exc)
            return
        for info in infos:
            found.append(ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]))

    thread = threading.Thread(target=lookup, name="camera-resolve", daemon=True)
    thread.start()
    thread.join(timeout_s)
    if thread.is_alive():
        raise CameraHostUnresolved(
            f"the camera's host {name!r} did not resolve within {timeout_s:g} s"
        )
    if failed or not found:
        reason = f" ({failed[0]})" if failed else ""
        raise CameraHostUnresolved(f"the camera's host {name!r} cannot be resolved{reason}")
    return found


def camera_file_roots(settings: Settings) -> list[Path]:
    """Folders a video file given as a camera URL through the API may lie in.

    MEDIA_ROOTS (the NVR exports), the uploaded recordings and the demo clip's folder.
    """
    data_dir = Path(settings.server.data_dir)
    return [*settings.archive.media_roots, data_dir / "videos", data_dir / "demo"]


def _refusal(host: str, kind: str, address: IPAddress | None, allow: str) -> str:
    points = f" (it resolves to {address})" if address is not None else ""
    return (
        f"camera host {host!r} is {kind}{points}: refused, as a camera URL could otherwise "
        f"reach services on this server; if a camera really is there, set {SETTING}={allow}"
    )


def _normal_name(host: str) -> str:
    return host.strip().lower().rstrip(".")


def _literal_address(host: str) -> IPAddress | None:
    """`host` as an address if it is one, in any form the resolver takes (127.1, 0x7f000001)."""
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        pass
    if _NUMERIC_V4.fullmatch(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def _name_kind(name: str) -> str | None:
    if name in LOOPBACK_NAMES or name.endswith(".localhost"):
        return "this computer (loopback)"
    if name in METADATA_NAMES:
        return "a cloud metadata name"
    return None

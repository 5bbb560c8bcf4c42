"""Where the scale indicator is and how it talks, from one URL:

    serial:///dev/ttyUSB0?protocol=mtsics&baud=9600
    serial://COM3?protocol=toledo&framing=7E1
    tcp://192.168.1.50:4001?protocol=ascii

Every mistake is refused at once with a message that names what to fix.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import SplitResult, parse_qsl, urlsplit

from pigweight.errors import PigWeightError
from pigweight.redact import redact_url
from pigweight.weighing.scale_protocols import PROTOCOLS

BAUD_RATES = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)
_OPTIONS = ("protocol", "baud", "framing", "checksum", "tare", "mode", "poll_s")  # docs/scales.md
_ON_OFF = {"on": True, "1": True, "yes": True, "off": False, "0": False, "no": False}


class InvalidScaleUrl(PigWeightError, ValueError):
    """The scale URL cannot be used; the message says what to change."""


@dataclass(frozen=True, slots=True)
class ScaleConfig:
    """A parsed scale URL."""

    url: str
    transport: Literal["serial", "tcp"]
    protocol: str
    device: str = ""  # serial: /dev/ttyUSB0, COM3
    host: str = ""  # tcp
    port: int = 0  # tcp
    baud: int = 9600
    framing: str = "8N1"
    checksum: bool = True
    tare: bool = True
    mode: Literal["poll", "stream"] = "poll"
    poll_s: float = 0.2

    @property
    def where(self) -> str:
        """The line, for a person: `/dev/ttyUSB0 at 9600 8N1` or `192.168.1.50:4001`."""
        if self.transport == "serial":
            return f"{self.device} at {self.baud} {self.framing}"
        return f"{self.host}:{self.port}"


def parse_scale_url(url: str) -> ScaleConfig:
    """The ScaleConfig of `url`, or InvalidScaleUrl naming what to fix."""

    def refuse(problem: str) -> InvalidScaleUrl:
        # A password typed into the URL must not come back in the message.
        return InvalidScaleUrl(f"scale URL {redact_url(url)!r}: {problem}")

    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise refuse("remove the spaces or line breaks")
    parts = urlsplit(url)
    if parts.scheme not in ("serial", "tcp"):
        raise refuse("start it with serial:// (e.g. serial:///dev/ttyUSB0) or tcp://host:port")
    if "@" in parts.netloc + parts.path:  # no port, host or device name has an @
        raise refuse("remove the user name: indicators take no login")
    options = dict(parse_qsl(parts.query, keep_blank_values=True))
    unknown = sorted(set(options) - set(_OPTIONS))
    if unknown:
        known = ", ".join(_OPTIONS)
        raise refuse(f"unknown option {', '.join(unknown)}; use {known} (docs/scales.md)")
    protocol = options.get("protocol", "")
    if protocol not in PROTOCOLS:
        what = f"unknown protocol {protocol!r}" if protocol else "no protocol"
        raise refuse(f"{what}; add ?protocol= one of {', '.join(PROTOCOLS)}")
    common = {"url": url, "protocol": protocol, **_protocol_options(options, refuse)}
    if parts.scheme == "tcp":
        if {"baud", "framing"} & set(options):
            raise refuse("baud and framing are set on the serial-to-Ethernet converter")
        return ScaleConfig(transport="tcp", **_tcp_address(parts.netloc, refuse), **common)
    return ScaleConfig(transport="serial", **_serial_options(parts, options, refuse), **common)


Refuse = Callable[[str], InvalidScaleUrl]


def _protocol_options(options: dict[str, str], refuse: Refuse) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in ("checksum", "tare"):
        if name in options:
            value = _ON_OFF.get(options[name].lower())
            if value is None:
                raise refuse(f"{name}={options[name]!r}: use {name}=on or {name}=off")
            out[name] = value
    if "mode" in options:
        if options["mode"] not in ("poll", "stream"):
            raise refuse(f"mode={options['mode']!r}: use mode=poll or mode=stream")
        out["mode"] = options["mode"]
    if "poll_s" in options:
        try:
            out["poll_s"] = float(options["poll_s"])
        except ValueError:
            out["poll_s"] = -1.0
        if not 0.05 <= out["poll_s"] <= 60:
            raise refuse(f"poll_s={options['poll_s']!r}: use seconds between 0.05 and 60")
    return out


def _tcp_address(netloc: str, refuse: Refuse) -> dict[str, Any]:
    host, _, port = netloc.rpartition(":")
    host = host.strip("[]")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise refuse("give the converter's address and port, e.g. tcp://192.168.1.50:4001")
    return {"host": host, "port": int(port)}


def _serial_options(parts: SplitResult, options: dict[str, str], refuse: Refuse) -> dict[str, Any]:
    device = parts.path if not parts.netloc else parts.netloc + parts.path
    if not device or device.startswith("-"):
        raise refuse("name the port, e.g. serial:///dev/ttyUSB0 or serial://COM3")
    out: dict[str, Any] = {"device": device}
    if "baud" in options:
        baud = options["baud"]
        if not baud.isdigit() or int(baud) not in BAUD_RATES:
            rates = ", ".join(map(str, BAUD_RATES))
            raise refuse(f"baud={baud!r}: use the indicator's speed, one of {rates}")
        out["baud"] = int(baud)
    if "framing" in options:
        framing = options["framing"].upper()
        if re.fullmatch(r"[78][NEO][12]", framing) is None:
            raise refuse(f"framing={options['framing']!r}: use e.g. 8N1 or 7E1")
        out["framing"] = framing
    return out

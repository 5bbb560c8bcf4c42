"""What scale indicators send, parsed: bytes in, `ScaleReading`s (and `BadFrame`s) out.

One parser per protocol, each pure and incremental: `feed()` takes whatever a read
returned (half a frame, three frames, garbage) and keeps an incomplete frame for the next
call. Nothing here does I/O, so the table tests cover every protocol without a port.
Weights always leave in kilograms; a unit that cannot be converted exactly is refused.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

MAX_FRAME_BYTES = 128  # no indicator frame is longer: a buffer this long without an end is junk

_KG_PER_UNIT = {"kg": 1.0, "g": 0.001, "t": 1000.0, "lb": 0.45359237}
_STX, _CR = 0x02, 0x0D
# Toledo SWA bits 0-2 -> power of ten of the last digit (XXXX00, XXXXX0, XXXXXX, XXXXX.X …)
_TOLEDO_LAST_DIGIT = (2, 1, 0, -1, -2, -3, -4, -5)
# Toledo SWC bits 0-2 -> unit; "" means lb or kg as SWB bit 4 says
_TOLEDO_SWC_UNITS = ("", "g", "t", "oz", "ozt", "dwt", "long ton", "custom")


class ReadingStatus(StrEnum):
    OK = "ok"
    OVERLOAD = "overload"  # above capacity: the indicator shows no number
    UNDERLOAD = "underload"  # below zero range
    BUSY = "busy"  # MT-SICS `S I`: no value available right now
    ERROR = "error"  # the indicator refused the command (ES, ET, EL, S L)


_SICS_NO_WEIGHT = {
    "S I": ReadingStatus.BUSY,
    "S +": ReadingStatus.OVERLOAD,
    "S -": ReadingStatus.UNDERLOAD,
    "S L": ReadingStatus.ERROR,
    "ES": ReadingStatus.ERROR,  # syntax error: the command is unknown
    "ET": ReadingStatus.ERROR,  # transmission error: parity, wrong framing
    "EL": ReadingStatus.ERROR,  # logical error: the command cannot run now
}


@dataclass(frozen=True, slots=True)
class ScaleReading:
    """One reading of the indicator; `weight_kg` is None unless `status` is OK."""

    weight_kg: float | None
    stable: bool  # the indicator reports no motion
    raw: bytes  # the frame as received, for logs and evidence
    ts: float = 0.0  # time.time() when the frame was complete
    status: ReadingStatus = ReadingStatus.OK
    net: bool = False  # net weight (a tare is subtracted), else gross
    tare_kg: float | None = None  # only where the protocol sends it (Toledo)


@dataclass(frozen=True, slots=True)
class BadFrame:
    """Bytes that are not a valid frame; the reader counts them and shows the reason."""

    raw: bytes
    reason: str


Parsed = ScaleReading | BadFrame

PROTOCOLS = ("mtsics", "toledo", "ascii", "trutest")


class ScaleParser(Protocol):
    """Bytes as they arrive in, the frames they complete out; partial frames wait inside."""

    def feed(self, data: bytes, ts: float) -> list[Parsed]: ...


class UnitRefused(ValueError):
    """A unit PigWeight does not convert (ounces, custom units)."""


def to_kg(value: float, unit: str) -> float:
    """`value` in `unit` (kg, g, t, lb; any case) as kilograms, rounded to 0.1 g."""
    factor = _KG_PER_UNIT.get(unit.strip().lower())
    if factor is None:
        raise UnitRefused(f"unit {unit.strip()!r} is not supported: set the indicator to kg")
    return round(value * factor, 4)


def _short(raw: bytes) -> str:
    return repr(raw[:40]) + ("…" if len(raw) > 40 else "")


def _drop_junk(junk: bytes, out: list[Parsed], keep: bool) -> bytes:
    """Report bytes outside any frame (blanks and NULs are line noise, not errors); with
    `keep`, junk that may still grow is kept until it is too long to wait for."""
    if keep and len(junk) <= MAX_FRAME_BYTES:
        return junk
    if junk.strip(b"\r\n\t\x00 "):
        out.append(BadFrame(junk, f"garbage between frames: {_short(junk)}"))
    return b""


class _LineParser:
    """Text protocols: one frame per line, ended by CR, LF or CR LF."""

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, data: bytes, ts: float) -> list[Parsed]:
        self._buffer += data
        out: list[Parsed] = []
        *lines, self._buffer = re.split(rb"\r\n|\r|\n", self._buffer)
        for line in lines:
            if line.strip():
                out.append(self._parse_or_refuse(line, ts))
        if len(self._buffer) > MAX_FRAME_BYTES:
            out.append(BadFrame(self._buffer, f"no end of line in {len(self._buffer)} bytes"))
            self._buffer = b""
        return out

    def _parse_or_refuse(self, line: bytes, ts: float) -> Parsed:
        try:
            text = line.decode("ascii").strip()
        except UnicodeDecodeError:
            return BadFrame(line, f"not ASCII text: {_short(line)}")
        try:
            return self.parse_line(text, line, ts)
        except UnitRefused as exc:
            return BadFrame(line, str(exc))

    def parse_line(self, text: str, raw: bytes, ts: float) -> Parsed:
        raise NotImplementedError


class MtSicsParser(_LineParser):
    """Mettler Toledo MT-SICS replies to `S`, `SI` and `SIR`: `S S     123.45 kg`."""

    _WEIGHT = re.compile(r"^S\s+([SD])\s+(-?\s*\d+(?:\.\d*)?)\s*([A-Za-z]+)$")

    def parse_line(self, text: str, raw: bytes, ts: float) -> Parsed:
        status = _SICS_NO_WEIGHT.get(" ".join(text.split()))
        if status is not None:
            return ScaleReading(None, False, raw, ts, status)
        match = self._WEIGHT.match(text)
        if match is None:
            return BadFrame(raw, f"not an MT-SICS weight reply: {_short(raw)}")
        kind, number, unit = match.groups()
        weight_kg = to_kg(float(number.replace(" ", "")), unit)
        return ScaleReading(weight_kg, kind == "S", raw, ts)


class AsciiParser(_LineParser):
    """The common `ST,GS,+0123.4kg` line: ST stable / US unstable / OL overload,
    GS gross / NT net; the gross-net field may be missing; no unit means kg."""

    _LINE = re.compile(
        r"^(ST|US)\s*,\s*(?:(GS|NT|GW|NW)\s*,\s*)?([+-]?)\s*(\d+(?:\.\d*)?)\s*([A-Z]*)$",
        re.IGNORECASE,
    )

    def parse_line(self, text: str, raw: bytes, ts: float) -> Parsed:
        header = text[:2].upper()
        if header == "OL":
            net = ",NT" in text.upper() or ",NW" in text.upper()
            return ScaleReading(None, False, raw, ts, ReadingStatus.OVERLOAD, net=net)
        match = self._LINE.match(text)
        if match is None:
            return BadFrame(raw, f"not an 'ST,GS,+0123.4kg' line: {_short(raw)}")
        _, gross_net, sign, number, unit = match.groups()
        weight_kg = to_kg(float(sign + number), unit or "kg")
        net = (gross_net or "").upper() in ("NT", "NW")
        return ScaleReading(weight_kg, header == "ST", raw, ts, net=net)


class TruTestParser:
    """Tru-Test streaming output: `[123.4]` stable, `[U123.4]` unstable, in the
    indicator's unit (set it to kg). Frames are delimited by brackets, not lines."""

    _BODY = re.compile(r"^(U?)\s*(-?\d+(?:\.\d*)?)$")

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, data: bytes, ts: float) -> list[Parsed]:
        self._buffer += data
        out: list[Parsed] = []
        while True:
            start = self._buffer.find(b"[")
            if start < 0:  # junk is reported whole once a frame starts, or once too long
                self._buffer = _drop_junk(self._buffer, out, keep=True)
                return out
            _drop_junk(self._buffer[:start], out, keep=False)
            end = self._buffer.find(b"]", start)
            if end < 0:
                self._buffer = self._buffer[start:]
                if len(self._buffer) > MAX_FRAME_BYTES:
                    out.append(BadFrame(self._buffer, "no ']' in a long frame"))
                    self._buffer = b""
                return out
            frame, self._buffer = self._buffer[start : end + 1], self._buffer[end + 1 :]
            restart = frame.rfind(b"[")
            if restart > 0:  # `[12[U3.4]`: the first frame was cut off
                out.append(BadFrame(frame[:restart], "frame cut off by a new '['"))
                frame = frame[restart:]
            out.append(self._parse(frame, ts))

    def _parse(self, frame: bytes, ts: float) -> Parsed:
        match = self._BODY.match(frame[1:-1].decode("ascii", "replace").strip())
        if match is None:
            return BadFrame(frame, f"not a Tru-Test weight: {_short(frame)}")
        return ScaleReading(float(match.group(2)), match.group(1) == "", frame, ts)


class ToledoParser:
    """Mettler Toledo standard continuous output (also Rice Lake, Fairbanks, Cardinal…):

    STX SWA SWB SWC wwwwww tttttt CR [CKS]: six digits of displayed weight and of tare,
    without decimal point. SWA bits 0-2 place the decimal point; SWB bit 0 net, 1 minus,
    2 out of range, 3 motion, 4 kg (else lb), 6 zero not captured since power-up; SWC
    bits 0-2 a unit other than lb/kg. Bit 7 of every byte may carry parity and is ignored.
    CKS is the two's complement of the 7-bit sum of all bytes before it (STX and CR too).
    `checksum` and `tare` follow the indicator's setting (the 'short' format has no tare).
    """

    def __init__(self, checksum: bool = True, tare: bool = True) -> None:
        self.checksum = checksum
        self.tare = tare
        self._frame_len = 1 + 3 + 6 + (6 if tare else 0) + 1 + (1 if checksum else 0)
        self._buffer = b""

    def feed(self, data: bytes, ts: float) -> list[Parsed]:
        self._buffer += data
        out: list[Parsed] = []
        while True:
            start = self._find_stx(self._buffer)
            if start < 0:  # junk is reported whole once a frame starts, or once too long
                self._buffer = _drop_junk(self._buffer, out, keep=True)
                return out
            _drop_junk(self._buffer[:start], out, keep=False)
            self._buffer = self._buffer[start:]
            if len(self._buffer) < self._frame_len:
                return out
            frame = self._buffer[: self._frame_len]
            parsed = self._parse(frame, ts)
            self._buffer = self._buffer[self._end_of(frame, parsed) :]
            out.append(parsed)

    def _end_of(self, frame: bytes, parsed: Parsed) -> int:
        """Where the next frame starts: a bad frame may hide the start of a good one."""
        if isinstance(parsed, ScaleReading):
            return len(frame)
        restart = self._find_stx(frame[1:])
        return len(frame) if restart < 0 else restart + 1

    @staticmethod
    def _find_stx(buffer: bytes) -> int:
        for i, byte in enumerate(buffer):
            if byte & 0x7F == _STX:
                return i
        return -1

    def _parse(self, frame: bytes, ts: float) -> Parsed:
        data = bytes(b & 0x7F for b in frame)
        cr_at = 10 + (6 if self.tare else 0)
        if data[cr_at] != _CR:
            return BadFrame(frame, "no CR where the Toledo frame ends (check the format)")
        if self.checksum and sum(data) & 0x7F != 0:
            return BadFrame(frame, "bad checksum")
        swa, swb, swc = data[1], data[2], data[3]
        digits = data[4:10].decode("ascii", "replace")
        tare_digits = data[10:16].decode("ascii", "replace") if self.tare else ""
        if not digits.strip().isdigit() or (tare_digits and not tare_digits.strip().isdigit()):
            return BadFrame(frame, f"weight is not six digits: {digits!r}")
        net, negative = bool(swb & 0x01), bool(swb & 0x02)
        if swb & 0x04:
            status = ReadingStatus.UNDERLOAD if negative else ReadingStatus.OVERLOAD
            return ScaleReading(None, False, frame, ts, status, net=net)
        unit = _TOLEDO_SWC_UNITS[swc & 0x07] or ("kg" if swb & 0x10 else "lb")
        scale = 10.0 ** _TOLEDO_LAST_DIGIT[swa & 0x07]
        try:
            weight_kg = to_kg(int(digits) * scale * (-1 if negative else 1), unit)
            tare_kg = to_kg(int(tare_digits) * scale, unit) if tare_digits else None
        except UnitRefused as exc:
            return BadFrame(frame, str(exc))
        stable = not swb & 0x08 and not swb & 0x40  # motion, or zero not yet captured
        return ScaleReading(weight_kg, stable, frame, ts, net=net, tare_kg=tare_kg)


def make_parser(protocol: str, checksum: bool = True, tare: bool = True) -> ScaleParser:
    """A fresh parser for one of PROTOCOLS; `checksum` and `tare` concern Toledo only."""
    if protocol == "toledo":
        return ToledoParser(checksum=checksum, tare=tare)
    factories: dict[str, Callable[[], ScaleParser]] = {
        "mtsics": MtSicsParser,
        "ascii": AsciiParser,
        "trutest": TruTestParser,
    }
    if protocol not in factories:
        raise ValueError(f"unknown protocol {protocol!r}; use one of {', '.join(PROTOCOLS)}")
    return factories[protocol]()

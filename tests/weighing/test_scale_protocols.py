"""Scale indicator frames, parsed: one table per protocol, with real-looking frames."""

from __future__ import annotations

import pytest

from pigweight.weighing.scale_protocols import (
    PROTOCOLS,
    BadFrame,
    ReadingStatus,
    ScaleReading,
    make_parser,
)
from pigweight.weighing.scale_sim import WeighingCycle, encode_frame, toledo_frame
from pigweight.weighing.scale_url import InvalidScaleUrl, parse_scale_url

OK, OVER, UNDER = ReadingStatus.OK, ReadingStatus.OVERLOAD, ReadingStatus.UNDERLOAD
BUSY, ERROR = ReadingStatus.BUSY, ReadingStatus.ERROR


def _one(protocol: str, data: bytes, **options: bool) -> ScaleReading | BadFrame:
    [item] = make_parser(protocol, **options).feed(data, ts=1.0)
    return item


def _summary(item: ScaleReading | BadFrame) -> tuple[object, ...]:
    if isinstance(item, BadFrame):
        return ("bad", item.reason)
    return (item.weight_kg, item.stable, item.status, item.net)


def _toledo(swa: int, swb: int, weight: str, tare: str = "000000", swc: int = 0x20) -> bytes:
    body = bytes([0x02, swa, swb, swc]) + f"{weight}{tare}\r".encode()
    return body + bytes([-sum(body) & 0x7F])


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (b"S S     123.45 kg\r\n", (123.45, True, OK, False)),
        (b"S D     118.20 kg\r\n", (118.2, False, OK, False)),
        (b"S S      -0.35 kg\r\n", (-0.35, True, OK, False)),
        (b"S S   123450.0 g\n", (123.45, True, OK, False)),
        (b"S S     272.16 lb\r\n", (123.4497, True, OK, False)),
        (b"S I\r\n", (None, False, BUSY, False)),
        (b"S +\r\n", (None, False, OVER, False)),
        (b"S -\r\n", (None, False, UNDER, False)),
        (b"ES\r\n", (None, False, ERROR, False)),
        (b"ET\r\n", (None, False, ERROR, False)),
        (b"EL\r\n", (None, False, ERROR, False)),
        (b"S S      12.00 oz\r\n", ("bad", "unit 'oz' is not supported: set the indicator to kg")),
        (b'I4 A "0123"\r\n', ("bad", "not an MT-SICS weight reply: b'I4 A \"0123\"'")),
    ],
)
def test_mtsics_replies(line: bytes, expected: tuple[object, ...]) -> None:
    item = _one("mtsics", line)
    assert _summary(item) == expected
    assert item.raw == line.rstrip(b"\r\n")


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (b"ST,GS,+0123.4kg\r\n", (123.4, True, OK, False)),
        (b"US,GS,+0118.9kg\n", (118.9, False, OK, False)),
        (b"ST,NT,-0002.5kg\r\n", (-2.5, True, OK, True)),
        (b"ST,GS,+00123.45 kg\r", (123.45, True, OK, False)),
        (b"ST,+0123.4kg\r\n", (123.4, True, OK, False)),
        (b"ST,GS,+0100.0lb\r\n", (45.3592, True, OK, False)),
        (b"ST,GS,+0123.4\r\n", (123.4, True, OK, False)),  # no unit: kg
        (b"OL,GS,+9999999kg\r\n", (None, False, OVER, False)),
        (b"OL,GS,  -OL-  \r\n", (None, False, OVER, False)),
        (b"ST,GS,+0012.0oz\r\n", ("bad", "unit 'oz' is not supported: set the indicator to kg")),
        (b"ST,GS,kg\r\n", ("bad", "not an 'ST,GS,+0123.4kg' line: b'ST,GS,kg'")),
        (b"\xff\xfe\r\n", ("bad", "not ASCII text: b'\\xff\\xfe'")),
    ],
)
def test_ascii_lines(line: bytes, expected: tuple[object, ...]) -> None:
    assert _summary(_one("ascii", line)) == expected


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        (b"[123.4]", (123.4, True, OK, False)),
        (b"[U123.4]", (123.4, False, OK, False)),
        (b"[-0.5]", (-0.5, True, OK, False)),
        (b"[U-3.0]", (-3.0, False, OK, False)),
        (b"[0]\r\n", (0.0, True, OK, False)),
        (b"[----]", ("bad", "not a Tru-Test weight: b'[----]'")),
        (b"xx[123.4]", ("bad", "garbage between frames: b'xx'")),
    ],
)
def test_trutest_frames(frame: bytes, expected: tuple[object, ...]) -> None:
    assert _summary(make_parser("trutest").feed(frame, ts=1.0)[0]) == expected


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        # SWA 0x2B: decimal XXXXX.X; SWB 0x30: kg, gross, positive, stable
        (_toledo(0x2B, 0x30, "001234"), (123.4, True, OK, False)),
        (_toledo(0x2B, 0x38, "001189"), (118.9, False, OK, False)),  # motion
        (_toledo(0x2B, 0x32, "000025"), (-2.5, True, OK, False)),  # negative
        (_toledo(0x2B, 0x31, "001000", "000050"), (100.0, True, OK, True)),  # net, tare 5 kg
        (_toledo(0x2C, 0x30, "012345"), (123.45, True, OK, False)),  # XXXX.XX
        (_toledo(0x29, 0x30, "000042"), (420.0, True, OK, False)),  # XXXXX0
        (_toledo(0x2A, 0x20, "000100"), (45.3592, True, OK, False)),  # lb
        (_toledo(0x2B, 0x30, "000100", swc=0x21), (0.01, True, OK, False)),  # grams
        (_toledo(0x2B, 0x34, "999999"), (None, False, OVER, False)),
        (_toledo(0x2B, 0x36, "000000"), (None, False, UNDER, False)),
        (_toledo(0x2B, 0x70, "000000"), (0.0, False, OK, False)),  # zero not captured yet
        (_toledo(0x2B, 0x30, "001234")[:-1] + b"\x00", ("bad", "bad checksum")),
        (_toledo(0x2B, 0x30, "0012x4"), ("bad", "weight is not six digits: '0012x4'")),
        (
            _toledo(0x2B, 0x30, "000100", swc=0x23),
            ("bad", "unit 'oz' is not supported: set the indicator to kg"),
        ),
    ],
)
def test_toledo_frames(frame: bytes, expected: tuple[object, ...]) -> None:
    assert _summary(_one("toledo", frame)) == expected


def test_toledo_tare_and_parity_bits() -> None:
    # 7E1 bytes read as 8N1 keep their parity in bit 7: the frame must still parse.
    frame = _toledo(0x2B, 0x31, "001000", "000050")
    with_parity = bytes(b | 0x80 if bin(b).count("1") % 2 else b for b in frame)
    [reading] = make_parser("toledo").feed(with_parity, ts=1.0)
    assert isinstance(reading, ScaleReading)
    assert (reading.weight_kg, reading.tare_kg, reading.net) == (100.0, 5.0, True)


def test_toledo_short_frame_without_checksum() -> None:
    body = bytes([0x02, 0x2B, 0x30, 0x20]) + b"004125\r"
    readings = make_parser("toledo", checksum=False, tare=False).feed(body * 2, ts=1.0)
    assert [_summary(r) for r in readings] == [(412.5, True, OK, False)] * 2


def test_toledo_resyncs_after_a_bad_checksum_and_garbage() -> None:
    good = _toledo(0x2B, 0x30, "001234")
    corrupt = good[:5] + b"9" + good[6:]
    items = make_parser("toledo").feed(b"\x55\xaa" + corrupt + good[:7] + good + good, ts=1.0)
    assert [_summary(i)[0] for i in items] == ["bad", "bad", "bad", 123.4, 123.4]
    assert [i.reason for i in items if isinstance(i, BadFrame)] == [
        "garbage between frames: b'U\\xaa'",
        "bad checksum",
        "no CR where the Toledo frame ends (check the format)",
    ]


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("ending", [b"\r\n", b"\n", b"\r"])
def test_frames_split_anywhere_with_noise_between(protocol: str, ending: bytes) -> None:
    """A byte at a time, garbage between frames: every frame still arrives once."""
    frames = [encode_frame(protocol, w, s) for w, s in [(0.0, True), (57.3, False), (-1.2, True)]]
    if protocol != "toledo":
        frames = [f.rstrip(b"\r\n") + ending for f in frames]
    stream = frames[0] + b"#~junk~#" + ending + frames[1] + frames[2]
    parser = make_parser(protocol)
    items = [item for byte in stream for item in parser.feed(bytes([byte]), ts=2.0)]
    readings = [i for i in items if isinstance(i, ScaleReading)]
    assert [(r.weight_kg, r.stable) for r in readings] == [(0.0, True), (57.3, False), (-1.2, True)]
    assert all(r.ts == 2.0 for r in readings)
    assert sum(isinstance(i, BadFrame) for i in items) == 1


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_endless_junk_is_dropped_not_kept(protocol: str) -> None:
    parser = make_parser(protocol)
    items = parser.feed(b"[" + b"7" * 500 if protocol == "trutest" else b"\x027" * 300, 0.0)
    assert items and all(isinstance(i, BadFrame) for i in items)
    *_, reading = parser.feed(encode_frame(protocol, 12.5, True), 0.0)  # resynced
    assert isinstance(reading, ScaleReading) and reading.weight_kg == 12.5


@pytest.mark.parametrize("data", [b"", b"\r\n", b"\r\n\r\n"])
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_nothing_in_nothing_out(protocol: str, data: bytes) -> None:
    assert make_parser(protocol).feed(data, ts=0.0) == []


def test_toledo_frame_checksum_makes_the_7_bit_sum_zero() -> None:
    frame = toledo_frame(412.5, stable=True)
    assert frame[4:17] == b"004125000000\r" and sum(frame) & 0x7F == 0


def test_cycle_is_deterministic_per_seed_and_goes_round() -> None:
    cycle = WeighingCycle(empty_s=1, loading_s=1, stable_s=1, unloading_s=1, total_kg=300)
    times = [i * 0.05 for i in range(100)]
    samples = [cycle.sample(t) for t in times]
    assert samples == [cycle.sample(t) for t in times]
    other = WeighingCycle(empty_s=1, loading_s=1, stable_s=1, unloading_s=1, total_kg=300, seed=1)
    assert [s.weight_kg for s in samples] != [other.sample(t).weight_kg for t in times]
    phases = [s.phase for s in samples]
    assert phases[0] == "empty" and phases[30] == "loading" and phases[50] == "stable"
    assert phases[70] == "unloading" and phases[90] == "empty"
    assert all(abs(s.weight_kg - 300) < 0.11 and s.stable for s in samples[41:60])
    assert all(abs(s.weight_kg) < 0.11 and s.stable for s in samples[:20])
    assert not any(s.stable for s in samples[21:40])


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("tcp://10.0.0.5:4001?protocol=modbus", "unknown protocol 'modbus'; add ?protocol= one of"),
        ("tcp://10.0.0.5:4001", "no protocol; add ?protocol= one of mtsics, toledo, ascii"),
        ("tcp://10.0.0.5?protocol=ascii", "give the converter's address and port"),
        ("tcp://10.0.0.5:4001?protocol=ascii&baud=9600", "set on the serial-to-Ethernet converter"),
        ("http://10.0.0.5/?protocol=ascii", "start it with serial://"),
        ("serial:///dev/ttyUSB0?protocol=ascii&baud=9601", "baud='9601': use the indicator's"),
        ("serial:///dev/ttyUSB0?protocol=ascii&framing=9X1", "framing='9X1': use e.g. 8N1"),
        ("serial:///dev/ttyUSB0?protocol=ascii&speed=9600", "unknown option speed; use protocol"),
        ("serial:///dev/ttyUSB0?protocol=toledo&checksum=maybe", "use checksum=on or"),
        ("serial:///dev/ttyUSB0?protocol=mtsics&poll_s=0", "poll_s='0': use seconds between"),
        ("serial://?protocol=ascii", "name the port, e.g. serial:///dev/ttyUSB0"),
    ],
)
def test_bad_scale_urls_say_what_to_fix(url: str, message: str) -> None:
    with pytest.raises(InvalidScaleUrl) as caught:
        parse_scale_url(url)
    assert message in str(caught.value) and url in str(caught.value)


def test_scale_urls() -> None:
    serial = parse_scale_url("serial:///dev/ttyUSB0?baud=4800&protocol=toledo&framing=7e1")
    assert (serial.device, serial.baud, serial.framing, serial.checksum) == (
        "/dev/ttyUSB0",
        4800,
        "7E1",
        True,
    )
    assert serial.where == "/dev/ttyUSB0 at 4800 7E1"
    assert parse_scale_url("serial://COM3?protocol=ascii").device == "COM3"
    tcp = parse_scale_url("tcp://192.168.1.50:4001?protocol=mtsics&mode=stream")
    assert (tcp.host, tcp.port, tcp.mode, tcp.where) == (
        "192.168.1.50",
        4001,
        "stream",
        "192.168.1.50:4001",
    )

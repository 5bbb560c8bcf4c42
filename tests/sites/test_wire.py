"""The wire format: what a site sends is what the central takes; anything else is refused
with a reason that names the field."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from pigweight.sites import wire

RECORD = wire.RecordBody(
    uuid="0b6c1f0e-8a55-4d0b-9d57-1c1f9a4a2b10",
    corrects_uuid=None,
    ts=1_780_000_000.5,
    created_ts=1_780_000_001.0,
    timezone="Europe/Moscow",
    local_time="2026-05-28T23:26:40+03:00",
    local_date="20260528",
    camera="cam1",
    count=30,
    count_source="auto",
    confidence=0.93,
    total_weight_kg=412.5,
    avg_weight_kg=13.75,
    note="загон 3",
    weight_source="scale",
    batch_uuid=None,
)
EVENT = "5f0d7a52-2d7e-4a7e-9f3c-6f1b2d1f4e11"


def _raw(**change: Any) -> bytes:
    data = json.loads(wire.encode(wire.Envelope("barn1", EVENT, RECORD)))
    for key, value in change.items():
        if key.startswith("body_"):
            data["body"][key.removeprefix("body_")] = value
        else:
            data[key] = value
    return json.dumps(data).encode()


@pytest.mark.parametrize(
    "body",
    [
        RECORD,
        wire.DeletionBody(RECORD.uuid, 1.0, "typo"),
        wire.ConfirmationBody(RECORD.uuid, 2.0),
        wire.BatchBody(RECORD.uuid, "Загон 3", "cam1", 40, None, "", 1.0, None, 3.0),
        wire.CameraBody("cam1", "running", 4.0),
        wire.CountsBody("cam1", [[1.0, 3, None], [11.0, 4, 4]]),
        wire.CountsBody("cam1", []),
    ],
)
def test_every_kind_goes_there_and_back(body: wire.Body) -> None:
    envelope = wire.Envelope("barn1", EVENT, body)
    assert wire.decode(wire.encode(envelope)) == envelope
    assert envelope.subject.startswith("pw.site.barn1.")


def test_subjects_per_kind() -> None:
    assert wire.subject_of("barn1", "deletion") == "pw.site.barn1.records"
    assert wire.subject_of("barn-2", "counts") == "pw.site.barn-2.counts"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\xff", "not JSON"),
        (b"[1]", "not a JSON object"),
        (_raw(v=2), "version 2"),
        (_raw(kind="drop_table"), "unknown kind"),
        (_raw(site="Barn1"), "site id"),
        (_raw(site="barn1.>"), "site id"),
        (_raw(event_id="42"), "event_id must be a UUID"),
        (_raw(extra=1), "unknown fields"),
        (_raw(body=[]), "body is not a JSON object"),
        (_raw(body_count="30"), "record.count"),
        (_raw(body_count=True), "record.count"),
        (_raw(body_count=2.5), "record.count"),
        (_raw(body_total_weight_kg=None), "record.total_weight_kg"),
        (_raw(body_uuid="not-a-uuid"), "record.uuid must be a UUID"),
        (_raw(body_note="x" * 2001), "record.note"),
        (_raw(body_note="a\x00b"), "record.note"),
        (_raw(body_hacked=1), "unknown fields ['hacked']"),
        (
            b'{"v":1,"kind":"record","site":"barn1","event_id":"'
            + EVENT.encode()
            + b'","body":{}}',
            "missing fields",
        ),
    ],
)
def test_bad_messages_are_refused_with_a_reason(data: bytes, reason: str) -> None:
    with pytest.raises(wire.WireError, match=reason.replace("[", r"\[").replace("]", r"\]")):
        wire.decode(data)


def test_nan_and_bad_points_are_refused() -> None:
    with pytest.raises(wire.WireError, match="total_weight_kg"):
        wire.encode(wire.Envelope("barn1", EVENT, replace(RECORD, total_weight_kg=float("nan"))))
    bad = wire.Envelope("barn1", EVENT, wire.CountsBody("cam1", [[1.0, 2]]))
    with pytest.raises(wire.WireError, match="each point"):
        wire.encode(bad)
    with pytest.raises(wire.WireError, match="at most"):
        wire.encode(wire.Envelope("barn1", EVENT, wire.CountsBody("c", [[1.0, 1, 1]] * 1001)))

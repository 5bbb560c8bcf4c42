"""What the central service does with one message of a site: checked, then written once.

`apply(conn, site, subject, data, now)` runs inside the caller's transaction. `site` is the
site whose stream the message came from (never what the message says): a message whose
subject or envelope names another site is refused, so a site can only ever write its own
rows. Every write is keyed by (site, the UUID made at the site): a message taken twice, or a
repeat of one, changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict
from enum import Enum
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite

from pigweight.sites import wire
from pigweight.store.db import (
    central_batches,
    central_cameras,
    central_counts,
    central_record_confirmations,
    central_record_deletions,
    central_records,
    central_sites,
)

logger = logging.getLogger(__name__)


class Outcome(Enum):
    TAKEN = "taken"  # written
    REPEAT = "repeat"  # already there: nothing changed
    REFUSED = "refused"  # not a message this stream may carry: never written


def check(site: str, subject: str, data: bytes) -> wire.Envelope:
    """The message, if it may come from this site's stream; WireError otherwise."""
    envelope = wire.decode(data)
    if envelope.site != site:
        raise wire.WireError(f"the stream of site {site} carries a message of site {envelope.site}")
    if subject != envelope.subject:
        raise wire.WireError(
            f"a {envelope.kind} message of site {site} on subject {subject!r}; "
            f"expected {envelope.subject!r}"
        )
    return envelope


def apply(
    conn: Connection, site: str, subject: str, data: bytes, now: float, *, heard: bool = True
) -> Outcome:
    """Write one message of `site`'s stream (the caller commits); `heard`: and note that the
    site was heard (False: the caller notes it once for its batch, `mark_heard`)."""
    (outcome,) = apply_many(conn, site, [(subject, data)], now)
    if heard and outcome is not Outcome.REFUSED:
        mark_heard(conn, site, now, int(outcome is Outcome.TAKEN))
    return outcome


def apply_many(
    conn: Connection, site: str, messages: Sequence[tuple[str, bytes]], now: float
) -> list[Outcome]:
    """Write a fetch of `site`'s messages (subject, data) in the caller's transaction: one
    statement a table, not one a message (the ingest's cost was the statements: ×1.2
    headroom at 50 sites). Outcomes as if they were written one after the other: of two
    messages with the same key the first is taken and the second a repeat; of two batch
    revisions or camera states, the newest counts."""
    plan = _Plan(site, now)
    outcomes: list[Outcome | None] = []
    for index, (subject, data) in enumerate(messages):
        try:
            envelope = check(site, subject, data)
        except wire.WireError as exc:
            logger.warning("central: refused a message from site %s: %s", site, exc)
            outcomes.append(Outcome.REFUSED)
            continue
        outcomes.append(None)
        plan.add(index, envelope.body)
    taken = plan.write(conn)
    return [
        o if o is not None else Outcome.TAKEN if i in taken else Outcome.REPEAT
        for i, o in enumerate(outcomes)
    ]


# A table's key columns: the rows a statement writes are told apart by them (RETURNING).
_KEYS: dict[str, tuple[str, ...]] = {
    "central_records": ("site", "uuid"),
    "central_record_deletions": ("site", "record_uuid"),
    "central_record_confirmations": ("site", "record_uuid"),
    "central_counts": ("site", "camera", "ts"),
    "central_batches": ("site", "uuid"),
    "central_cameras": ("site", "camera"),
}


class _Plan:
    """The rows of one fetch, by table and key: each key once, with the messages it stands
    for (the first one for an insert, the newest for an upsert)."""

    def __init__(self, site: str, now: float) -> None:
        self.site = site
        self.now = now
        self.rows: dict[Table, dict[tuple[Any, ...], tuple[int, dict[str, Any]]]] = {}

    def add(self, index: int, body: wire.Body) -> None:
        site = self.site
        if isinstance(body, wire.RecordBody):
            values: dict[str, Any] = {"site": site, **asdict(body), "received_ts": self.now}
            self._first(index, central_records, values)
        elif isinstance(body, wire.DeletionBody):
            self._first(index, central_record_deletions, {"site": site, **asdict(body)})
        elif isinstance(body, wire.ConfirmationBody):
            self._first(index, central_record_confirmations, {"site": site, **asdict(body)})
        elif isinstance(body, wire.BatchBody):
            self._newest(index, central_batches, {"site": site, **asdict(body)}, "changed_ts")
        elif isinstance(body, wire.CameraBody):
            values = {"site": site, "camera": body.camera, "state": body.state}
            self._newest(
                index, central_cameras, values | {"last_heard_ts": body.ts}, "last_heard_ts"
            )
        else:
            for ts, count, stable in body.points:
                values = {"site": site, "camera": body.camera, "ts": ts, "count": count}
                self._first(index, central_counts, values | {"stable_count": stable})

    def _first(self, index: int, table: Table, values: dict[str, Any]) -> None:
        self.rows.setdefault(table, {}).setdefault(_key(table, values), (index, values))

    def _newest(self, index: int, table: Table, values: dict[str, Any], newer: str) -> None:
        rows = self.rows.setdefault(table, {})
        key = _key(table, values)
        if key not in rows or rows[key][1][newer] < values[newer]:
            rows[key] = (index, values)

    def write(self, conn: Connection) -> set[int]:
        """The indexes of the messages that changed something."""
        taken: set[int] = set()
        for table, rows in self.rows.items():
            statement = _statement(conn, table)
            keys = [table.c[k] for k in _KEYS[table.name]]
            params = [values for _index, values in rows.values()]
            written = conn.execute(statement.returning(*keys), params).all()
            taken.update(rows[tuple(row)][0] for row in written)
        return taken


def _key(table: Table, values: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(values[k] for k in _KEYS[table.name])


def _insert(conn: Connection) -> Any:
    return postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert


def _statement(conn: Connection, table: Table) -> Any:
    """Insert unless the key is there; batches and cameras: the newer revision replaces."""
    statement = _insert(conn)(table)
    if table is central_batches:
        return statement.on_conflict_do_update(
            index_elements=["site", "uuid"],
            set_={
                c.name: statement.excluded[c.name]
                for c in table.c
                if c.name not in _KEYS[table.name]
            },
            where=central_batches.c.changed_ts < statement.excluded.changed_ts,
        )
    if table is central_cameras:
        return statement.on_conflict_do_update(
            index_elements=["site", "camera"],
            set_={c: statement.excluded[c] for c in ("state", "last_heard_ts")},
            where=central_cameras.c.last_heard_ts < statement.excluded.last_heard_ts,
        )
    return statement.on_conflict_do_nothing()


def mark_heard(conn: Connection, site: str, now: float, taken: int) -> None:
    """The site was heard now; `messages` counts those that changed something (`taken` more).
    One statement a batch: it was half of a message's cost when run for each."""
    statement = _insert(conn)(central_sites).values(
        site=site, first_heard_ts=now, last_heard_ts=now, messages=taken
    )
    statement = statement.on_conflict_do_update(
        index_elements=["site"],
        set_={
            "last_heard_ts": statement.excluded.last_heard_ts,
            "messages": central_sites.c.messages + taken,
        },
    )
    conn.execute(statement)

"""What the central service does with one message of a site: checked, then written once.

`apply(conn, site, subject, data, now)` runs inside the caller's transaction. `site` is the
site whose stream the message came from (never what the message says): a message whose
subject or envelope names another site is refused, so a site can only ever write its own
rows. Every write is keyed by (site, the UUID made at the site): a message taken twice, or a
repeat of one, changes nothing.
"""

from __future__ import annotations

import logging
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
    try:
        envelope = check(site, subject, data)
    except wire.WireError as exc:
        logger.warning("central: refused a message from site %s: %s", site, exc)
        return Outcome.REFUSED
    taken = _write(conn, site, envelope.body, now)
    if heard:
        mark_heard(conn, site, now, int(taken))
    return Outcome.TAKEN if taken else Outcome.REPEAT


def _write(conn: Connection, site: str, body: wire.Body, now: float) -> bool:
    if isinstance(body, wire.RecordBody):
        return _insert_new(
            conn, central_records, {"site": site, **asdict(body), "received_ts": now}
        )
    if isinstance(body, wire.DeletionBody):
        return _insert_new(conn, central_record_deletions, {"site": site, **asdict(body)})
    if isinstance(body, wire.ConfirmationBody):
        return _insert_new(conn, central_record_confirmations, {"site": site, **asdict(body)})
    if isinstance(body, wire.BatchBody):
        return _upsert_batch(conn, site, body)
    if isinstance(body, wire.CameraBody):
        return _upsert_camera(conn, site, body)
    return _insert_counts(conn, site, body)


def _insert(conn: Connection) -> Any:
    return postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert


def _insert_new(conn: Connection, table: Table, values: dict[str, Any]) -> bool:
    """Insert unless the row's key is there already; True: inserted."""
    statement = _insert(conn)(table).values(**values).on_conflict_do_nothing()
    return _changed(conn, statement, table)


def _upsert_batch(conn: Connection, site: str, body: wire.BatchBody) -> bool:
    """The newest revision wins (`changed_ts`); an older or the same one changes nothing."""
    values = {"site": site, **asdict(body)}
    statement = _insert(conn)(central_batches).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=["site", "uuid"],
        set_={k: statement.excluded[k] for k in values if k not in ("site", "uuid")},
        where=central_batches.c.changed_ts < statement.excluded.changed_ts,
    )
    return _changed(conn, statement, central_batches)


def _upsert_camera(conn: Connection, site: str, body: wire.CameraBody) -> bool:
    values = {"site": site, "camera": body.camera, "state": body.state, "last_heard_ts": body.ts}
    statement = _insert(conn)(central_cameras).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=["site", "camera"],
        set_={"state": statement.excluded.state, "last_heard_ts": statement.excluded.last_heard_ts},
        where=central_cameras.c.last_heard_ts < statement.excluded.last_heard_ts,
    )
    return _changed(conn, statement, central_cameras)


def _changed(conn: Connection, statement: Any, table: Table) -> bool:
    """Run an insert that may do nothing; True: a row was inserted or updated. (RETURNING,
    not rowcount: the drivers differ in what rowcount says of ON CONFLICT.)"""
    key = next(iter(table.primary_key.columns))
    return conn.execute(statement.returning(key)).first() is not None


def _insert_counts(conn: Connection, site: str, body: wire.CountsBody) -> bool:
    taken = False
    for ts, count, stable in body.points:
        values = {"site": site, "camera": body.camera, "ts": ts, "count": count}
        taken |= _insert_new(conn, central_counts, values | {"stable_count": stable})
    return taken


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

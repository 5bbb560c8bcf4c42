"""`pigweight sites resend`: a site's changes since a day, into its outbox again.

For the day a site's nats-server lost its store (a disk replaced) while the link was down:
what had gone into the local stream but not yet to the hub is gone with it. The records are
still in the site's database, so they are journalled again, as new events, and the running
PigWeight sends them: the central keeps one row a (site, UUID), so what it had already is a
repeat and changes nothing; a batch goes with its state now (the newest revision wins).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, select

from pigweight.sites.journal import SiteJournal
from pigweight.store.db import (
    batches,
    weight_record_confirmations,
    weight_record_deletions,
    weight_records,
)


@dataclass(frozen=True)
class Resent:
    records: int
    deletions: int
    confirmations: int
    batches: int


def resend(engine: Engine, journal: SiteJournal, since_ts: float) -> Resent:
    """Journal again, in one transaction, every record written, deleted or confirmed at or
    after `since_ts`, and every batch started or closed then (oldest first)."""
    r, b = weight_records.c, batches.c
    d, c = weight_record_deletions.c, weight_record_confirmations.c
    with engine.begin() as conn:
        records = conn.execute(select(r.id).where(r.created_ts >= since_ts).order_by(r.id))
        record_ids = list(records.scalars())
        deleted = list(conn.execute(select(d.record_id).where(d.ts >= since_ts)).scalars())
        confirmed = list(conn.execute(select(c.record_id).where(c.ts >= since_ts)).scalars())
        changed = select(b.id).where((b.started_ts >= since_ts) | (b.closed_ts >= since_ts))
        batch_ids = list(conn.execute(changed.order_by(b.id)).scalars())
        for batch_id in batch_ids:  # first: a record may name its batch
            journal.batch_changed(conn, batch_id)
        for record_id in record_ids:
            journal.record_written(conn, record_id)
        for record_id in sorted(confirmed):
            journal.record_confirmed(conn, record_id)
        for record_id in sorted(deleted):
            journal.record_deleted(conn, record_id)
    journal.committed()
    return Resent(len(record_ids), len(deleted), len(confirmed), len(batch_ids))

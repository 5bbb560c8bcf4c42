"""Journal: who is told of each change to the records and batches, inside its transaction.

A site (SITE_ID set) gives `RecordBook` one that writes the change into its outbox in the
same transaction (pigweight/sites/journal.py), so a change is either stored and queued for
the central service, or neither. Without one nothing is written anywhere else.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import Connection


class Journal(Protocol):
    """Called with the change's own connection, before its commit; raising rolls it back."""

    def record_written(self, conn: Connection, record_id: int) -> None:
        """A weighing was recorded, or a correction (a new row replacing another)."""

    def record_deleted(self, conn: Connection, record_id: int) -> None: ...

    def record_confirmed(self, conn: Connection, record_id: int) -> None: ...

    def batch_changed(self, conn: Connection, batch_id: int) -> None:
        """A batch was started, changed, closed or reopened."""

    def committed(self) -> None:
        """After the commit (any thread): what was queued may be sent now."""

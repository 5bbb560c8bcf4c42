"""Alembic's environment: the connection store/migrate.py hands over, the app's tables."""

from __future__ import annotations

from alembic import context

from pigweight.store.db import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run the migrations through pigweight.store.migrate, not the alembic CLI")

context.configure(
    connection=connection,
    target_metadata=metadata,
    # SQLite alters a table by copying it; Alembic's batch mode writes that copy.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()

"""The schema's migrations (Alembic), run in code each time the database is opened.

No alembic.ini is read at run time: the Config is built here. A database made before
Alembic (no `alembic_version` table) is brought up by the baseline revision, which adds the
tables, columns and indexes it lacks, and is stamped like any other.

A schema change: edit the table in store/db.py, then write its revision, e.g.
`python -m pigweight.store.migrate "label frames keep their source camera"`, which
autogenerates one against a scratch database at head for review (tests/store/test_migrations.py
fails while store/db.py and the revisions disagree).
"""

from __future__ import annotations

import logging
import sys
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, inspect, text

logger = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")

# Two servers (or a server and a CLI) starting together on one PostgreSQL database migrate one
# after the other: a transaction-scoped advisory lock, keyed by this number.
_PG_LOCK_KEY = 0x70696777  # "pigw"


def config(connection: Connection | None = None) -> Config:
    """Alembic's Config for PigWeight's migrations; `connection`: the one they run on."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


@cache
def _scripts() -> ScriptDirectory:
    """The revisions, read once a process (each open of a test's database would re-read them)."""
    return ScriptDirectory.from_config(config())


def head() -> str:
    """The newest revision."""
    found = _scripts().get_current_head()
    assert found is not None, "no migration in store/migrations/versions"
    return found


def current(conn: Connection) -> str | None:
    """The revision the database is at; None: none (empty, or made before Alembic)."""
    return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine) -> None:
    """Bring the database's schema to head (nothing to do, the usual case, costs one query)."""
    with engine.connect() as conn:
        if current(conn) == head():
            return
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
        before = current(conn)
        if before is None and inspect(conn).get_table_names():
            logger.info("database: made before migrations existed; bringing it up to date")
        _to_head(conn)
    logger.info("database: schema upgraded from %s to %s", before or "nothing", head())


def _to_head(conn: Connection) -> None:
    """What `alembic upgrade head` does, with the revisions read once."""
    scripts = _scripts()

    def steps(revision: Any, _context: MigrationContext) -> Any:
        return scripts._upgrade_revs("head", revision)

    with EnvironmentContext(config(conn), scripts, fn=steps, destination_rev="head"):
        scripts.run_env()


def _revision(message: str) -> None:
    """Autogenerate a revision: store/db.py against a scratch SQLite database at head."""
    with tempfile.TemporaryDirectory() as scratch:
        engine = create_engine(f"sqlite:///{Path(scratch) / 'head.sqlite3'}")
        upgrade(engine)
        with engine.begin() as conn:
            command.revision(config(conn), message=message, autogenerate=True)
        engine.dispose()


if __name__ == "__main__":
    _revision(" ".join(sys.argv[1:]) or "describe the change")

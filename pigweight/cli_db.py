"""`pigweight db copy`: the farm's database into a new PostgreSQL one (from one PC to many).

    pigweight db copy --to postgresql://pigweight:PASSWORD@db.farm.lan/pigweight
    pigweight db copy --to-env NEW_DATABASE_URL      # the URL (and its password) from the env

The source is the database the settings name (DATA_DIR's SQLite file, or DATABASE_URL). The
target must be empty: its schema is made here at the newest revision. Stop `pigweight serve`
first (what it records during the copy would not be in the target), then set DATABASE_URL
to the target and start it again. The CSV files, snapshots and models stay in DATA_DIR.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

from pigweight.cli import CliError
from pigweight.errors import DatabaseUnavailable
from pigweight.settings import load_settings


def add_parser(sub: Any) -> None:
    db = sub.add_parser("db", help="the database: copy it into PostgreSQL")
    actions = db.add_subparsers(dest="action", required=True, metavar="ACTION")
    copy = actions.add_parser(
        "copy", help="copy every record, batch, user, index and model into an empty database"
    )
    target = copy.add_mutually_exclusive_group(required=True)
    target.add_argument("--to", metavar="URL", help="the target, e.g. postgresql://user:pw@host/db")
    target.add_argument(
        "--to-env", metavar="NAME", help="an environment variable that holds the target's URL"
    )
    db.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pigweight.store.copy import copy_database
    from pigweight.store.db import open_database

    url = _target(args)
    settings = load_settings()
    source = open_database(settings.server.data_dir, settings.server.database_url)
    try:
        try:
            target = open_database(settings.server.data_dir, url)
        except DatabaseUnavailable as error:  # its message names the URL with "***"
            raise DatabaseUnavailable(str(error).replace("DATABASE_URL:", "--to:", 1)) from None
        try:
            shown = target.url.render_as_string(hide_password=True)
            print(f"copying {source.url.render_as_string(hide_password=True)} -> {shown}")
            started = time.monotonic()
            copied = copy_database(source, target, _progress)
        finally:
            target.dispose()
    finally:
        source.dispose()
    rows = sum(c.rows for c in copied)
    print(f"copied {rows} rows of {len(copied)} tables in {time.monotonic() - started:.1f} s;")
    print(f"now set DATABASE_URL to {shown} (with its password) and start pigweight serve")
    return 0


def _target(args: argparse.Namespace) -> str:
    if args.to is not None:
        url = str(args.to)
    else:
        url = os.environ.get(args.to_env, "")
        if not url.strip():
            raise CliError(f"--to-env: the environment variable {args.to_env} is empty")
    if not url.strip():
        raise CliError("--to: give the target database's URL")
    return url.strip()


def _progress(table: str, done: int, total: int) -> None:
    end = "\n" if done >= total else "\r"
    print(f"  {table}: {done}/{total} rows", end=end, file=sys.stderr, flush=True)

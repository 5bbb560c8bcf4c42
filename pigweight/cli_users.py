"""`pigweight users …`: who may use the service, from the shell of the machine it runs on.

    pigweight users add anna --role admin        (asks for the password twice)
    pigweight users add erp --role viewer --password-stdin < secret.txt
    pigweight users list | passwd NAME | role NAME ROLE | remove NAME
    pigweight users token NAME [--label TEXT]    (prints a new API token, once)
    pigweight users tokens | revoke ID

Passwords are never taken from the command line (other users of the machine could read it
in the process list). A running server notices a new first user within 5 s and a revoked
token or removed user within 30 s.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from datetime import datetime
from typing import Any

from pigweight.auth.users import ROLES, UserBook, UserError
from pigweight.settings import load_settings
from pigweight.store.db import open_database


def add_parser(sub: Any) -> None:
    users = sub.add_parser("users", help="manage the users who may log in, and API tokens")
    actions = users.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="add a user (asks for the password)")
    add.add_argument("name")
    add.add_argument("--role", choices=ROLES, required=True)
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    actions.add_parser("list", help="list the users and their roles")
    passwd = actions.add_parser("passwd", help="set a user's password (ends their sessions)")
    passwd.add_argument("name")
    passwd.add_argument("--password-stdin", action="store_true")
    role = actions.add_parser("role", help="change a user's role")
    role.add_argument("name")
    role.add_argument("role", choices=ROLES)
    remove = actions.add_parser("remove", help="remove a user, their sessions and tokens")
    remove.add_argument("name")
    token = actions.add_parser("token", help="issue an API token for a user (shown once)")
    token.add_argument("name")
    token.add_argument("--label", default="", help="what it is for, e.g. 'erp sync'")
    actions.add_parser("tokens", help="list API tokens (not their secrets)")
    revoke = actions.add_parser("revoke", help="revoke an API token by its id")
    revoke.add_argument("id", type=int)
    users.set_defaults(func=run)


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise UserError("no terminal to ask for the password: use --password-stdin")
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Again: "):
        raise UserError("the two passwords differ; nothing was changed")
    return first


def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    engine = open_database(settings.server.data_dir, settings.server.database_url)
    try:
        book = UserBook(engine)
        return _do(book, args)
    finally:
        engine.dispose()


def _when(ts: float | None) -> str:
    return "" if ts is None else datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M")


def _do(book: UserBook, args: argparse.Namespace) -> int:
    if args.action == "add":
        user = book.add(args.name, args.role, _password(args))
        print(f"user {user.name} added as {user.role}")
    elif args.action == "list":
        found = book.all()
        for user in found:
            print(f"{user.name}\t{user.role}")
        if not found:
            print("no users: the service is open to whoever reaches it (127.0.0.1 only)")
    elif args.action == "passwd":
        book.set_password(args.name, _password(args))
        print(f"password of {args.name} changed; their sessions ended")
    elif args.action == "role":
        print(f"{args.name} is now {book.set_role(args.name, args.role).role}")
    elif args.action == "remove":
        book.remove(args.name)
        print(f"user {args.name} removed")
    elif args.action == "token":
        info, token = book.add_token(args.name, args.label)
        print(token)
        print(
            f"token {info.id} for {info.user}: send it as 'Authorization: Bearer <token>'; "
            "it is not shown again",
            file=sys.stderr,
        )
    elif args.action == "tokens":
        for t in book.tokens():
            state = f"revoked {_when(t.revoked_ts)}" if t.revoked_ts else "active"
            print(f"{t.id}\t{t.user}\t{t.label}\t{_when(t.created_ts)}\t{state}")
    elif args.action == "revoke":
        book.revoke_token(args.id)
        print(f"token {args.id} revoked")
    return 0

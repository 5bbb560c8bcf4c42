"""`pigweight models …`: the farm's models of each camera, from the shell.

    pigweight models list [--camera ID]        (every camera's models, figures, the active one)
    pigweight models activate CAMERA MODEL_ID  (only a model measured no worse than the active)
    pigweight models rollback CAMERA           (back to the model that counted before)

The same rules as the page (teaching/models.py). A running server picks a change up within
5 s, from the camera's next frame on.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from datetime import datetime
from typing import Any

from pigweight.errors import PigWeightError
from pigweight.settings import load_settings
from pigweight.store.db import open_database
from pigweight.teaching.models import ModelBook


def add_parser(sub: Any) -> None:
    models = sub.add_parser("models", help="list, activate or roll back a camera's models")
    actions = models.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="each camera's models and the active one")
    listing.add_argument("--camera", help="only this camera")
    activate = actions.add_parser("activate", help="count with this model on the camera")
    activate.add_argument("camera")
    activate.add_argument("model_id")
    rollback = actions.add_parser("rollback", help="back to the model that counted before")
    rollback.add_argument("camera")
    models.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    engine = open_database(settings.server.data_dir, settings.server.database_url)
    book = ModelBook(settings.server.data_dir)
    book.start(engine)
    user = f"{getpass.getuser()} (cli)"
    try:
        if args.action == "activate":
            book.activate(args.camera, args.model_id, user)
            print(f"camera {args.camera} counts with {args.model_id} now")
        elif args.action == "rollback":
            target = book.rollback(args.camera, user)
            print(f"camera {args.camera} counts with {target} now")
        else:
            _list(book, args.camera)
    except PigWeightError as exc:
        print(f"pigweight models: {exc}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    return 0


def _list(book: ModelBook, only: str | None) -> None:
    cameras = sorted(book.cameras() | ({only} if only else set()))
    if only:
        cameras = [only]
    if not cameras:
        print("no camera has a model of its own yet: every camera counts with the shipped model")
        return
    for camera in cameras:
        active = book.active(camera)
        print(f"camera {camera}: counts with {active}")
        if camera in book.problems:
            print(f"  ! {book.problems[camera]}")
        for card in book.cards(camera):
            mark = "*" if card["id"] == active else " "
            figures = card.get("evaluation") or {}
            measured = (
                f"MAE {figures['mae']:.2f} (vs {figures['against']} {figures['against_mae']:.2f}), "
                f"exact {figures['exact']:.0%} on {figures['frames']} held-out frames"
                if figures
                else "not measured"
            )
            when = (
                datetime.fromtimestamp(card["created_ts"]).strftime("%Y-%m-%d %H:%M")
                if card.get("created_ts")
                else ""
            )
            print(f" {mark} {card['id']:<32} {card['origin']:<9} {when:<16} {measured}")

"""The farm's models: every one kept with its card, and which one counts on each camera.

A model is DATA_DIR/models/<id>/<id>.onnx with card.json beside it (where it came from,
the frames it learnt from, its figures on the camera's held-out frames against the model it
was compared with). "shipped" is the model in the package (or the camera's configured one).
Which model counts on a camera is an append-only table: activating is a row, rolling back is
a row naming the model before; nothing is deleted, so a rollback is always one click.

A model may be activated only when it was compared with the camera's active model on the
camera's held-out frames and counts no worse (count MAE).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, select

from pigweight.durable import replace_file
from pigweight.errors import ModelLoadError, PigWeightError, Refusal
from pigweight.store.db import camera_models

logger = logging.getLogger(__name__)

SHIPPED = "shipped"
MODEL_DIR = "models"
MAX_MODEL_BYTES = 200 * 1024 * 1024
RELOAD_S = 5.0


class ModelNotFound(PigWeightError):
    code = "model_not_found"


class ModelRejected(Refusal):
    """An imported file is not a pig model PigWeight can run (422)."""


class ActivationRefused(Refusal):
    """A model the camera cannot switch to now (another camera's, unreadable, none before)."""


@dataclass(frozen=True, slots=True)
class Switch:
    model_id: str
    ts: float
    user: str
    action: str


def check_model_file(path: Path) -> dict[int, str]:
    """The classes of a pig model PigWeight can run; ModelRejected says why not."""
    from pigweight.vision.yolo_model import open_session, read_model_info

    try:
        session = open_session(path, 1, False)
        info = read_model_info(session, path)
    except ModelLoadError as exc:
        why = _without_path(exc, path)
        raise ModelRejected(
            f"not a model PigWeight can run: {why}", "model_unreadable", why=why
        ) from None
    names = {int(k): str(v) for k, v in info.names.items()}
    if len(names) != 1 and "pig" not in (n.lower() for n in names.values()):
        listing = ", ".join(f"{k}: {v}" for k, v in sorted(names.items())[:8])
        raise ModelRejected(
            f"the model has {len(names)} classes ({listing}{'…' if len(names) > 8 else ''}) "
            "and none is named 'pig': export a one-class pig detector",
            "model_classes",
            classes=len(names),
        )
    if info.task != "detect" and info.task != "segment":
        raise ModelRejected(f"task {info.task}: a detector is needed", "model_unreadable")
    return names


def _without_path(exc: Exception, path: Path) -> str:
    """A loader's message about a model file, without the server's path to it."""
    text = str(exc)
    for shown in (f"MODEL_PATH={path}: ", f"{path}: ", str(path)):
        text = text.replace(shown, "")
    return text


class ModelBook:
    """Model files, their cards, and the active model of each camera (thread-safe)."""

    def __init__(self, data_dir: Path, clock: Callable[[], float] = time.time) -> None:
        self.root = Path(data_dir) / MODEL_DIR
        self._clock = clock
        self._engine: Engine | None = None
        self._active: dict[str, str] = {}
        self._chosen: dict[str, str] = {}  # as the table says, before any fallback
        self._loaded_at = 0.0
        self.problems: dict[str, str] = {}  # camera -> why its chosen model is not counting
        self._lock = threading.Lock()
        # Called with a model file before a camera switches to it (loads and warms it, so the
        # camera's next frame is not the one that waits); set by the camera manager's owner.
        self.prepare: Callable[[Path], None] = lambda _path: None

    def start(self, engine: Engine) -> None:
        self._engine = engine
        self._reload()

    def _reload(self) -> None:
        """Which model each camera counts with, from the table (a change made by the CLI
        reaches a running server here, within RELOAD_S)."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(camera_models).order_by(camera_models.c.id)).all()
        active: dict[str, str] = {}
        for row in rows:
            active[row.camera] = row.model_id
        self._loaded_at = time.monotonic()
        if active == self._chosen:
            return
        self._chosen = dict(active)
        self._active = active
        for camera, model_id in list(self._active.items()):
            if model_id == SHIPPED:
                continue
            try:
                check_model_file(self.path(model_id))
            except ModelRejected as exc:
                self.problems[camera] = (
                    f"model {model_id} cannot be loaded ({exc}); the camera counts with the "
                    "shipped model until another is activated"
                )
                logger.error("models: camera %s: %s", camera, self.problems[camera])
                self._active[camera] = SHIPPED

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            raise RuntimeError("ModelBook used before start()")
        return self._engine

    # --- files and cards ----------------------------------------------------------------------

    def new_id(self, camera: str) -> str:
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(self._clock()))
        model_id, n = f"{camera}-{stamp}", 1
        while (self.root / model_id).exists():
            n += 1
            model_id = f"{camera}-{stamp}-{n}"
        return model_id

    def path(self, model_id: str) -> Path:
        return self.root / _checked(model_id) / f"{model_id}.onnx"

    def card(self, model_id: str) -> dict[str, Any]:
        if model_id == SHIPPED:
            return {
                "id": SHIPPED,
                "name": "shipped",
                "origin": "shipped",
                "created_ts": None,
                "base": None,
                "camera": None,
                "frames": None,
                "evaluation": None,
            }
        path = self.root / _checked(model_id) / "card.json"
        try:
            card: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise ModelNotFound(f"no model {model_id!r}") from None
        return card

    def write_card(self, model_id: str, card: dict[str, Any]) -> None:
        folder = self.root / _checked(model_id)
        folder.mkdir(parents=True, exist_ok=True)
        replace_file(folder / "card.json", json.dumps(card, indent=1, sort_keys=True).encode())

    def comparison(self, model_id: str) -> dict[str, Any]:
        path = self.root / _checked(model_id) / "comparison.json"
        try:
            data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise ModelNotFound(f"model {model_id!r} has not been compared") from None
        return data

    def write_comparison(self, model_id: str, result: dict[str, Any]) -> None:
        path = self.root / _checked(model_id) / "comparison.json"
        replace_file(path, json.dumps(result).encode())

    def cards(self, camera: str) -> list[dict[str, Any]]:
        """The camera's models, newest first, and the shipped one last."""
        out = []
        if self.root.is_dir():
            for folder in self.root.iterdir():
                if not (folder / "card.json").is_file():
                    continue
                try:
                    card = self.card(folder.name)
                except ModelNotFound:
                    continue
                if card.get("camera") == camera:
                    out.append(card)
        out.sort(key=lambda c: -(c.get("created_ts") or 0))
        return [*out, self.card(SHIPPED)]

    def store_checked(self, model_id: str, data: bytes) -> dict[int, str]:
        """Write `data` as model `model_id`'s file, in a folder of its own, and check it (its
        class names); a file that fails the checks leaves nothing behind (ModelRejected)."""
        folder = self.root / model_id
        folder.mkdir(parents=True)
        path = self.path(model_id)
        replace_file(path, data)
        try:
            return check_model_file(path)
        except ModelRejected:
            for leftover in folder.iterdir():
                leftover.unlink()
            folder.rmdir()
            raise

    def add_file(
        self, camera: str, data: bytes, name: str, user: str
    ) -> tuple[str, dict[str, Any]]:
        """Keep an uploaded .onnx once it passed the checks; returns (id, card)."""
        if len(data) > MAX_MODEL_BYTES:
            raise ModelRejected(
                f"the file has {len(data) / 1e6:.0f} MB; a model of at most "
                f"{MAX_MODEL_BYTES / 1e6:.0f} MB",
                "model_unreadable",
            )
        model_id = self.new_id(camera)
        names = self.store_checked(model_id, data)
        card = {
            "id": model_id,
            "name": Path(name).name[:120] or model_id,
            "origin": "imported",
            "created_ts": self._clock(),
            "camera": camera,
            "base": None,
            "frames": None,
            "evaluation": None,
            "classes": names,
            "sha256": hashlib.sha256(data).hexdigest(),
            "bytes": len(data),
            "user": user,
        }
        self.write_card(model_id, card)
        logger.info("models: %s imported for camera %s by %s", model_id, camera, user)
        return model_id, card

    # --- which model counts -------------------------------------------------------------------

    def active(self, camera: str) -> str:
        return self._active.get(camera, SHIPPED)

    def cameras(self) -> set[str]:
        """Cameras that have had a model of their own, or have one waiting."""
        found = set(self._chosen)
        if self.root.is_dir():
            for card in self.root.glob("*/card.json"):
                try:
                    found.add(str(json.loads(card.read_text(encoding="utf-8"))["camera"]))
                except (OSError, ValueError, KeyError):
                    continue
        return found

    def active_path(self, camera: str) -> Path | None:
        """The file of the camera's active model; None: the shipped (or configured) one.
        Asked on every frame; the table is read again every RELOAD_S."""
        if self._engine is not None and time.monotonic() - self._loaded_at > RELOAD_S:
            self._loaded_at = time.monotonic()
            try:
                self._reload()
            except Exception:  # a busy database: the last known choice stands
                logger.exception("models: could not read which model each camera counts with")
        model_id = self._active.get(camera, SHIPPED)
        return None if model_id == SHIPPED else self.path(model_id)

    def history(self, camera: str) -> list[Switch]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(camera_models)
                .where(camera_models.c.camera == camera)
                .order_by(camera_models.c.id.desc())
            ).all()
        return [Switch(r.model_id, r.ts, r.user, r.action) for r in rows]

    def why_not(self, camera: str, card: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        """(code, params) of why `card` may not be activated on `camera` now, or None."""
        if card["id"] == self.active(camera):
            return "model_active", {}
        if card["id"] == SHIPPED:
            return None  # going back to the shipped model is always allowed
        evaluation = card.get("evaluation")
        if not evaluation:
            return "not_evaluated", {}
        if evaluation.get("against") != self.active(camera):
            return "compared_with_other", {
                "against": evaluation.get("against"),
                "active": self.active(camera),
            }
        if evaluation["mae"] > evaluation["against_mae"]:
            return "model_worse", {
                "mae": evaluation["mae"],
                "current_mae": evaluation["against_mae"],
            }
        return None

    def activate(self, camera: str, model_id: str, user: str) -> None:
        card = self.card(model_id)
        if card.get("camera") not in (None, camera):
            raise ActivationRefused(
                f"model {model_id} was made for camera {card.get('camera')}, not {camera}",
                "other_camera",
                camera=card.get("camera"),
            )
        refusal = self.why_not(camera, card)
        if refusal is not None:
            code, params = refusal
            raise ActivationRefused(_REFUSALS[code].format(**params, id=model_id), code, **params)
        self._switch(camera, model_id, user, "activate")

    def adopt(self, camera: str, model_id: str, user: str) -> None:
        """Switch to a model the central sent (sites/models.py checked its file): the
        central's admin chose it, so no comparison on this camera's frames is asked for."""
        if model_id != self.active(camera):
            self._switch(camera, model_id, user, "activate")

    def rollback(self, camera: str, user: str) -> str:
        """Go back to the model that counted before the active one; returns its id."""
        active = self.active(camera)
        for switch in self.history(camera):
            if switch.model_id != active:
                break
        else:
            if active == SHIPPED:
                raise ActivationRefused(
                    "the camera counts with the shipped model and has never had another: "
                    "nothing to roll back to",
                    "no_previous",
                )
            switch = Switch(SHIPPED, 0.0, "", "activate")
        # The model before the active one: the newest switch to another model that is still
        # on disk, walking back through the camera's history.
        target = switch.model_id
        if target != SHIPPED and not self.path(target).is_file():
            target = SHIPPED
        self._switch(camera, target, user, "rollback")
        return target

    def _switch(self, camera: str, model_id: str, user: str, action: str) -> None:
        path = None if model_id == SHIPPED else self.path(model_id)
        if path is not None:
            if not path.is_file():
                raise ModelNotFound(f"model {model_id}: its file is missing")
            try:
                self.prepare(path)  # loads it: a corrupted file is refused here, not counted with
            except ModelLoadError as exc:
                why = _without_path(exc, path)
                raise ActivationRefused(
                    f"model {model_id} cannot be loaded ({why}); the camera keeps its model",
                    "model_unreadable",
                    why=why,
                ) from None
        with self._lock:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(camera_models).values(
                        camera=camera, model_id=model_id, ts=self._clock(), user=user, action=action
                    )
                )
            self._active[camera] = model_id
            self._chosen[camera] = model_id
            self.problems.pop(camera, None)
        logger.info(
            "models: camera %s counts with %s now (%s by %s)", camera, model_id, action, user
        )


MODEL_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")


def _checked(model_id: str) -> str:
    """A model id as this book makes them (the camera's id and a time): never a path."""
    if not MODEL_ID.fullmatch(model_id):
        raise ModelNotFound(f"no model {model_id[:80]!r}")
    return model_id


_REFUSALS = {
    "model_active": "model {id} already counts on this camera",
    "not_evaluated": "model {id} has not been measured on this camera's held-out frames yet",
    "compared_with_other": (
        "model {id} was compared with {against}, but the camera now counts with {active}: "
        "compare it again"
    ),
    "model_worse": (
        "model {id} counts worse than the active one on the held-out frames "
        "(count error {mae} against {current_mae}); the camera keeps its model"
    ),
}

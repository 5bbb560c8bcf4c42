"""Each camera's platform zone: the cameras file's, overridden by one set from the page.

A zone drawn on the page is kept in `DATA_DIR/zones.json` ({camera_id: [[x, y], ...]}),
replaced whole on every change, so it survives a restart and a power cut. Camera workers
ask for their zone on every frame: a change applies to the next frame without a restart.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pigweight.cameras import CameraConfig
from pigweight.durable import replace_file
from pigweight.errors import PigWeightError
from pigweight.vision.zone import Zone, parse_zone_json

logger = logging.getLogger(__name__)

ZONES_FILE = "zones.json"
ZoneSource = Literal["page", "file"]


class InvalidZone(PigWeightError):
    """A zone sent by a client is not a usable polygon; the message says what to fix."""

    code = "invalid_zone"


def zone_from_text(text: str) -> Zone | None:
    """A zone from JSON text (a form field, a CLI argument); `null` is no zone."""
    try:
        value = json.loads(text)
    except ValueError:
        raise InvalidZone(
            "zone: not valid JSON; write the polygon as [[x, y], ...] in 0-1, e.g. "
            "[[0.1, 0.1], [0.9, 0.1], [0.9, 0.9], [0.1, 0.9]]"
        ) from None
    return zone_from_value(value)


def zone_from_value(value: Any) -> Zone | None:
    """A zone from decoded JSON; raises InvalidZone naming the bad point."""
    try:
        return parse_zone_json(value)
    except ValueError as exc:
        raise InvalidZone(str(exc)) from None


class ZoneBook:
    """The effective zone of every camera; thread-safe (workers read, the API writes)."""

    def __init__(self, data_dir: Path, cameras: Mapping[str, CameraConfig]) -> None:
        self._path = Path(data_dir) / ZONES_FILE
        self._file = {cid: Zone.of(c.zone) for cid, c in cameras.items()}
        self._lock = threading.Lock()
        self._page: dict[str, Zone] = self._read()

    def _read(self) -> dict[str, Zone]:
        """Page zones from disk; a damaged file or entry is logged and skipped, not fatal:
        counting with the cameras file's zone beats not starting at all."""
        try:
            raw = json.loads(self._path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            logger.warning("%s is unreadable, page zones ignored: %s", self._path, exc)
            return {}
        if not isinstance(raw, dict):
            logger.warning("%s is not a mapping of camera ids, ignored", self._path)
            return {}
        zones: dict[str, Zone] = {}
        for camera_id, points in raw.items():
            try:
                zone = parse_zone_json(points)
            except ValueError as exc:
                logger.warning("%s: camera %s: %s; ignored", self._path, camera_id, exc)
                continue
            if zone is not None:
                zones[str(camera_id)] = zone
        return zones

    def zone(self, camera_id: str) -> Zone | None:
        """The zone counting uses now: the page's, else the cameras file's, else None."""
        with self._lock:
            page = self._page.get(camera_id)
        return page if page is not None else self._file.get(camera_id)

    def source(self, camera_id: str) -> ZoneSource | None:
        """Where the effective zone comes from."""
        with self._lock:
            if camera_id in self._page:
                return "page"
        return "file" if self._file.get(camera_id) is not None else None

    def set(self, camera_id: str, zone: Zone | None) -> None:
        """Keep (or, with None, drop) the page's zone of a camera; blocking: the disk."""
        with self._lock:
            page = dict(self._page)
            if zone is None:
                page.pop(camera_id, None)
            else:
                page[camera_id] = zone
            # One camera a line: easy to read, diff and fix by hand.
            lines = [
                f"  {json.dumps(cid)}: {json.dumps(z.to_json())}" for cid, z in sorted(page.items())
            ]
            text = "{\n" + ",\n".join(lines) + "\n}\n" if lines else "{}\n"
            self._path.parent.mkdir(parents=True, exist_ok=True)
            replace_file(self._path, text.encode("utf-8"))
            self._page = page  # only once it is on disk: what the API says is what stays

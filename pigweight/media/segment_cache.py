"""A bounded disk cache of files made on demand (HLS segments): least recently used go first.

`get(key, make)` returns the cached file, or calls `make(path)` to write it, once even when
several requests ask at the same moment. The total size stays under `max_bytes`: after each
new file, the least recently used ones are removed. Safe from any thread.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

logger = logging.getLogger(__name__)


class SegmentCache:
    """Files under `root`, named by key, at most `max_bytes` in all."""

    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = Path(root)
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._making: dict[str, threading.Lock] = {}
        self._sizes: OrderedDict[str, int] = OrderedDict()  # key -> bytes, oldest use first
        self._total = 0
        self._scan()

    @property
    def total_bytes(self) -> int:
        return self._total

    def get(self, key: str, make: Callable[[Path], None]) -> Path:
        """The file for key, made by make(path) if it is not cached (blocking)."""
        path = self.root / key
        with self._lock:
            if key in self._sizes and path.is_file():
                self._sizes.move_to_end(key)
                return path
            maker = self._making.setdefault(key, threading.Lock())
        with maker:  # one request makes it; the others wait and then find it
            with self._lock:
                if key in self._sizes and path.is_file():
                    self._sizes.move_to_end(key)
                    return path
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                make(path)
                size = path.stat().st_size
            finally:
                with self._lock:
                    self._making.pop(key, None)  # a failed make leaves nothing behind
            with self._lock:
                self._total += size - self._sizes.pop(key, 0)
                self._sizes[key] = size
                self._evict(keep=key)
        return path

    def drop_prefix(self, prefix: str) -> None:
        """Forget and delete every file whose key starts with prefix (a removed video)."""
        with self._lock:
            for key in [k for k in self._sizes if k.startswith(prefix)]:
                self._remove(key)

    def _evict(self, keep: str) -> None:
        while self._total > self.max_bytes and len(self._sizes) > 1:
            oldest = next(iter(self._sizes))
            if oldest == keep:
                break
            self._remove(oldest)

    def _remove(self, key: str) -> None:
        self._total -= self._sizes.pop(key, 0)
        try:
            (self.root / key).unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            logger.warning("segment cache: %s not removed: %s", key, exc)

    def _scan(self) -> None:
        """Adopt what an earlier run left, oldest access first; drop half-written temps."""
        if not self.root.is_dir():
            return
        found: list[tuple[float, str, int]] = []
        for dirpath, _dirs, files in os.walk(self.root):
            for name in files:
                path = Path(dirpath) / name
                if name.endswith(".tmp"):
                    path.unlink(missing_ok=True)
                    continue
                stat = path.stat()
                found.append((stat.st_atime, str(path.relative_to(self.root)), stat.st_size))
        for _atime, key, size in sorted(found):
            self._sizes[key] = size
            self._total += size
        with self._lock:
            self._evict(keep="")

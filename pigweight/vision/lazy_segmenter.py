"""The segmenter of a camera or of the app, built once on first use (a model file takes
seconds to load) and shared by every thread that counts with it."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import numpy as np

from pigweight.errors import ModelLoadError
from pigweight.settings import VisionSettings
from pigweight.vision.segmenter import Segmenter

logger = logging.getLogger(__name__)

SegmenterFactory = Callable[[VisionSettings], Segmenter]
_WARM_UP_SHAPE = (480, 640, 3)


class LazySegmenter:
    """Builds the segmenter once, on first use or at startup; safe to call from any thread."""

    def __init__(self, vision: VisionSettings, factory: SegmenterFactory) -> None:
        self._vision = vision
        self._factory = factory
        self._segmenter: Segmenter | None = None
        self._lock = threading.Lock()

    @property
    def ready(self) -> bool:
        """True once the segmenter is loaded."""
        return self._segmenter is not None

    @property
    def name(self) -> str:
        """The loaded segmenter's name, or the configured one before loading."""
        return self._segmenter.name if self._segmenter else self._vision.segmenter

    def get(self) -> Segmenter:
        """The segmenter, loading it if needed; raises ModelLoadError (and retries next call)."""
        segmenter = self._segmenter
        if segmenter is not None:
            return segmenter
        with self._lock:
            if self._segmenter is None:
                self._segmenter = self._load()
            return self._segmenter

    def warm_up(self) -> None:
        """Load the segmenter and run one inference so the first photo is not the slow one."""
        started = time.perf_counter()
        self.get().segment(np.zeros(_WARM_UP_SHAPE, np.uint8))
        logger.info("segmenter %s warmed up in %.2f s", self.name, time.perf_counter() - started)

    def _load(self) -> Segmenter:
        started = time.perf_counter()
        try:
            segmenter = self._factory(self._vision)
        except ImportError as exc:
            # A backend whose runtime is not installed is a deployment problem to fix, not a bug.
            raise ModelLoadError(
                f"segmenter {self._vision.segmenter!r} cannot be loaded here ({exc}); "
                "install its dependencies or set SEGMENTER=classic"
            ) from None
        logger.info("segmenter %s loaded in %.2f s", segmenter.name, time.perf_counter() - started)
        return segmenter

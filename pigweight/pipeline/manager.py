"""CameraManager: every configured camera's worker, and the segmenters they share."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from pigweight.cameras import CameraConfig
from pigweight.errors import ModelLoadError
from pigweight.pipeline.camera_worker import (
    CameraStatus,
    CameraWorker,
    SourceFactory,
    with_conf,
)
from pigweight.pipeline.hub import Hub
from pigweight.settings import Settings, VisionSettings
from pigweight.store.writer import CountStore
from pigweight.vision.lazy_segmenter import LazySegmenter
from pigweight.vision.segmenter import Segmenter
from pigweight.vision.zone import Zone
from pigweight.zones import ZoneBook

logger = logging.getLogger(__name__)


HolderFactory = Callable[[VisionSettings], LazySegmenter]


class UnknownCamera(KeyError):
    """No camera has this id."""


class CameraManager:
    """Owns the workers; cameras with the same segmenter settings share one segmenter."""

    def __init__(
        self,
        settings: Settings,
        cameras: list[CameraConfig],
        hub: Hub,
        store: CountStore | None,
        default_holder: LazySegmenter,
        holder_factory: HolderFactory,
        source_factory: SourceFactory,
    ) -> None:
        self.settings = settings
        self.cameras = {c.id: c for c in cameras}
        self.zones = ZoneBook(settings.server.data_dir, self.cameras)
        self._holders: dict[tuple[str, float | None, str | None], LazySegmenter] = {
            _holder_key(settings.vision): default_holder
        }
        self._holder_factory = holder_factory
        # The farm's own model of a camera (teaching/models.py), None: its configured one.
        # Asked on every frame, so activating a model switches the next frame, no restart.
        self.model_of: Callable[[str], Path | None] = lambda _camera: None
        self._model_holders: dict[str, LazySegmenter] = {}
        self._model_lock = threading.Lock()
        self._broken_models: set[str] = set()
        self._workers = {
            c.id: CameraWorker(
                c,
                settings.cameras,
                settings.server.data_dir,
                self._segmenter_getter(c, holder_factory),
                hub,
                store,
                source_factory,
                zone=self._zone_getter(c.id),
            )
            for c in cameras
        }

    def _segmenter_getter(
        self, config: CameraConfig, holder_factory: HolderFactory
    ) -> Callable[[], Segmenter]:
        camera_vision = with_conf(self.settings.vision, config)
        key = _holder_key(camera_vision)
        if key not in self._holders:
            self._holders[key] = holder_factory(camera_vision)
        configured = self._holders[key]

        def get() -> Segmenter:
            path = self.model_of(config.id)
            if path is None or str(path) in self._broken_models:
                return configured.get()
            try:
                return self.model_holder(path).get()
            except ModelLoadError as exc:  # the file went bad on disk: keep counting
                self._broken_models.add(str(path))
                logger.error(
                    "camera %s: its model %s cannot be loaded (%s); counting with the "
                    "configured model",
                    config.id,
                    path.name,
                    exc,
                )
                return configured.get()

        return get

    def model_holder(self, path: Path) -> LazySegmenter:
        """The (shared) holder of a farm model file: the pig detector on it."""
        with self._model_lock:
            holder = self._model_holders.get(str(path))
            if holder is None:
                vision = self.settings.vision.model_copy(
                    update={"segmenter": "pig", "model_path": path}
                )
                holder = self._holder_factory(vision)
                self._model_holders[str(path)] = holder
            return holder

    def prepare_model(self, path: Path) -> None:
        """Load and warm a model before a camera switches to it (blocking); raises
        ModelLoadError for a file that cannot be run."""
        self._broken_models.discard(str(path))
        holder = self.model_holder(path)
        try:
            holder.warm_up()
        except ModelLoadError:
            with self._model_lock:
                self._model_holders.pop(str(path), None)
            raise

    def _zone_getter(self, camera_id: str) -> Callable[[], Zone | None]:
        return lambda: self.zones.zone(camera_id)

    def worker(self, camera_id: str) -> CameraWorker:
        """The worker of a camera; raises UnknownCamera."""
        try:
            return self._workers[camera_id]
        except KeyError:
            raise UnknownCamera(camera_id) from None

    def start(self, camera_id: str) -> CameraStatus:
        worker = self.worker(camera_id)
        worker.start()
        logger.info("camera %s started (%s)", camera_id, worker.config.public_url)
        return worker.status()

    def stop(self, camera_id: str) -> CameraStatus:
        """Stop a camera and join its threads (blocking: call from a thread)."""
        worker = self.worker(camera_id)
        worker.stop()
        logger.info("camera %s stopped", camera_id)
        return worker.status()

    def start_enabled(self) -> None:
        """Start every enabled camera (AUTO_START_CAM)."""
        for camera in self.cameras.values():
            if camera.enabled:
                self.start(camera.id)

    def stop_all(self) -> None:
        """Stop every camera and join every thread (shutdown)."""
        for worker in self._workers.values():
            if worker.running:
                worker.stop()

    def statuses(self) -> dict[str, CameraStatus]:
        return {cid: w.status() for cid, w in self._workers.items()}

    def holders(self) -> list[LazySegmenter]:
        return list(self._holders.values())


def _holder_key(vision: VisionSettings) -> tuple[str, float | None, str | None]:
    model = None if vision.model_path is None else str(vision.model_path)
    return vision.segmenter, vision.conf_threshold, model

"""Teaching: the labelling queue, the farm's models and the trainer, owned by one app.

It also decides which frames are worth labelling when a weighing is made (teaching/frames.py
keeps them): the camera's last counted frame, raw, when the operator typed another count,
when the platform asked the operator to confirm, when the count was unsure, and now and
then at random.
"""

from __future__ import annotations

import logging
import random
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from pigweight.pipeline.hub import Hub
from pigweight.settings import TeachingSettings
from pigweight.teaching.compare import HeldOutFrame, compare, normalised_boxes, pig_segmenter
from pigweight.teaching.folder import ImportRejected, temporary_dir, unzip_set
from pigweight.teaching.frames import LabelFrame, LabelQueue
from pigweight.teaching.jobs import Trainer
from pigweight.teaching.models import SHIPPED, ModelBook

logger = logging.getLogger(__name__)


class Teaching:
    def __init__(self, settings: TeachingSettings, data_dir: Path, hub: Hub) -> None:
        self.settings = settings
        self.data_dir = data_dir
        self.hub = hub
        self.queue = LabelQueue(data_dir, settings.label_queue_mb)
        self.models = ModelBook(data_dir)
        self.trainer = Trainer(data_dir, self.queue, self.models, settings.train_threads)
        self._random = random.Random()
        self._segmenters: dict[str, Any] = {}  # the last model asked to pre-draw boxes
        self._pre_drawn: dict[int, list[list[float]]] = {}

    def start(self, engine: Engine) -> None:
        """Open the tables, load which model counts where, resume an interrupted training."""
        self.queue.start(engine)
        self.models.start(engine)
        self.trainer.start(engine)

    def stop(self) -> None:
        self.trainer.stop()

    # --- frames worth labelling ----------------------------------------------------------------

    def after_weighing(
        self,
        camera: str,
        typed_count: int | None,
        model_count: int | None,
        confidence: float | None,
        confirm_asked: bool = False,
    ) -> LabelFrame | None:
        """Keep the camera's last counted frame when it is worth labelling (blocking). Never
        raises: the labelling queue never costs a weighing."""
        if self.settings.label_queue_mb <= 0:
            return None
        if confirm_asked:
            reason = "confirm_asked"
        elif typed_count is not None and model_count is not None and typed_count != model_count:
            reason = "typed_count_differs"
        elif confidence is not None and confidence < self.settings.label_low_confidence:
            reason = "low_confidence"
        elif self._random.random() < self.settings.label_sample_share:
            reason = "sample"
        else:
            return None
        try:
            return self.keep_live(camera, reason, typed_count, model_count, confidence)
        except Exception:
            logger.exception("labelling: the frame of %s's weighing was not kept", camera)
            return None

    def keep_live(
        self,
        camera: str,
        reason: str,
        typed_count: int | None = None,
        model_count: int | None = None,
        confidence: float | None = None,
    ) -> LabelFrame | None:
        """Keep the camera's last counted frame (raw); None when it has shown none."""
        raw = self.hub.latest_raw(camera)
        if raw is None:
            return None
        latest = self.hub.latest_frame(camera)
        ts = latest.body.ts if latest else time.time()
        if model_count is None and latest is not None:
            model_count = latest.body.count
        return self.queue.add(camera, raw, reason, ts, model_count, typed_count, confidence)

    # --- measuring a model --------------------------------------------------------------------

    def held_out(self, camera: str) -> list[HeldOutFrame]:
        """The camera's held-out frames: the newest fifth of its labelled frames of each
        light (teaching/folder.py)."""
        held = self.queue.split(camera).held_out
        return [HeldOutFrame(f.id, self.queue.image_path(f), len(f.boxes or ())) for f in held]

    def evaluate(self, camera: str, model_id: str) -> dict[str, Any]:
        """Compare `model_id` with the camera's active model on its held-out frames and keep
        the result on the model's card (blocking, CPU: call from a worker thread)."""
        held = self.held_out(camera)
        card = self.models.card(model_id)
        if not held:
            card["evaluation"] = None
            self.models.write_card(model_id, card)
            return card
        active = self.models.active(camera)
        current_path = self.models.active_path(camera)
        result = compare(
            pig_segmenter(self.models.path(model_id)),
            pig_segmenter(current_path),
            active,
            held,
        )
        self.models.write_comparison(model_id, {"candidate": model_id, "current": active, **result})
        card["evaluation"] = result["evaluation"]
        card["frames"] = card.get("frames") or {"train": None, "held_out": len(held)}
        self.models.write_card(model_id, card)
        return card

    def overview(self, camera: str) -> dict[str, Any]:
        """The camera's models with what may be done with each, and its switches."""
        active = self.models.active(camera)
        cards = []
        for card in self.models.cards(camera):
            refusal = self.models.why_not(camera, card)
            cards.append(
                {
                    **card,
                    "active": card["id"] == active,
                    "can_activate": refusal is None,
                    "why_not": None if refusal is None else refusal[0],
                }
            )
        return {
            "camera": camera,
            "active": active,
            "problem": self.models.problems.get(camera),
            "models": cards,
            "history": [
                {"model_id": s.model_id, "ts": s.ts, "user": s.user, "action": s.action}
                for s in self.models.history(camera)
            ],
        }

    def model_boxes(self, frame: LabelFrame) -> list[list[float]]:
        """The camera's active model's boxes on a frame, normalised (to pre-draw them)."""
        from pigweight.media.images import load_image

        path = self.models.active_path(frame.camera)
        segmenter = self._segmenter(path)
        image = load_image(self.queue.image_path(frame))
        return normalised_boxes(segmenter.segment(image), image.shape[:2])

    def _segmenter(self, path: Path | None) -> Any:
        key = str(path) if path else SHIPPED
        segmenter = self._segmenters.get(key)
        if segmenter is None:
            segmenter = pig_segmenter(path)
            self._segmenters = {key: segmenter}  # one at a time: the newest asked for
        return segmenter

    def pre_drawn(self, frame: LabelFrame) -> list[list[float]]:
        """The model's boxes for a frame nobody labelled yet (kept, to tell what changed)."""
        boxes = self._pre_drawn.get(frame.id)
        if boxes is None:
            boxes = self.model_boxes(frame)
            if len(self._pre_drawn) >= 256:
                self._pre_drawn.pop(next(iter(self._pre_drawn)))
            self._pre_drawn[frame.id] = boxes
        return boxes

    def save_labels(self, frame_id: int, base_version: int, boxes: Any, user: str) -> LabelFrame:
        before = self._pre_drawn.get(frame_id)
        frame = self.queue.save(
            frame_id,
            base_version,
            boxes,
            user,
            [tuple(b) for b in before or ()],  # type: ignore[misc]
        )
        self._pre_drawn.pop(frame_id, None)
        return frame

    def import_zip(self, camera: str, data: bytes, user: str) -> dict[str, Any]:
        """Frames of a zipped labelled set, in name order after the camera's newest frame;
        an image with labels comes in labelled (version 1, by `user`)."""
        from pigweight.evaluation.datasets import load_dataset
        from pigweight.evaluation.labels import InvalidDataset
        from pigweight.media.images import load_image
        from pigweight.training.data import label_boxes

        with temporary_dir(self.data_dir / "tmp") as tmp:
            root = unzip_set(data, Path(tmp), max_bytes=4 * len(data) + 64 * 1024 * 1024)
            try:
                dataset = load_dataset(root)
            except InvalidDataset as exc:
                raise ImportRejected(f"the zip's labels cannot be read: {exc}") from None
            times = _frame_times(root)
            imported = labelled = 0
            skipped: list[str] = []
            start = time.time()
            for index, item in enumerate(sorted(dataset.items, key=lambda i: i.name)):
                try:
                    image = load_image(item.path)
                except Exception as exc:  # a broken picture is named, the rest come in
                    skipped.append(f"{item.name}: {exc}")
                    continue
                ts = times.get(item.name, start + index * 0.001)
                frame = self.queue.add(
                    camera,
                    image,
                    "imported",
                    ts=ts,
                    source_name=item.name,
                    enforce=False,  # labelled just below: not dropped before that
                )
                imported += 1
                if item.labels is not None:
                    h, w = image.shape[:2]
                    boxes = [
                        [b[0] / w, b[1] / h, b[2] / w, b[3] / h]
                        for b in label_boxes(item.labels).tolist()
                    ]
                    boxes = [
                        [max(0.0, b[0]), max(0.0, b[1]), min(1.0, b[2]), min(1.0, b[3])]
                        for b in boxes
                        if min(b[2], 1.0) - max(b[0], 0.0) > 0.002
                        and min(b[3], 1.0) - max(b[1], 0.0) > 0.002
                    ]
                    self.queue.save(frame.id, 0, boxes, user)
                    labelled += 1
        self.queue.enforce_budget()
        logger.info(
            "labelling: %d frames imported for %s by %s (%d labelled)",
            imported,
            camera,
            user,
            labelled,
        )
        return {"imported": imported, "labelled": labelled, "skipped": skipped[:50]}


def _frame_times(root: Path) -> dict[str, float]:
    """The frames' own times from our export's frames.csv, when the zip has it."""
    import csv

    table = root / "frames.csv"
    if not table.is_file():
        return {}
    out = {}
    with open(table, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            try:
                out[row["file"]] = float(row["ts"])
            except (KeyError, ValueError):
                continue
    return out

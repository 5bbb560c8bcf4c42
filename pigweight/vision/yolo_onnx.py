"""YOLOv8 / YOLO11 detect and segment models exported to ONNX, run with onnxruntime.

The farm trains its own pig model with Ultralytics and exports it with
`yolo export format=onnx dynamic=True opset=17`; this segmenter reads the export's
metadata (names, imgsz, stride, task) and reproduces Ultralytics' pre- and
post-processing in numpy and OpenCV, so no torch is needed at the farm.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from pigweight.domain import Detections, Image
from pigweight.errors import InvalidImage, ModelLoadError
from pigweight.settings import VisionSettings
from pigweight.vision.yolo_decode import DecodeParams, decode
from pigweight.vision.yolo_letterbox import Letterbox, boxes_to_frame, plan_batch, write_input
from pigweight.vision.yolo_masks import masks_in_frame
from pigweight.vision.yolo_model import (
    YoloModelInfo,
    open_session,
    read_model_info,
    resolve_class_ids,
)

logger = logging.getLogger(__name__)

DEFAULT_CONF = 0.25  # Ultralytics' default, for exports that name no threshold


class YoloOnnxSegmenter:
    """Counts pigs with an Ultralytics YOLO ONNX model; masks when it is a seg model."""

    name = "yolo_onnx"

    def __init__(
        self,
        model_path: Path | str,
        conf_threshold: float | None = None,
        iou_threshold: float = 0.5,
        target_class_ids: list[int] | None = None,
        imgsz: int | None = None,
        threads: int = 0,
        use_gpu: bool = True,
        max_detections: int = 300,
    ) -> None:
        self.model_path = Path(model_path).expanduser()
        self._session = open_session(self.model_path, threads, use_gpu)
        self.info: YoloModelInfo = read_model_info(self._session, self.model_path)
        if self.info.fixed_hw is not None:
            if imgsz is not None and (imgsz, imgsz) != self.info.fixed_hw:
                logger.warning(
                    "IMGSZ=%d ignored: %s has a fixed input %s",
                    imgsz,
                    self.model_path,
                    self.info.fixed_hw,
                )
            self.target_hw = self.info.fixed_hw
        else:
            self.target_hw = (imgsz, imgsz) if imgsz else self.info.imgsz_hw
        self.class_ids = resolve_class_ids(self.info, target_class_ids)
        self.conf_threshold = (
            conf_threshold if conf_threshold is not None else _model_threshold(self._session)
        )
        self._params = DecodeParams(
            class_count=self.info.class_count,
            mask_dim=self.info.mask_dim,
            conf_threshold=self.conf_threshold,
            iou_threshold=iou_threshold,
            class_ids=np.asarray(self.class_ids, np.int64),
            max_detections=max_detections,
        )
        logger.info(
            "yolo_onnx: task=%s classes=%s counting=%s input=%s",
            self.info.task,
            self.info.names,
            self.class_ids,
            self.target_hw,
        )

    @classmethod
    def from_settings(
        cls, vision: VisionSettings, default_model: Path | None = None
    ) -> YoloOnnxSegmenter:
        """The segmenter configured by MODEL_PATH, CONF_THRESHOLD, IMGSZ, ONNX_THREADS..."""
        model_path = vision.model_path or default_model
        if model_path is None:
            raise ModelLoadError("MODEL_PATH is empty: set it to the .onnx file of the model")
        return cls(
            model_path=model_path,
            conf_threshold=vision.conf_threshold,
            iou_threshold=vision.iou_threshold,
            target_class_ids=vision.target_class_ids,
            imgsz=vision.imgsz,
            threads=vision.onnx_threads,
            use_gpu=vision.onnx_use_gpu,
            max_detections=vision.max_detections,
        )

    def keep_scores_from(self, floor: float) -> None:
        """Decode down to `floor` instead of the threshold (the caller sorts them out)."""
        self._params = dataclasses.replace(self._params, conf_threshold=floor)

    @property
    def providers(self) -> list[str]:
        """onnxruntime execution providers in use, best first."""
        return list(self._session.get_providers())

    def segment(self, image: Image) -> Detections:
        """Detections of one RGB frame; masks at frame size for a seg model."""
        return self._run_batch([image])[0]

    def segment_batch(self, images: Sequence[Image]) -> list[Detections]:
        """One onnxruntime call for all frames when the batch is dynamic, else one each."""
        if not images:
            return []
        if self.info.dynamic_batch:
            return self._run_batch(images)
        return [self._run_batch([image])[0] for image in images]

    def prepare(self, images: Sequence[Image]) -> tuple[npt.NDArray[np.float32], list[Letterbox]]:
        """The (B, 3, H, W) float32 input tensor and where each frame sits in it."""
        for image in images:
            _check_image(image)
        boxes = plan_batch(
            [(int(im.shape[0]), int(im.shape[1])) for im in images],
            self.target_hw,
            self.info.stride,
            fixed_input=self.info.fixed_hw is not None,
        )
        tensor = np.empty((len(images), 3, *boxes[0].input_hw), np.float32)
        for slot, image, box in zip(tensor, images, boxes, strict=True):
            write_input(slot, image, box)
        return tensor, boxes

    def infer(self, tensor: npt.NDArray[np.float32]) -> list[npt.NDArray[np.float32]]:
        """The raw model outputs (output0, and output1 protos for a seg model)."""
        feed = tensor.astype(self.info.input_dtype, copy=False)
        outputs = self._session.run(None, {self.info.input_name: feed})
        return [np.asarray(o, dtype=np.float32) for o in outputs]

    def postprocess(
        self, outputs: list[npt.NDArray[np.float32]], boxes: list[Letterbox]
    ) -> list[Detections]:
        """Raw outputs of a batch -> one Detections per frame."""
        if outputs[0].ndim != 3 or outputs[0].shape[0] != len(boxes):
            raise ModelLoadError(
                f"MODEL_PATH={self.model_path}: output0 {list(outputs[0].shape)} does not "
                f"match a batch of {len(boxes)}"
            )
        protos = outputs[1] if self.info.task == "segment" else None
        return [
            self._one_frame(outputs[0][i], None if protos is None else protos[i], box)
            for i, box in enumerate(boxes)
        ]

    def _run_batch(self, images: Sequence[Image]) -> list[Detections]:
        tensor, boxes = self.prepare(images)
        return self.postprocess(self.infer(tensor), boxes)

    def _one_frame(
        self,
        pred: npt.NDArray[np.float32],
        protos: npt.NDArray[np.float32] | None,
        box: Letterbox,
    ) -> Detections:
        try:
            kept = decode(pred, self._params)
        except ValueError as exc:
            raise ModelLoadError(f"MODEL_PATH={self.model_path}: {exc}") from None
        boxes_frame = boxes_to_frame(kept.boxes, box)
        masks = None
        if protos is not None:
            masks = masks_in_frame(kept.coeffs, protos, boxes_frame, box)
        return Detections(
            boxes=boxes_frame,
            scores=kept.scores,
            class_ids=kept.class_ids,
            masks=masks,
            frame_shape=box.frame_hw,
        )


def _model_threshold(session: object) -> float:
    """The threshold `pigweight train` picked on validation images, else Ultralytics' 0.25."""
    meta = session.get_modelmeta().custom_metadata_map  # type: ignore[attr-defined]
    try:
        value = float(meta.get("conf_threshold", DEFAULT_CONF))
    except ValueError:
        return DEFAULT_CONF
    return value if 0.0 < value < 1.0 else DEFAULT_CONF


def _check_image(image: Image) -> None:
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise InvalidImage(
            f"expected an (H, W, 3) uint8 RGB frame, got {image.shape} {image.dtype}"
        )
    if image.shape[0] < 1 or image.shape[1] < 1:
        raise InvalidImage("the frame is empty (0 pixels)")

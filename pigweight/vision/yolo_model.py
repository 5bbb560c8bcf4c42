"""Open an Ultralytics YOLO ONNX export and learn what it is: task, classes, input size.

Every way a model file can be wrong ends here as one `ModelLoadError` line that names the
file and says what to fix; no onnxruntime traceback reaches the user.
"""

from __future__ import annotations

import ast
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import onnxruntime as ort

from pigweight.errors import ModelLoadError

logger = logging.getLogger(__name__)

Task = Literal["detect", "segment"]

# CUDA first: TensorRT is left out on purpose, it builds an engine for every new input
# shape (minutes at start-up) and the CUDA provider already runs every YOLO node.
GPU_PROVIDERS = (
    "CUDAExecutionProvider",
    "ROCMExecutionProvider",
    "DmlExecutionProvider",
    "CoreMLExecutionProvider",
)
PIG_NAMES = frozenset({"pig", "pigs", "piglet", "piglets", "swine"})
DEFAULT_IMGSZ = 640
EXPORT_HINT = "export it with `yolo export format=onnx dynamic=True opset=17`"


@dataclass(frozen=True, slots=True)
class YoloModelInfo:
    """What the post-processing needs to know about one exported model."""

    task: Task
    names: dict[int, str]  # class id -> name, one entry per class of output0
    mask_dim: int  # mask coefficients per anchor (32 for segment models, 0 for detect)
    input_name: str
    input_dtype: type[np.floating[Any]]  # float16 for `half=True` exports
    fixed_hw: tuple[int, int] | None  # (H, W) of a fixed-shape input; None: dynamic
    dynamic_batch: bool
    imgsz_hw: tuple[int, int]  # (H, W) the model was exported at
    stride: int

    @property
    def class_count(self) -> int:
        return len(self.names)


def open_session(path: Path, threads: int, use_gpu: bool) -> ort.InferenceSession:
    """An onnxruntime session on the best provider present; raises ModelLoadError."""
    where = f"MODEL_PATH={path}"
    if not path.exists():
        raise ModelLoadError(f"{where}: no such file")
    if not path.is_file():
        raise ModelLoadError(f"{where}: is a directory, expected an .onnx file")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads  # 0 lets onnxruntime pick one per core
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Idle workers would otherwise spin after each run and starve the decode thread and
    # the web server that share these few cores; measured no slower per frame.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    available = set(ort.get_available_providers())
    providers = [p for p in GPU_PROVIDERS if use_gpu and p in available]
    providers.append("CPUExecutionProvider")
    try:
        session = ort.InferenceSession(str(path), sess_options=options, providers=providers)
    except Exception as exc:  # onnxruntime's own errors (InvalidProtobuf...) derive from it
        logger.debug("onnxruntime refused %s: %.300s", path, exc)
        raise ModelLoadError(f"{where}: not a readable ONNX model ({EXPORT_HINT})") from None
    logger.info("loaded %s on %s", path, session.get_providers()[0])
    return session


def read_model_info(session: ort.InferenceSession, path: Path) -> YoloModelInfo:
    """Task, classes and input geometry from the outputs and the export metadata."""
    where = f"MODEL_PATH={path}"
    meta = session.get_modelmeta().custom_metadata_map
    if str(meta.get("end2end", "")).lower() == "true":
        raise ModelLoadError(f"{where}: exported with nms=True; re-export without it")
    input_name, fixed_hw, dynamic_batch = _read_input(session, where)
    input_type = session.get_inputs()[0].type
    input_dtype: type[np.floating[Any]] = (
        np.float16 if input_type == "tensor(float16)" else np.float32
    )
    imgsz_hw = _imgsz_hw(meta.get("imgsz"), fixed_hw)
    names = _literal(meta.get("names"), dict) or {}
    head = _read_outputs(session, where)
    if head.channels is None and head.mask_dim is not None and names:
        # An export with simplify=False leaves output0's channel dim symbolic: the
        # names Ultralytics writes give it (a wrong count fails on the first frame).
        head = _Head(head.task, head.mask_dim, 4 + len(names) + head.mask_dim)
    elif head.channels is None or head.mask_dim is None:
        probe = np.zeros((1, 3, *imgsz_hw), input_dtype)
        unknown = "output1 does not give its mask size" if names else "the metadata has no `names`"
        head = _trial_run(session, where, {input_name: probe}, unknown)
    task, mask_dim, channels = head.task, head.mask_dim or 0, head.channels or 0
    class_count = channels - 4 - mask_dim
    if names and len(names) != class_count:
        raise ModelLoadError(
            f"{where}: metadata names {len(names)} classes but output0 has {class_count}"
        )
    names = {int(k): str(v) for k, v in names.items()} or {i: str(i) for i in range(class_count)}
    meta_task = meta.get("task")
    if meta_task in ("detect", "segment") and meta_task != task:
        raise ModelLoadError(f"{where}: metadata says task={meta_task} but outputs say {task}")
    stride = _literal(meta.get("stride"), int) or 32
    return YoloModelInfo(
        task=task,
        names=names,
        mask_dim=mask_dim,
        input_name=input_name,
        input_dtype=input_dtype,
        fixed_hw=fixed_hw,
        dynamic_batch=dynamic_batch,
        imgsz_hw=imgsz_hw,
        stride=max(1, int(stride)),
    )


def resolve_class_ids(info: YoloModelInfo, target_class_ids: list[int] | None) -> list[int]:
    """The class ids that count as pigs: as configured, or named 'pig', or the only one."""
    listing = ", ".join(f"{k}: {v}" for k, v in sorted(info.names.items()))
    if target_class_ids:
        wrong = [c for c in target_class_ids if c not in info.names]
        if wrong:
            raise ModelLoadError(
                f"TARGET_CLASS_IDS={wrong}: the model has no such class ({listing})"
            )
        return sorted(set(target_class_ids))
    named = [k for k, v in info.names.items() if v.strip().lower() in PIG_NAMES]
    if named:
        return sorted(named)
    if info.class_count == 1:
        return [next(iter(info.names))]
    raise ModelLoadError(
        f"no class of the model is named 'pig' ({listing}): set TARGET_CLASS_IDS, e.g. '0'"
    )


def _read_input(
    session: ort.InferenceSession, where: str
) -> tuple[str, tuple[int, int] | None, bool]:
    inputs = session.get_inputs()
    shape = list(inputs[0].shape) if len(inputs) == 1 else []
    if len(shape) != 4 or shape[1] != 3:
        raise ModelLoadError(
            f"{where}: input {shape} is not an image batch [batch, 3, H, W] ({EXPORT_HINT})"
        )
    batch, h, w = shape[0], shape[2], shape[3]
    if isinstance(batch, int) and batch != 1:
        raise ModelLoadError(f"{where}: fixed batch {batch}; export with batch=1 or dynamic=True")
    fixed = (h, w) if isinstance(h, int) and isinstance(w, int) and h > 0 and w > 0 else None
    return inputs[0].name, fixed, not isinstance(batch, int)


@dataclass(frozen=True, slots=True)
class _Head:
    """What the output shapes say; None where a dimension is symbolic."""

    task: Task
    mask_dim: int | None  # mask coefficients (0 for detect)
    channels: int | None  # rows of output0: 4 + classes + mask_dim


def _not_yolo(where: str, shapes: object) -> ModelLoadError:
    return ModelLoadError(
        f"{where}: outputs {shapes} are not those of a YOLOv8/YOLO11 detect or segment "
        f"model (expected output0 [batch, 4+classes(+32), anchors]; {EXPORT_HINT})"
    )


def _read_outputs(session: ort.InferenceSession, where: str) -> _Head:
    """Task, mask coefficients and channels of output0 as far as the declared shapes say."""
    shapes = [list(o.shape) for o in session.get_outputs()]
    if not shapes or len(shapes[0]) != 3 or len(shapes) > 2:
        raise _not_yolo(where, shapes)
    if len(shapes) == 2 and len(shapes[1]) != 4:
        raise _not_yolo(where, shapes)
    return _checked_head(where, shapes, [_known(s) for s in shapes])


def _trial_run(
    session: ort.InferenceSession, where: str, feed: dict[str, Any], unknown: str
) -> _Head:
    """The head's dimensions from one run on a blank input, for symbolic output shapes."""
    shapes = [list(o.shape) for o in session.get_outputs()]
    quiet = ort.RunOptions()
    quiet.log_severity_level = 4  # our one line says it; no onnxruntime error on stderr
    try:
        outputs = session.run(None, feed, quiet)
    except Exception as exc:  # onnxruntime's own errors derive from it
        logger.debug("trial run of %s failed: %.300s", where, exc)
        outputs = None
    actual = [list(np.shape(o)) for o in outputs or []]
    if outputs is None or [len(s) for s in actual] != [len(s) for s in shapes]:
        raise ModelLoadError(
            f"{where}: outputs {shapes} do not say how many classes the model has, "
            f"{unknown} and a trial run on a blank image failed ({EXPORT_HINT})"
        )
    head = _checked_head(where, f"{shapes} (on a blank image: {actual})", actual)
    logger.info("%s: symbolic outputs %s; a trial run gave %s", where, shapes, actual)
    return head


def _checked_head(where: str, shown: object, dims: list[list[int | None]]) -> _Head:
    """A head of known (int) or unknown (None) dims; raises where the known ones misfit."""
    bad = _not_yolo(where, shown)
    channels, anchors = dims[0][1], dims[0][2]
    if channels is not None and anchors is not None and anchors < channels:
        raise bad  # [batch, anchors, channels]: transposed or end-to-end, not a raw head
    mask_dim: int | None = dims[1][1] if len(dims) == 2 else 0
    if mask_dim == 0 and len(dims) == 2:
        raise bad
    if channels is not None and mask_dim is not None and channels - 4 - mask_dim < 1:
        raise bad
    return _Head("segment" if len(dims) == 2 else "detect", mask_dim, channels)


def _known(shape: list[Any]) -> list[int | None]:
    """Each dim as an int, or None when symbolic ('batch', 'Concatoutput0_dim_1', ...)."""
    return [d if isinstance(d, int) and not isinstance(d, bool) and d >= 0 else None for d in shape]


def _literal(text: str | None, kind: Any) -> Any:
    """A metadata value written by Ultralytics as a Python literal; None when unusable."""
    if not text:
        return None
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    return value if isinstance(value, kind) and not isinstance(value, bool) else None


def _imgsz_hw(text: str | None, fixed_hw: tuple[int, int] | None) -> tuple[int, int]:
    if fixed_hw is not None:
        return fixed_hw
    value = _literal(text, list | tuple | int)
    if isinstance(value, int) and value > 0:
        return value, value
    pair = value if isinstance(value, list | tuple) and len(value) == 2 else ()
    if pair and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in pair):
        return int(pair[0]), int(pair[1])
    return DEFAULT_IMGSZ, DEFAULT_IMGSZ

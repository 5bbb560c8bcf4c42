"""Tiny ONNX graphs that answer like an Ultralytics YOLO export, with KNOWN tensors.

The graphs consume their input (so onnxruntime checks its shape) and emit output0 in the
Ultralytics layout `[batch, 4 + classes (+ 32), anchors]`. For segment models output1 is
`[batch, 32, H/4, W/4]`, computed from the picture itself: prototype 0 is +10 where the
input's red channel is bright and -10 where it is dark, so a mask with coefficients
(1, 0, ..., 0) follows whatever bright shape the test paints into the frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnx
from onnx import TensorProto, helper, numpy_helper

from pigweight.domain import Image

MASK_DIM = 32
PROTO_STEP = 4  # input pixels per prototype cell
MIN_ANCHORS = 100


def anchor(
    cx: float, cy: float, w: float, h: float, scores: Sequence[float], mask: int = 0
) -> list[float]:
    """One column of output0: box in input pixels, class scores, mask coefficients."""
    coeffs = [0.0] * MASK_DIM
    coeffs[0] = float(mask)
    return [cx, cy, w, h, *scores, *coeffs]


def write_model(
    path: Path,
    anchors: Sequence[Sequence[float]],
    *,
    names: dict[int, str] | None = None,
    segment: bool = True,
    input_hw: tuple[int, int] | None = (640, 640),
    dynamic_batch: bool = True,
    score_from_brightness: bool = False,
    metadata: dict[str, str | None] | None = None,
    half: bool = False,
) -> Path:
    """An ONNX file whose output0 holds `anchors` (as made by `anchor`) for every image.

    input_hw None: dynamic H and W. score_from_brightness: the first class score of the
    first anchor is raised by the mean of the input, so each image of a batch differs.
    half: float16 input and outputs, as `yolo export half=True`.
    """
    names = names if names is not None else {0: "pig"}
    nc = len(names)
    width = 4 + nc + MASK_DIM
    rows = np.asarray(anchors, np.float32).reshape(len(anchors), width)
    if not segment:
        rows = rows[:, : 4 + nc]
    # Real heads have thousands of anchors; empty ones (score 0) keep the layout honest.
    rows = np.concatenate([rows, np.zeros((MIN_ANCHORS, rows.shape[1]), np.float32)])
    batch: str | int = "batch" if dynamic_batch else 1
    h: str | int = input_hw[0] if input_hw else "height"
    w: str | int = input_hw[1] if input_hw else "width"
    io_type = TensorProto.FLOAT16 if half else TensorProto.FLOAT
    inp = helper.make_tensor_value_info("images", io_type, [batch, 3, h, w])
    nodes = [helper.make_node("Cast", ["images"], ["x"], to=TensorProto.FLOAT)]
    table_nodes, inits = _output0_nodes(rows.T[None], score_from_brightness)
    nodes += table_nodes
    nodes.append(helper.make_node("Cast", ["y0"], ["output0"], to=io_type))
    out0_shape = [batch, rows.shape[1], rows.shape[0]]
    outputs = [helper.make_tensor_value_info("output0", io_type, out0_shape)]
    if segment:
        proto_nodes, proto_inits = _proto_nodes()
        nodes += proto_nodes
        nodes.append(helper.make_node("Cast", ["y1"], ["output1"], to=io_type))
        inits += proto_inits
        proto_hw = [d // PROTO_STEP for d in input_hw] if input_hw else ["mh", "mw"]
        out1_shape = [batch, MASK_DIM, *proto_hw]
        outputs.append(helper.make_tensor_value_info("output1", io_type, out1_shape))
    graph = helper.make_graph(nodes, "yolo_stub", [inp], outputs, initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    meta: dict[str, str | None] = {
        "names": repr(names),
        "imgsz": repr(list(input_hw or (640, 640))),
        "stride": "32",
        "task": "segment" if segment else "detect",
    }
    meta.update(metadata or {})
    helper.set_model_props(model, {k: v for k, v in meta.items() if v is not None})
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def _output0_nodes(
    table: npt.NDArray[np.float32], score_from_brightness: bool
) -> tuple[list[onnx.NodeProto], list[onnx.TensorProto]]:
    """output0 = table + mean(image) * selector, broadcast to the batch."""
    selector = np.zeros_like(table)
    if score_from_brightness:
        selector[0, 4, 0] = 1.0
    inits = [
        numpy_helper.from_array(table, "table"),
        numpy_helper.from_array(selector, "selector"),
        numpy_helper.from_array(np.array([-1, 1, 1], np.int64), "batch_shape"),
    ]
    nodes = [
        helper.make_node("ReduceMean", ["x"], ["mean4"], axes=[1, 2, 3], keepdims=1),
        helper.make_node("Reshape", ["mean4", "batch_shape"], ["mean"]),
        helper.make_node("Mul", ["mean", "selector"], ["shift"]),
        helper.make_node("Add", ["shift", "table"], ["y0"]),
    ]
    return nodes, inits


def _proto_nodes() -> tuple[list[onnx.NodeProto], list[onnx.TensorProto]]:
    """output1 = 4x4 stride-4 conv: channel 0 = 20 * mean(red) - 10, others 0."""
    weight = np.zeros((MASK_DIM, 3, PROTO_STEP, PROTO_STEP), np.float32)
    weight[0, 0] = 20.0 / PROTO_STEP**2
    bias = np.zeros(MASK_DIM, np.float32)
    bias[0] = -10.0
    inits = [numpy_helper.from_array(weight, "w"), numpy_helper.from_array(bias, "b")]
    conv = helper.make_node("Conv", ["x", "w", "b"], ["y1"], kernel_shape=[4, 4], strides=[4, 4])
    return [conv], inits


def write_onnx_graph(path: Path, out_shape: Sequence[int]) -> Path:
    """A valid ONNX model that is not a YOLO head: image -> constant of `out_shape`."""
    inp = helper.make_tensor_value_info("images", TensorProto.FLOAT, ["batch", 3, 64, 64])
    out = helper.make_tensor_value_info("logits", TensorProto.FLOAT, list(out_shape))
    value = numpy_helper.from_array(np.zeros(out_shape, np.float32), "value")
    zero = numpy_helper.from_array(np.zeros((), np.float32), "zero")
    nodes = [
        helper.make_node("ReduceMean", ["images"], ["m"], keepdims=0),
        helper.make_node("Mul", ["m", "zero"], ["z"]),
        helper.make_node("Add", ["z", "value"], ["logits"]),
    ]
    graph = helper.make_graph(nodes, "not_yolo", [inp], [out], initializer=[value, zero])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def painted_frame() -> Image:
    image = np.zeros((720, 1280, 3), np.uint8)
    image[300:400, 500:700] = 255  # the bright shape prototype 0 responds to
    return image


def assert_mask_is_rectangle(
    mask: npt.NDArray[np.bool_], y0: int, y1: int, x0: int, x1: int
) -> None:
    """The mask is exactly rows y0:y1, cols x0:x1, but for its rounded corners.

    The shape's edges fall on prototype cell centres (input 290-340 x 250-350 = proto
    72.5-85 x 62.5-87.5), so bilinear upsampling puts the 0.5 contour right on them; the
    corner cells are only a quarter bright and round each corner off within 8 pixels.
    """
    expected = np.zeros(mask.shape, bool)
    expected[y0:y1, x0:x1] = True
    wrong = mask ^ expected
    assert not (mask & ~expected).any(), "mask pixels outside the painted shape"
    corners = np.zeros(mask.shape, bool)
    for y in (y0, y1 - 8):
        for x in (x0, x1 - 8):
            corners[y : y + 8, x : x + 8] = True
    assert not (wrong & ~corners).any(), "mask misses pixels away from the corners"

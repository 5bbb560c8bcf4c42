"""Exports whose output shapes are symbolic (Ultralytics 8.4, `simplify=False`) load and count.

Such an export declares output0 as `['batch', 'Concatoutput0_dim_1', 'anchors']`: the class
count comes from the `names` metadata, or else from one run of the model on a blank image.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from pigweight.domain import Image
from pigweight.errors import ModelLoadError
from pigweight.vision.yolo_onnx import YoloOnnxSegmenter
from tests.vision.onnx_fixtures import anchor, write_model

FRAME_HW = (720, 1280)
CENTRE_BOX = (320.0, 320.0, 200.0, 100.0)  # input pixels of a 640x640 input
CENTRE_BOX_FRAME = [440.0, 260.0, 840.0, 460.0]  # the same box on a 1280x720 frame
COCO_NAMES = {0: "person", 1: "bicycle", 2: "car", 18: "sheep", 19: "cow"}


def make_symbolic(path: Path, *, names: bool, mask_dim: bool = False) -> Path:
    """Rewrite an export as Ultralytics 8.4 writes it with simplify=False.

    Declaring dims symbolic is not enough (onnxruntime infers them from the graph), so the
    outputs pass through a Reshape to their own runtime Shape, as unsimplified exports do.
    """
    model = onnx.load(str(path))
    outputs = model.graph.output[: 2 if mask_dim else 1]
    for output, dim_params in zip(outputs, _DIM_PARAMS, strict=False):
        _hide_shape(model.graph, output.name)
        for dim, param in zip(output.type.tensor_type.shape.dim, dim_params, strict=True):
            if param:
                dim.dim_param = param
    if not names:
        kept = [p for p in model.metadata_props if p.key != "names"]
        del model.metadata_props[:]
        model.metadata_props.extend(kept)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


_DIM_PARAMS = (
    ("", "Concatoutput0_dim_1", "anchors"),
    ("", "Convoutput1_dim_1", "", ""),
)


def _hide_shape(graph: onnx.GraphProto, name: str) -> None:
    """`name` = Reshape(raw, Shape(raw)): same values, a shape no inference can follow."""
    for node in graph.node:
        node.output[:] = [f"{name}_raw" if out == name else out for out in node.output]
    graph.node.extend(
        [
            helper.make_node("Shape", [f"{name}_raw"], [f"{name}_shape"]),
            helper.make_node("Reshape", [f"{name}_raw", f"{name}_shape"], [name]),
        ]
    )


def frame() -> Image:
    return np.zeros((*FRAME_HW, 3), np.uint8)


def segmenter(path: Path, **kwargs: Any) -> YoloOnnxSegmenter:
    return YoloOnnxSegmenter(path, use_gpu=False, threads=1, **kwargs)


def error_message(path: Path, **kwargs: Any) -> str:
    with pytest.raises(ModelLoadError) as info:
        segmenter(path, **kwargs)
    message = str(info.value)
    assert "\n" not in message and "Traceback" not in message
    assert info.value.__cause__ is None
    return message


@pytest.mark.parametrize("segment", [True, False], ids=["segment", "detect"])
@pytest.mark.parametrize("names", [True, False], ids=["names", "no-names"])
def test_symbolic_export_loads_and_counts(tmp_path: Path, segment: bool, names: bool) -> None:
    anchors = [anchor(*CENTRE_BOX, scores=[0.9]), anchor(100, 200, 50, 50, scores=[0.8])]
    model = write_model(tmp_path / "best.onnx", anchors, segment=segment)
    seg = segmenter(make_symbolic(model, names=names, mask_dim=segment))
    assert seg.info.task == ("segment" if segment else "detect")
    assert seg.info.names == ({0: "pig"} if names else {0: "0"})
    assert seg.class_ids == [0]
    dets = seg.segment(frame())
    assert len(dets) == 2
    assert [round(v, 3) for v in dets.boxes[0].tolist()] == CENTRE_BOX_FRAME
    if segment:
        assert dets.masks is not None and dets.masks.shape == (2, *FRAME_HW)
    else:
        assert dets.masks is None


def test_named_pig_class_of_a_symbolic_export_is_counted(tmp_path: Path) -> None:
    anchors = [anchor(*CENTRE_BOX, scores=[0.9, 0.0]), anchor(100, 200, 50, 50, scores=[0, 0.8])]
    model = write_model(tmp_path / "best.onnx", anchors, names={0: "cow", 1: "pig"})
    seg = segmenter(make_symbolic(model, names=True))
    assert seg.class_ids == [1]
    assert seg.segment(frame()).scores.tolist() == pytest.approx([0.8])


@pytest.mark.parametrize("names", [True, False], ids=["names", "no-names"])
def test_coco_export_without_a_pig_class_asks_for_target_class_ids(
    tmp_path: Path, names: bool
) -> None:
    coco = {i: COCO_NAMES.get(i, f"class{i}") for i in range(80)}
    scores = [0.0] * 80
    scores[19] = 0.9  # a pig taken for a cow
    anchors = [anchor(*CENTRE_BOX, scores)]
    model = write_model(tmp_path / "yolo11n.onnx", anchors, names=coco, segment=False)
    make_symbolic(model, names=names)
    message = error_message(model)
    assert "no class of the model is named 'pig'" in message
    assert "set TARGET_CLASS_IDS" in message
    assert ("19: cow" if names else "19: 19") in message
    seg = segmenter(model, target_class_ids=[19])
    assert seg.info.class_count == 80
    assert len(seg.segment(frame())) == 1


@pytest.mark.parametrize("names", [True, False], ids=["names", "no-names"])
def test_yolo11n_seg_export_with_symbolic_outputs(
    shared_models: Path, tmp_path: Path, names: bool
) -> None:
    model = tmp_path / "best.onnx"
    shutil.copyfile(shared_models / "yolo11n-seg-pig-random.onnx", model)
    seg = segmenter(make_symbolic(model, names=names, mask_dim=True))
    assert (seg.info.task, seg.info.class_count, seg.info.mask_dim) == ("segment", 1, 32)
    assert seg.class_ids == [0] and seg.target_hw == (640, 640)
    image = np.random.default_rng(0).integers(0, 256, (*FRAME_HW, 3), dtype=np.uint8)
    dets = YoloOnnxSegmenter(model, conf_threshold=0.005, use_gpu=False).segment(image)
    assert len(dets) > 0 and dets.masks is not None
    assert dets.masks.shape == (len(dets), *FRAME_HW)


def test_symbolic_head_that_is_not_yolo_is_refused(tmp_path: Path) -> None:
    path = _write_bare_head(tmp_path / "classifier.onnx", channels=3)
    message = error_message(path)
    assert "not those of a YOLOv8/YOLO11" in message
    assert "Concatoutput0_dim_1" in message and "on a blank image: [[1, 3, 100]]" in message


def test_symbolic_export_that_cannot_run_is_refused(tmp_path: Path) -> None:
    path = _write_bare_head(tmp_path / "odd.onnx", channels=37, only_side=48)
    message = error_message(path)
    assert str(path) in message
    assert "do not say how many classes" in message and "metadata has no `names`" in message
    assert "yolo export format=onnx" in message


def test_metadata_names_that_do_not_fit_fail_on_the_first_frame(tmp_path: Path) -> None:
    model = write_model(tmp_path / "best.onnx", [anchor(*CENTRE_BOX, scores=[0.9])])
    onnx_model = onnx.load(str(model))
    for prop in onnx_model.metadata_props:
        if prop.key == "names":
            prop.value = repr({0: "pig", 1: "sow"})
    onnx.save(onnx_model, str(model))
    seg = segmenter(make_symbolic(model, names=True))
    with pytest.raises(ModelLoadError, match="output0 has 37 rows, expected 38"):
        seg.segment(frame())


def _write_bare_head(path: Path, channels: int, only_side: int | None = None) -> Path:
    """A symbolic output0 of `channels` rows and no metadata; only_side: the graph runs
    on only_side x only_side inputs alone, though it declares dynamic H and W."""
    inp = helper.make_tensor_value_info("images", TensorProto.FLOAT, ["batch", 3, "h", "w"])
    out = helper.make_tensor_value_info("output0", TensorProto.FLOAT, ["batch", "c", "a"])
    inits = [
        numpy_helper.from_array(np.array([-1, 1, 1], np.int64), "batch_shape"),
        numpy_helper.from_array(np.zeros((1, channels, 100), np.float32), "table"),
    ]
    nodes = [helper.make_node("Identity", ["images"], ["x"])]
    if only_side:
        side = np.array([-1, 3, only_side, only_side], np.int64)
        inits.append(numpy_helper.from_array(side, "side"))
        nodes = [helper.make_node("Reshape", ["images", "side"], ["x"])]
    nodes += [
        helper.make_node("ReduceMean", ["x"], ["m4"], axes=[1, 2, 3], keepdims=1),
        helper.make_node("Reshape", ["m4", "batch_shape"], ["m"]),
        helper.make_node("Add", ["m", "table"], ["output0"]),
    ]
    graph = helper.make_graph(nodes, "bare_head", [inp], [out], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return make_symbolic(path, names=False)

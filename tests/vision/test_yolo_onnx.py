"""YoloOnnxSegmenter against ONNX graphs that emit known tensors: exact boxes, scores, masks."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from pigweight.domain import Detections, Image
from pigweight.errors import InvalidImage, ModelLoadError
from pigweight.settings import load_settings
from pigweight.vision.segmenter import create_segmenter
from pigweight.vision.yolo_letterbox import Letterbox, boxes_to_frame, plan_letterbox
from pigweight.vision.yolo_masks import masks_in_frame
from pigweight.vision.yolo_onnx import YoloOnnxSegmenter
from tests.vision.onnx_fixtures import (
    anchor,
    assert_mask_is_rectangle,
    painted_frame,
    write_model,
    write_onnx_graph,
)

FRAME_HW = (720, 1280)
# A box of 200x100 input pixels at the centre of a 640x640 input: on a 1280x720 frame
# (gain 0.5, 140 grey rows above) it is x 440-840, y 260-460 in frame pixels.
CENTRE_BOX = (320.0, 320.0, 200.0, 100.0)
CENTRE_BOX_FRAME = [440.0, 260.0, 840.0, 460.0]


def frame(hw: tuple[int, int] = FRAME_HW, value: int = 0) -> Image:
    return np.full((*hw, 3), value, np.uint8)


def segmenter(path: Path, **kwargs: Any) -> YoloOnnxSegmenter:
    kwargs.setdefault("use_gpu", False)
    kwargs.setdefault("threads", 1)
    return YoloOnnxSegmenter(path, **kwargs)


def boxes_of(dets: Detections) -> list[list[float]]:
    return [[round(v, 3) for v in box] for box in dets.boxes.tolist()]


def test_box_on_a_wide_frame_maps_back_through_the_letterbox(tmp_path: Path) -> None:
    model = write_model(tmp_path / "m.onnx", [anchor(*CENTRE_BOX, scores=[0.9])])
    dets = segmenter(model).segment(frame())
    assert boxes_of(dets) == [CENTRE_BOX_FRAME]
    assert dets.scores.tolist() == pytest.approx([0.9])
    assert dets.class_ids.tolist() == [0]
    assert dets.frame_shape == FRAME_HW
    assert dets.masks is not None and dets.masks.shape == (1, *FRAME_HW)


@pytest.mark.parametrize(
    ("imgsz", "box_in", "input_hw"),
    [
        (None, (320.0, 192.0, 200.0, 100.0), (384, 640)),  # 360 rows padded to 384
        (320, (160.0, 96.0, 100.0, 50.0), (192, 320)),  # IMGSZ=320 overrides metadata
    ],
)
def test_dynamic_model_runs_on_a_minimal_letterbox(
    tmp_path: Path,
    imgsz: int | None,
    box_in: tuple[float, float, float, float],
    input_hw: tuple[int, int],
) -> None:
    model = write_model(tmp_path / "m.onnx", [anchor(*box_in, scores=[0.9])], input_hw=None)
    seg = segmenter(model, imgsz=imgsz, conf_threshold=0.5)
    tensor, _ = seg.prepare([frame()])
    assert tensor.shape == (1, 3, *input_hw)
    assert boxes_of(seg.segment(frame())) == [CENTRE_BOX_FRAME]


def test_input_is_rgb_zero_to_one_with_grey_padding(tmp_path: Path) -> None:
    model = write_model(tmp_path / "m.onnx", [], input_hw=(640, 640))
    image = frame()
    image[..., 0] = 255  # pure red
    tensor, _ = segmenter(model).prepare([image])
    assert tensor[0, :, 0, 0].tolist() == pytest.approx([114 / 255] * 3)  # padding row
    assert tensor[0, :, 320, 320].tolist() == [1.0, 0.0, 0.0]


def test_boxes_reaching_out_of_the_frame_are_clipped(tmp_path: Path) -> None:
    model = write_model(tmp_path / "m.onnx", [anchor(50, 150, 200, 40, scores=[0.9])])
    assert boxes_of(segmenter(model).segment(frame())) == [[0.0, 0.0, 300.0, 60.0]]


@pytest.mark.parametrize(
    ("anchors", "conf", "count"),
    [
        ([], 0.25, 0),
        ([anchor(*CENTRE_BOX, scores=[0.2])], 0.25, 0),
        ([anchor(*CENTRE_BOX, scores=[0.2])], 0.1, 1),
        ([anchor(*CENTRE_BOX, scores=[0.25])], 0.25, 0),  # strictly above, as Ultralytics
    ],
)
def test_confidence_threshold(tmp_path: Path, anchors: list, conf: float, count: int) -> None:
    model = write_model(tmp_path / "m.onnx", anchors)
    dets = segmenter(model, conf_threshold=conf).segment(frame())
    assert len(dets) == count
    assert dets.masks is not None and dets.masks.shape == (count, *FRAME_HW)
    assert dets.frame_shape == FRAME_HW


def test_nms_keeps_the_higher_of_two_overlapping_boxes(tmp_path: Path) -> None:
    anchors = [
        anchor(320, 320, 200, 200, scores=[0.8]),
        anchor(330, 320, 200, 200, scores=[0.9]),  # IoU 0.905 with the first
        anchor(100, 200, 50, 50, scores=[0.5]),
    ]
    model = write_model(tmp_path / "m.onnx", anchors)
    dets = segmenter(model, iou_threshold=0.5).segment(frame())
    assert dets.scores.tolist() == pytest.approx([0.9, 0.5])
    assert boxes_of(dets)[0] == [460.0, 160.0, 860.0, 560.0]
    loose = segmenter(model, iou_threshold=0.95).segment(frame())
    assert loose.scores.tolist() == pytest.approx([0.9, 0.8, 0.5])


def test_max_detections_keeps_the_best(tmp_path: Path) -> None:
    anchors = [anchor(60 + 120 * i, 320, 50, 50, scores=[0.5 + 0.1 * i]) for i in range(5)]
    model = write_model(tmp_path / "m.onnx", anchors)
    dets = segmenter(model, max_detections=3).segment(frame())
    assert dets.scores.tolist() == pytest.approx([0.9, 0.8, 0.7])


TWO_CLASSES = {0: "pig", 1: "person"}
PIG_ONLY = anchor(100, 320, 60, 60, scores=[0.9, 0.1])
PERSON = anchor(300, 320, 60, 60, scores=[0.1, 0.8])
MOSTLY_PERSON = anchor(500, 320, 60, 60, scores=[0.6, 0.7])  # best class wins, as Ultralytics


@pytest.mark.parametrize(
    ("target", "scores", "classes"),
    [
        (None, [0.9], [0]),  # the class named 'pig'
        ([1], [0.8, 0.7], [1, 1]),
        ([0, 1], [0.9, 0.8, 0.7], [0, 1, 1]),
    ],
)
def test_class_filter_on_a_two_class_model(
    tmp_path: Path, target: list[int] | None, scores: list[float], classes: list[int]
) -> None:
    model = write_model(tmp_path / "m.onnx", [PIG_ONLY, PERSON, MOSTLY_PERSON], names=TWO_CLASSES)
    dets = segmenter(model, target_class_ids=target).segment(frame())
    assert dets.scores.tolist() == pytest.approx(scores)
    assert dets.class_ids.tolist() == classes


def test_nms_is_per_class(tmp_path: Path) -> None:
    same_place = [anchor(*CENTRE_BOX, scores=[0.9, 0.0]), anchor(*CENTRE_BOX, scores=[0.0, 0.8])]
    model = write_model(tmp_path / "m.onnx", same_place, names=TWO_CLASSES)
    assert len(segmenter(model, target_class_ids=[0, 1]).segment(frame())) == 2


def test_detect_model_gives_boxes_without_masks(tmp_path: Path) -> None:
    model = write_model(tmp_path / "m.onnx", [anchor(*CENTRE_BOX, scores=[0.9])], segment=False)
    seg = segmenter(model)
    assert seg.info.task == "detect"
    dets = seg.segment(frame())
    assert boxes_of(dets) == [CENTRE_BOX_FRAME]
    assert dets.masks is None
    empty = segmenter(model, conf_threshold=0.95).segment(frame())
    assert len(empty) == 0 and empty.masks is None and empty.frame_shape == FRAME_HW


def test_task_and_classes_without_metadata(tmp_path: Path) -> None:
    bare: dict[str, str | None] = {"names": None, "task": None, "imgsz": None, "stride": None}
    model = write_model(tmp_path / "m.onnx", [anchor(*CENTRE_BOX, scores=[0.9])], metadata=bare)
    seg = segmenter(model)
    assert (seg.info.task, seg.class_ids) == ("segment", [0])
    assert boxes_of(seg.segment(frame())) == [CENTRE_BOX_FRAME]


def test_metadata_is_parsed_as_literals_only(tmp_path: Path) -> None:
    hostile: dict[str, str | None] = {"names": "__import__('os').getcwd()", "imgsz": "[320, 320]"}
    model = write_model(tmp_path / "m.onnx", [], input_hw=None, metadata=hostile)
    seg = segmenter(model)
    assert seg.info.names == {0: "0"}
    assert seg.target_hw == (320, 320)


def test_mask_follows_the_shape_inside_its_box(tmp_path: Path) -> None:
    # Frame box 400-900 x 200-500 around the shape: input (200, 240)-(450, 390).
    model = write_model(tmp_path / "m.onnx", [anchor(325, 315, 250, 150, scores=[0.9], mask=1)])
    dets = segmenter(model).segment(painted_frame())
    assert dets.masks is not None
    assert_mask_is_rectangle(dets.masks[0], 300, 400, 500, 700)


def test_mask_is_empty_outside_its_box(tmp_path: Path) -> None:
    # Frame box x 600-900, y 200-500 cuts the painted shape (x 500-700) in two.
    model = write_model(tmp_path / "m.onnx", [anchor(375, 315, 150, 150, scores=[0.9], mask=1)])
    dets = segmenter(model).segment(painted_frame())
    assert dets.masks is not None
    assert boxes_of(dets) == [[600.0, 200.0, 900.0, 500.0]]
    assert_mask_is_rectangle(dets.masks[0], 300, 400, 600, 700)


def test_half_precision_export(tmp_path: Path) -> None:
    model = write_model(
        tmp_path / "m.onnx", [anchor(325, 315, 250, 150, scores=[0.9], mask=1)], half=True
    )
    dets = segmenter(model).segment(painted_frame())
    assert boxes_of(dets) == [[400.0, 200.0, 900.0, 500.0]]
    assert dets.masks is not None
    assert_mask_is_rectangle(dets.masks[0], 300, 400, 500, 700)


def test_mask_on_a_dynamic_minimal_letterbox(tmp_path: Path) -> None:
    # 640x384 input, 12 grey rows above: the same frame box 400-900 x 200-500.
    box_in = (325.0, 187.0, 250.0, 150.0)
    model = write_model(tmp_path / "m.onnx", [anchor(*box_in, scores=[0.9], mask=1)], input_hw=None)
    dets = segmenter(model).segment(painted_frame())
    assert dets.masks is not None
    assert boxes_of(dets) == [[400.0, 200.0, 900.0, 500.0]]
    assert_mask_is_rectangle(dets.masks[0], 300, 400, 500, 700)


def reference_mask(
    prob: npt.NDArray[np.float32], box_frame: list[float], box: Letterbox
) -> npt.NDArray[np.bool_]:
    """The slow way: proto mask -> input size -> padding cut -> frame size -> box crop."""
    (top, left), (new_h, new_w) = (box.pad_top, box.pad_left), box.resized_hw
    up = cv2.resize(prob, box.input_hw[::-1], interpolation=cv2.INTER_LINEAR)
    up = up[top : top + new_h, left : left + new_w]
    full = cv2.resize(up, box.frame_hw[::-1], interpolation=cv2.INTER_LINEAR) > 0.5
    x1, y1, x2, y2 = (math.ceil(v) for v in box_frame)
    crop = np.zeros(box.frame_hw, bool)
    crop[y1:y2, x1:x2] = True
    return full & crop


@pytest.mark.parametrize(
    ("frame_hw", "target_hw", "minimal_pad"),
    [
        ((720, 1280), (640, 640), False),
        ((720, 1280), (640, 640), True),
        ((500, 333), (320, 320), False),
    ],
)
def test_masks_match_the_full_frame_reference(
    frame_hw: tuple[int, int], target_hw: tuple[int, int], minimal_pad: bool
) -> None:
    rng = np.random.default_rng(1)
    box = plan_letterbox(frame_hw, target_hw, 32, minimal_pad)
    proto_h, proto_w = box.input_hw[0] // 4, box.input_hw[1] // 4
    noise = rng.normal(0, 3, (proto_h, proto_w, 32)).astype(np.float32)
    smooth = cv2.GaussianBlur(noise, (0, 0), 2)  # blobs a few cells wide, like real protos
    protos = np.ascontiguousarray(smooth.transpose(2, 0, 1), dtype=np.float32)
    centres = rng.uniform(0, box.input_hw[::-1], (12, 2))
    sizes = rng.uniform(10, 200, (12, 2))
    boxes_in = np.concatenate([centres - sizes / 2, centres + sizes / 2], axis=1)
    boxes = boxes_to_frame(boxes_in.astype(np.float32), box)
    coeffs = rng.normal(0, 1, (12, 32)).astype(np.float32)
    ours = masks_in_frame(coeffs, protos, boxes, box)
    logits = np.clip(coeffs @ protos.reshape(32, -1), -60, 60).reshape(12, proto_h, proto_w)
    probs = (1 / (1 + np.exp(-logits))).astype(np.float32)
    wrong = inside = 0
    for mask, prob, box_frame in zip(ours, probs, boxes.tolist(), strict=True):
        expected = reference_mask(prob, box_frame, box)
        wrong += int((mask ^ expected).sum())
        inside += int(expected.sum())
    # One bilinear warp instead of two resizes: only contour pixels may differ.
    assert inside > 10_000 and wrong < 0.005 * inside


def gray_frames() -> list[Image]:
    # Mean 0.2, 0.4, 0.6, 0.8: the stub adds it to the first anchor's score.
    return [frame((640, 640), v) for v in (51, 102, 153, 204)]


@pytest.mark.parametrize(("dynamic_batch", "calls"), [(True, 1), (False, 4)])
def test_batch_of_four_keeps_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dynamic_batch: bool, calls: int
) -> None:
    model = write_model(
        tmp_path / "m.onnx",
        [anchor(*CENTRE_BOX, scores=[0.0])],
        dynamic_batch=dynamic_batch,
        score_from_brightness=True,
    )
    seg = segmenter(model, conf_threshold=0.3)
    shapes: list[tuple[int, ...]] = []
    infer = seg.infer

    def counting_infer(tensor: npt.NDArray[np.float32]) -> list[npt.NDArray[np.float32]]:
        shapes.append(tensor.shape)
        return infer(tensor)

    monkeypatch.setattr(seg, "infer", counting_infer)
    results = seg.segment_batch(gray_frames())
    assert len(shapes) == calls
    assert [len(d) for d in results] == [0, 1, 1, 1]
    scores = [d.scores.tolist() for d in results[1:]]
    # onnxruntime sums 1.2 M float32 values for the mean: about 1e-3 off.
    assert scores == [[pytest.approx(s, abs=3e-3)] for s in (0.4, 0.6, 0.8)]
    assert boxes_of(results[3]) == [[220.0, 270.0, 420.0, 370.0]]
    assert seg.segment_batch([]) == []


def test_batch_of_frames_of_different_sizes(tmp_path: Path) -> None:
    model = write_model(tmp_path / "m.onnx", [anchor(*CENTRE_BOX, scores=[0.9])], input_hw=None)
    seg = segmenter(model)
    results = seg.segment_batch([frame(), frame((1280, 720)), frame((640, 640))])
    assert [boxes_of(d) for d in results] == [
        [CENTRE_BOX_FRAME],
        [[160.0, 540.0, 560.0, 740.0]],  # portrait: 140 grey columns on the left
        [[220.0, 270.0, 420.0, 370.0]],
    ]
    assert [d.frame_shape for d in results] == [FRAME_HW, (1280, 720), (640, 640)]


def test_settings_build_the_segmenter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = write_model(tmp_path / "m.onnx", [anchor(*CENTRE_BOX, scores=[0.4])])
    monkeypatch.chdir(tmp_path)  # no stray .env
    settings = load_settings(segmenter="yolo_onnx", model_path=model, conf_threshold=0.5)
    seg = create_segmenter(settings.vision)
    assert seg.name == "yolo_onnx"
    assert len(seg.segment(frame())) == 0  # CONF_THRESHOLD=0.5 reached the segmenter


def error_message(path: Path, **kwargs: Any) -> str:
    with pytest.raises(ModelLoadError) as info:
        segmenter(path, **kwargs)
    message = str(info.value)
    assert "\n" not in message and "Traceback" not in message
    assert info.value.__cause__ is None
    return message


def test_missing_model_file(tmp_path: Path) -> None:
    missing = tmp_path / "x.onnx"
    assert error_message(missing) == f"MODEL_PATH={missing}: no such file"
    assert "directory" in error_message(tmp_path)


def test_file_that_is_not_onnx(tmp_path: Path) -> None:
    path = tmp_path / "weights.onnx"
    path.write_bytes(b"PK\x03\x04 this is a .pt checkpoint, not an export")
    message = error_message(path)
    assert str(path) in message and "not a readable ONNX model" in message
    assert "yolo export format=onnx" in message


@pytest.mark.parametrize("out_shape", [[1, 1000], [1, 8400, 37], [1, 3, 8400]])
def test_onnx_model_that_is_not_yolo(tmp_path: Path, out_shape: list[int]) -> None:
    path = write_onnx_graph(tmp_path / "classifier.onnx", out_shape)
    message = error_message(path)
    assert "not those of a YOLOv8/YOLO11" in message and str(out_shape) in message


@pytest.mark.parametrize(
    "image",
    [np.zeros((72, 128), np.uint8), np.zeros((72, 128, 4), np.uint8), frame().astype(float)],
)
def test_frames_that_are_not_rgb_bytes_are_refused(tmp_path: Path, image: Image) -> None:
    model = write_model(tmp_path / "m.onnx", [anchor(*CENTRE_BOX, scores=[0.9])])
    with pytest.raises(InvalidImage, match="expected an"):
        segmenter(model).segment(image)


def test_class_settings_that_do_not_fit_the_model(tmp_path: Path) -> None:
    model = write_model(tmp_path / "m.onnx", [], names={0: "cow", 1: "sheep"})
    assert "set TARGET_CLASS_IDS" in error_message(model)
    assert "TARGET_CLASS_IDS=[5]" in error_message(model, target_class_ids=[5])


@pytest.mark.parametrize("kind", ["seg", "det"])
def test_shared_models_run_on_a_wide_frame(shared_models: Path, kind: str) -> None:
    seg = segmenter(shared_models / f"yolo11n-{kind}-pig-random.onnx", conf_threshold=0.005)
    assert seg.info.task == ("segment" if kind == "seg" else "detect")
    assert seg.info.names == {0: "pig"} and seg.target_hw == (640, 640)
    image = np.random.default_rng(0).integers(0, 256, (*FRAME_HW, 3), dtype=np.uint8)
    dets, again = seg.segment_batch([image, image])
    assert len(dets) > 0 and dets.frame_shape == FRAME_HW
    assert np.allclose(dets.boxes, again.boxes, atol=1e-2)
    x1, y1, x2, y2 = dets.boxes.T
    assert (x1 >= 0).all() and (x2 <= 1280).all() and (y1 >= 0).all() and (y2 <= 720).all()
    assert (x2 >= x1).all() and (y2 >= y1).all() and (dets.scores > 0.005).all()
    if kind == "det":
        assert dets.masks is None
        return
    assert dets.masks is not None and dets.masks.shape == (len(dets), *FRAME_HW)
    for mask, (bx1, by1, bx2, by2) in zip(dets.masks, dets.boxes.tolist(), strict=True):
        outside = np.ones(FRAME_HW, bool)
        outside[int(by1) : int(np.ceil(by2)), int(bx1) : int(np.ceil(bx2))] = False
        assert not mask[outside].any()

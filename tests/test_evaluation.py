"""`pigweight eval` backend: tiny labelled sets in every label form, a segmenter with known
answers, and metrics checked against values worked out by hand."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage
from skimage.draw import polygon as fill_polygon

from pigweight.domain import Detections, Image
from pigweight.evaluation import (
    InvalidDataset,
    evaluate_dataset,
    format_report,
    load_dataset,
)
from pigweight.evaluation.metrics import count_errors
from pigweight.media.images import load_image

Rect = tuple[int, int, int, int]  # x1, y1, x2, y2 pixels, x2/y2 exclusive


class ScriptedSegmenter:
    """Answers image after image with detections fixed in advance (the set's sorted order)."""

    name = "scripted"

    def __init__(self, answers: Sequence[Detections]) -> None:
        self.answers = list(answers)
        self.calls = 0

    def segment(self, image: Image) -> Detections:
        answer = self.answers[self.calls]
        self.calls += 1
        return answer

    def segment_batch(self, images: Sequence[Image]) -> list[Detections]:
        return [self.segment(image) for image in images]


def detections(frame_hw: tuple[int, int], rects: Sequence[Rect], masks: bool = True) -> Detections:
    """One detection per rectangle; masks fill exactly the rectangle's pixels."""
    n = len(rects)
    mask_array = np.zeros((n, *frame_hw), bool)
    for i, (x1, y1, x2, y2) in enumerate(rects):
        mask_array[i, y1:y2, x1:x2] = True
    return Detections(
        boxes=np.array(rects, np.float32).reshape(n, 4),
        scores=np.full(n, 0.9, np.float32),
        class_ids=np.zeros(n, np.int64),
        masks=mask_array if masks else None,
        frame_shape=frame_hw,
    )


def write_images(root: Path, names: Sequence[str], frame_hw: tuple[int, int]) -> None:
    (root / "images").mkdir(parents=True)
    for name in names:
        pixels = np.full((*frame_hw, 3), 90, np.uint8)
        PILImage.fromarray(pixels).save(root / "images" / name)


def test_counts_only_set_gives_count_errors_and_no_precision(tmp_path: Path) -> None:
    write_images(tmp_path, ["a.png", "b.png", "c.png"], (20, 30))
    # A column name other than `count`, as in farrowing_piglets.
    (tmp_path / "counts.csv").write_text("image,piglets_labelled\na.png,2\nb.png,0\nc.png,5\n")
    hw = (20, 30)
    fake = ScriptedSegmenter(
        [
            detections(hw, [(0, 0, 5, 5), (10, 0, 15, 5)]),
            detections(hw, [(0, 0, 5, 5)]),
            detections(hw, [(0, 0, 5, 5), (10, 0, 15, 5), (20, 0, 25, 5)]),
        ]
    )
    seen: list[tuple[int, int]] = []

    report = evaluate_dataset(
        fake, load_dataset(tmp_path), progress=lambda d, t: seen.append((d, t))
    )

    data = json.loads(json.dumps(report.to_json()))
    assert seen == [(1, 3), (2, 3), (3, 3)]
    assert [(i["image"], i["true"], i["predicted"]) for i in data["images"]] == [
        ("a.png", 2, 2),
        ("b.png", 0, 1),
        ("c.png", 5, 3),
    ]
    # errors 0, 1, 2
    assert data["mae"] == pytest.approx(1.0)
    assert data["rmse"] == pytest.approx(math.sqrt(5 / 3), abs=1e-4)
    assert data["exact"] == pytest.approx(1 / 3, abs=1e-4)
    assert data["within1"] == pytest.approx(2 / 3, abs=1e-4)
    assert data["precision"] is None and data["recall"] is None
    assert data["dataset"] == tmp_path.name and data["segmenter"] == "scripted"
    assert data["ms_per_image"] >= 0
    text = format_report(report)
    assert "MAE          1.00" in text and "RMSE         1.29" in text
    assert "exact        33.3%" in text and "within ±1    66.7%" in text
    assert "no per-animal labels" in text
    assert any(
        line.startswith("c.png") and " 5 " in line and "-2" in line for line in text.splitlines()
    )


@pytest.mark.parametrize("masks", [True, False], ids=["masks", "boxes"])
def test_points_match_one_to_one(tmp_path: Path, masks: bool) -> None:
    hw = (40, 60)
    write_images(tmp_path, ["pen.jpg"], hw)
    # Two points on animal A, one on B, one on nothing; C has no point.
    (tmp_path / "points.csv").write_text(
        "image,x,y\npen.jpg,5,5\npen.jpg,6,6\npen.jpg,30,20\npen.jpg,50,35\n"
    )
    rects = [(0, 0, 10, 10), (25, 15, 35, 25), (0, 30, 10, 40)]
    fake = ScriptedSegmenter([detections(hw, rects, masks=masks)])

    dataset = load_dataset(tmp_path)
    report = evaluate_dataset(fake, dataset)

    assert dataset.count_source == "points.csv" and dataset.label_kind == "points"
    result = report.images[0]
    assert (result.true, result.predicted, result.labelled, result.matched) == (4, 3, 4, 2)
    assert report.precision == pytest.approx(2 / 3)
    assert report.recall == pytest.approx(2 / 4)
    assert report.errors.mae == 1.0 and report.errors.within1 == 1.0
    assert "precision    0.667" in format_report(report)


@pytest.mark.parametrize("masks", [True, False], ids=["masks", "boxes"])
def test_frame_boxes_match_at_iou_one_half(tmp_path: Path, masks: bool) -> None:
    hw = (30, 40)
    write_images(tmp_path, ["00000001.jpg", "00000002.jpg"], hw)
    (tmp_path / "labels.txt").write_text(
        "# frame,x_left,y_top,width,height\n1,0,0,10,10\n1,20,0,10,10\n7,0,0,5,5\n"
    )
    fake = ScriptedSegmenter(
        [
            # IoU 50/100 = 0.5 matches; IoU 40/100 = 0.4 does not.
            detections(hw, [(0, 0, 10, 5), (20, 0, 30, 4)], masks=masks),
            detections(hw, [], masks=masks),  # frame 2: no pigs, none found
        ]
    )

    report = evaluate_dataset(fake, load_dataset(tmp_path))

    assert [(r.true, r.predicted, r.labelled, r.matched) for r in report.images] == [
        (2, 2, 2, 1),
        (0, 0, 0, 0),
    ]
    assert report.precision == pytest.approx(0.5)
    assert report.recall == pytest.approx(0.5)
    assert report.errors.mae == 0.0 and report.errors.exact == 1.0


def test_rotated_and_plain_xml_boxes(tmp_path: Path) -> None:
    hw = (64, 64)
    write_images(tmp_path, ["000000.jpg"], hw)
    (tmp_path / "xmls").mkdir()
    # 20 x 10 box turned a quarter: it stands upright over x 25-35, y 20-40.
    (tmp_path / "xmls" / "000000.xml").write_text(
        "<annotation><object><type>robndbox</type><name>piglet</name><robndbox>"
        f"<cx>30</cx><cy>30</cy><w>20</w><h>10</h><angle>{math.pi / 2}</angle>"
        "</robndbox></object><object><name>piglet</name><bndbox>"
        "<xmin>40</xmin><ymin>40</ymin><xmax>60</xmax><ymax>60</ymax>"
        "</bndbox></object></annotation>"
    )
    upright, lying, half_of_plain = (25, 20, 35, 40), (20, 25, 40, 35), (40, 50, 60, 60)
    fake = ScriptedSegmenter([detections(hw, [lying, upright, half_of_plain])])

    dataset = load_dataset(tmp_path)
    report = evaluate_dataset(fake, dataset)

    assert dataset.label_kind == "polygons" and dataset.items[0].true_count == 2
    # `lying` overlaps the upright box by 100 of 300 px: not the same animal.
    assert (report.images[0].matched, report.images[0].predicted) == (2, 3)
    assert report.precision == pytest.approx(2 / 3)
    assert report.recall == pytest.approx(1.0)


def test_yolo_polygons_and_boxes_in_pixels(tmp_path: Path) -> None:
    hw = (50, 100)  # not square: x scales by 100, y by 50
    write_images(tmp_path, ["a.jpg", "b.jpg"], hw)
    (tmp_path / "labels").mkdir()
    (tmp_path / "labels" / "a.txt").write_text(
        "0 0.1 0.2 0.3 0.2 0.3 0.6 0.1 0.6\n0 0.7 0.5 0.2 0.4\n"
    )  # b.jpg has no label file: no pigs there (YOLO convention)
    fake = ScriptedSegmenter(
        [
            detections(hw, [(10, 10, 30, 30), (60, 15, 80, 35)]),
            detections(hw, [(0, 0, 8, 8)]),
        ]
    )

    report = evaluate_dataset(fake, load_dataset(tmp_path))

    assert [(r.true, r.predicted, r.matched) for r in report.images] == [(2, 2, 2), (0, 1, 0)]
    assert report.precision == pytest.approx(2 / 3)
    assert report.recall == pytest.approx(1.0)
    assert report.errors.mae == pytest.approx(0.5)


def test_empty_pen_is_perfect_when_nothing_is_found(tmp_path: Path) -> None:
    write_images(tmp_path, ["empty.png"], (16, 16))
    (tmp_path / "counts.csv").write_text("image,count\nempty.png,0\n")
    (tmp_path / "points.csv").write_text("image,x,y\n")

    report = evaluate_dataset(
        ScriptedSegmenter([Detections.empty((16, 16))]), load_dataset(tmp_path)
    )

    data = report.to_json()
    assert (data["mae"], data["rmse"], data["exact"], data["within1"]) == (0.0, 0.0, 1.0, 1.0)
    assert (data["precision"], data["recall"]) == (1.0, 1.0)
    assert count_errors([], []).mae == 0.0


def test_overlays_are_written_per_image(tmp_path: Path) -> None:
    hw = (40, 60)
    write_images(tmp_path / "set", ["pen.jpg"], hw)
    (tmp_path / "set" / "points.csv").write_text("image,x,y\npen.jpg,30,20\n")
    fake = ScriptedSegmenter([detections(hw, [(25, 15, 35, 25)])])

    evaluate_dataset(fake, load_dataset(tmp_path / "set"), overlay_dir=tmp_path / "out")

    overlay = load_image(tmp_path / "out" / "pen.jpg")
    assert overlay.shape == (*hw, 3)
    red, green = int(overlay[20, 30, 0]), int(overlay[20, 30, 1])
    assert red > 150 and green < 120  # the labelled point is drawn in red on the animal


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({}, "images/"),
        ({"images/a.png": None}, "counts.csv"),
        ({"images/a.png": None, "counts.csv": "image,count\nb.png,3\n"}, "'b.png'"),
        ({"images/a.png": None, "counts.csv": "image,count\na.png,many\n"}, "counts.csv:2"),
        ({"images/a.png": None, "labels/a.txt": "0 0.5 0.5\n"}, "a.txt:1"),
        ({"images/notes.txt": "x"}, "no photos"),
    ],
    ids=["no-images", "no-truth", "unknown-image", "bad-count", "bad-yolo", "no-photos"],
)
def test_not_a_dataset_names_what_is_missing(
    tmp_path: Path, files: dict[str, str | None], message: str
) -> None:
    for rel, text in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if text is None:
            PILImage.new("RGB", (8, 8)).save(path)
        else:
            path.write_text(text)
    with pytest.raises(InvalidDataset, match=message.replace("/", ".").replace("'", ".")) as err:
        load_dataset(tmp_path)
    assert isinstance(err.value, ValueError)


def test_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InvalidDataset, match="no such folder"):
        load_dataset(tmp_path / "nowhere")


SHARED_SETS = [
    # set, images, true counts (first few), total count, count source, label kind
    ("weaner_pen_topview", 3, [14, 24, 24], 62, "counts.csv", "points"),
    ("farrowing_piglets", 9, [10, 10, 10, 10, 9, 9, 11, 11, 11], 91, "counts.csv", "polygons"),
    ("grower_pen_oblique", 40, [30, 30, 31, 33], 1214, "counts.csv", "boxes"),
    ("seg_labels_sideview", 15, [1, 3, 1], 21, "labels/", "polygons"),
    ("piglet_weight_crops", 40, [1, 1, 1], 40, "labels.csv", None),
]


@pytest.mark.shared
@pytest.mark.parametrize(("name", "n", "first", "total", "source", "kind"), SHARED_SETS)
def test_every_shared_set_loads(
    shared_data: Path,
    name: str,
    n: int,
    first: list[int],
    total: int,
    source: str,
    kind: str | None,
) -> None:
    dataset = load_dataset(shared_data / name)

    counts = [item.true_count for item in dataset.items]
    assert len(dataset) == n
    assert counts[: len(first)] == first and sum(counts) == total
    assert (dataset.count_source, dataset.label_kind) == (source, kind)
    for item in dataset.items:
        if kind is not None:
            assert item.labels is not None and len(item.labels) == item.true_count


@pytest.mark.shared
def test_farrowing_labels_as_masks_score_perfectly(shared_data: Path) -> None:
    """A segmenter that returns the rotated boxes themselves must be found perfect."""
    dataset = load_dataset(shared_data / "farrowing_piglets")
    answers = []
    for item in dataset.items[:3]:
        assert item.labels is not None
        hw = (1024, 1024)
        masks = np.zeros((len(item.labels), *hw), bool)
        for i, outline in enumerate(item.labels.outlines):
            rows, cols = fill_polygon(outline[:, 1] - 0.5, outline[:, 0] - 0.5, hw)
            masks[i, rows, cols] = True
        boxes = np.array(
            [[*o.min(axis=0), *o.max(axis=0)] for o in item.labels.outlines], np.float32
        )
        n = len(boxes)
        answers.append(
            Detections(
                boxes, np.ones(n, np.float32), np.zeros(n, np.int64), masks=masks, frame_shape=hw
            )
        )
    subset = replace(dataset, items=dataset.items[:3])

    report = evaluate_dataset(ScriptedSegmenter(answers), subset)

    assert report.errors.mae == 0.0
    assert (report.precision, report.recall) == (1.0, 1.0)


@pytest.mark.parametrize(("angle_rad", "matched"), [(math.pi / 4, 1), (-math.pi / 4, 0)])
def test_positive_roLabelImg_angle_turns_clockwise_on_screen(
    tmp_path: Path, angle_rad: float, matched: int
) -> None:
    hw = (64, 64)
    write_images(tmp_path, ["000000.jpg"], hw)
    (tmp_path / "xmls").mkdir()
    (tmp_path / "xmls" / "000000.xml").write_text(
        "<annotation><object><robndbox><cx>32</cx><cy>32</cy><w>56</w><h>8</h>"
        f"<angle>{angle_rad}</angle></robndbox></object></annotation>"
    )
    # A thick stroke from top-left to bottom-right, as the farrowing labels are drawn.
    mask = np.zeros(hw, bool)
    ys, xs = np.mgrid[0:64, 0:64]
    mask[(np.abs(xs - ys) <= 5) & (np.abs(xs + ys - 64) <= 40)] = True
    stroke = Detections(
        np.array([[4, 4, 60, 60]], np.float32),
        np.ones(1, np.float32),
        np.zeros(1, np.int64),
        masks=mask[None],
    )

    report = evaluate_dataset(ScriptedSegmenter([stroke]), load_dataset(tmp_path))

    assert report.images[0].matched == matched

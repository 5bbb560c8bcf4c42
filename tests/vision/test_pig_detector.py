"""The shipped pig detector is the default counter; classic takes over when its file is missing."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from pigweight.domain import Detections
from pigweight.settings import load_settings
from pigweight.synthetic.scene import render_scene
from pigweight.vision import pig_detector
from pigweight.vision.count_confidence import edge_doubt, layout_doubt, score_doubt
from pigweight.vision.overlay import mask_outlines
from pigweight.vision.pig_model import DEFAULT_MODEL
from pigweight.vision.segmenter import create_segmenter
from pigweight.vision.zone import Zone, split


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("SEGMENTER", "MODEL_PATH", "CONF_THRESHOLD"):
        monkeypatch.delenv(name, raising=False)


def test_the_package_ships_the_model_and_counts_with_it_by_default() -> None:
    assert DEFAULT_MODEL.is_file()
    assert DEFAULT_MODEL.stat().st_size < 15 * 1024 * 1024
    segmenter = create_segmenter(load_settings(preload_model=False).vision)
    assert segmenter.name == "pig"
    assert 0.05 < segmenter.conf_threshold < 0.95  # the threshold picked at training


def test_classic_counts_when_the_model_file_is_missing(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(pig_detector, "default_model_present", lambda: False)
    with caplog.at_level(logging.WARNING):
        segmenter = create_segmenter(load_settings(preload_model=False).vision)
    assert segmenter.name == "classic"
    assert "pigweight train --recipe default" in caplog.text


@pytest.mark.parametrize(("seed", "animals"), [(21, 6), (22, 14), (23, 25)])
def test_it_counts_a_platform_it_never_saw(seed: int, animals: int) -> None:
    frame = render_scene(seed, animals, width=1280, height=720)
    found = create_segmenter(load_settings(preload_model=False).vision).segment(frame.image)
    assert abs(len(found) - frame.count) <= 1
    masks = found.outline_masks()
    assert masks is not None and masks.shape == (len(found), 720, 1280)
    assert 0.0 <= found.confidence <= 1.0


def test_outlines_are_drawn_only_when_something_shows_them() -> None:
    frame = render_scene(24, 10, width=1280, height=720)
    found = create_segmenter(load_settings(preload_model=False).vision).segment(frame.image)
    assert len(found) >= 5
    assert found.masks is None  # counting does not pay for 720p masks nobody looks at
    left_half = Zone.of([(0, 0), (0.5, 0), (0.5, 1), (0, 1)])
    counted, _ = split(found, left_half)
    assert 0 < len(counted) < len(found)
    masks = counted.outline_masks()
    assert masks is not None and masks.shape == (len(counted), 720, 1280)
    for box, mask in zip(counted.boxes, masks, strict=True):
        x1, y1, x2, y2 = box.astype(int)
        assert mask[(y1 + y2) // 2, (x1 + x2) // 2]  # the ellipse fills its box's centre
        assert not mask[min(y1 + 1, 719), min(x1 + 1, 1279)]  # and leaves its corners
        assert not mask[:, : max(0, x1 - 1)].any() and not mask[:, x2 + 2 :].any()
    polygons = mask_outlines(found)  # what the live view sends the browser
    assert len(polygons) == len(found) and all(len(p) > 4 for p in polygons)


def test_an_empty_floor_is_counted_as_none_and_sure() -> None:
    floor = np.full((360, 640, 3), (96, 92, 88), np.uint8)
    found = create_segmenter(load_settings(preload_model=False).vision).segment(floor)
    assert len(found) == 0
    assert found.confidence > 0.9


def test_doubt_grows_with_what_a_person_would_hesitate_over() -> None:
    # scores: far above the threshold is sure, just above or just below is doubt
    assert score_doubt(np.array([0.9, 0.95]), np.array([0.05]), 0.4) == 0.0
    assert score_doubt(np.array([0.41]), np.array([]), 0.4) > 0.4
    assert score_doubt(np.array([]), np.array([0.39]), 0.4) > 0.4
    # two boxes on one animal, and a box twice the usual size
    row = np.array([[0, 0, 10, 10], [20, 0, 30, 10], [40, 0, 50, 10], [60, 0, 70, 10]], float)
    assert layout_doubt(row) == 0.0
    assert layout_doubt(np.vstack([row, [[1, 1, 11, 11]]])) > 0
    assert layout_doubt(np.vstack([row, [[80, 0, 100, 20]]])) > 0
    # an anchor on the zone's edge
    assert edge_doubt(np.array([1.0, 50.0]), np.array([20.0, 20.0])) == 0.5


def test_an_animal_astride_the_zone_edge_lowers_the_confidence() -> None:
    boxes = np.array([[10, 10, 30, 30], [90, 40, 110, 60]], np.float32)
    found = Detections(boxes, np.array([0.9, 0.9]), np.zeros(2), frame_shape=(100, 200), doubt=0.0)
    inside_both = Zone.of([[0, 0], [0.8, 0], [0.8, 1], [0, 1]])
    astride = Zone.of([[0, 0], [0.5, 0], [0.5, 1], [0, 1]])  # the edge at x = 100
    assert split(found, inside_both)[0].confidence == 1.0
    counted, _ = split(found, astride)
    assert len(counted) == 2 and counted.confidence < 0.7

"""The platform zone: which animals count, and what a bad zone is told."""

from __future__ import annotations

import numpy as np
import pytest

from pigweight.domain import Detections
from pigweight.vision.overlay import draw_overlay
from pigweight.vision.zone import Zone, parse_zone_json, split

H, W = 100, 200
LEFT_HALF = [[0.0, 0.0], [0.5, 0.0], [0.5, 1.0], [0.0, 1.0]]


def boxes_only(*boxes: tuple[float, float, float, float]) -> Detections:
    return Detections(
        boxes=np.array(boxes, np.float32).reshape(-1, 4),
        scores=np.full(len(boxes), 0.9),
        class_ids=np.zeros(len(boxes), np.int64),
        frame_shape=(H, W),
    )


@pytest.mark.parametrize(
    ("boxes", "inside"),
    [
        ([], []),
        ([(10, 10, 50, 50)], [True]),  # centre (30, 30): left half
        ([(150, 10, 190, 50)], [False]),  # centre (170, 30): right half
        ([(80, 40, 120, 60)], [True]),  # centre x = 100 = the zone's edge: counted
        ([(10, 10, 50, 50), (150, 60, 190, 90), (60, 60, 90, 90)], [True, False, True]),
    ],
)
def test_box_centres_decide_without_masks(
    boxes: list[tuple[float, float, float, float]], inside: list[bool]
) -> None:
    detections = boxes_only(*boxes)
    counted, flags = split(detections, Zone.of(LEFT_HALF))
    assert flags.tolist() == inside
    assert len(counted) == sum(inside)


def test_a_mask_centroid_beats_its_box_centre() -> None:
    # The box spans both halves (centre x = 105, right) but the animal lies in the left one:
    # a long thin tail of the box reaches right, the body is on the left.
    masks = np.zeros((1, H, W), bool)
    masks[0, 20:80, 10:90] = True
    masks[0, 48:50, 90:200] = True
    detections = Detections(
        boxes=np.array([[10, 20, 199, 79]], np.float32),
        scores=np.array([0.9]),
        class_ids=np.zeros(1, np.int64),
        masks=masks,
    )
    assert split(detections, Zone.of(LEFT_HALF))[1].tolist() == [True]
    boxes = Detections(
        detections.boxes, detections.scores, detections.class_ids, None, None, (H, W)
    )
    assert split(boxes, Zone.of(LEFT_HALF))[1].tolist() == [False]


def test_no_zone_counts_everyone() -> None:
    detections = boxes_only((10, 10, 50, 50), (150, 10, 190, 50))
    counted, flags = split(detections, None)
    assert len(counted) == 2 and flags.all()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ([[0, 0], [1, 0]], "at least 3"),
        ([[0, 0], [1, 0], [1.5, 1]], "point 3 x: must be in 0-1"),
        ([[0, 0], [0.5, 0.5], [1, 1]], "no area"),
        ([[0, 0], [1, 0], [1]], "point 3: a point is [x, y]"),
        ("corner", "write it as [[x, y], ...]"),
        ([[0.1 * (i % 10), 0.5] for i in range(65)], "at most 64"),
    ],
)
def test_a_bad_zone_says_what_to_fix(value: object, message: str) -> None:
    with pytest.raises(ValueError, match="zone") as info:
        parse_zone_json(value)
    assert message in str(info.value)


def test_a_good_zone_round_trips_and_null_is_none() -> None:
    zone = parse_zone_json([[0.1, 0.2], [0.9, 0.2], [0.5, 0.8]])
    assert zone is not None and zone.to_json() == [[0.1, 0.2], [0.9, 0.2], [0.5, 0.8]]
    assert parse_zone_json(None) is None


def test_the_overlay_greys_animals_outside_and_outlines_the_zone() -> None:
    masks = np.zeros((2, H, W), bool)
    masks[0, 30:70, 20:70] = True
    masks[1, 30:70, 130:180] = True
    detections = Detections(
        boxes=np.array([[20, 30, 70, 70], [130, 30, 180, 70]], np.float32),
        scores=np.array([0.9, 0.9]),
        class_ids=np.zeros(2, np.int64),
        masks=masks,
    )
    zone = Zone.of(LEFT_HALF)
    _, inside = split(detections, zone)
    image = np.full((H, W, 3), 40, np.uint8)
    out = draw_overlay(image, detections, inside=inside, zone=zone)
    outside_px = out[35, 135].astype(int)
    assert abs(outside_px[0] - outside_px[1]) < 3 and abs(outside_px[1] - outside_px[2]) < 3
    inside_px = out[35, 25].astype(int)
    assert inside_px.max() - inside_px.min() > 10  # a pastel colour, not grey
    assert not np.array_equal(out[5, 100], [40, 40, 40])  # the zone's right edge is drawn
    assert np.array_equal(out[90, 150], [40, 40, 40])  # floor away from both: untouched

"""Where the synthetic piglets stand, and how they walk on and off the platform.

A group packs itself on the platform (touching, small overlaps), then each animal gets a
path: in through the left gate to its place, later out through the right gate. The first
to enter go farthest, the first to leave stand nearest the exit, so paths rarely cross.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from pigweight.synthetic.floor import Platform

Array = npt.NDArray[np.float64]

# Each animal is approximated by circles along its axis: offsets and radii in body lengths
# (trunk circles have the half body width as radius, the head a smaller one).
_CIRCLE_OFFSETS = np.array([-0.3, -0.1, 0.1, 0.32])
_CIRCLE_RADII_OF_HALF_WIDTH = np.array([1.0, 1.0, 1.0, 0.65])
_KEEP_APART = 0.95  # circles of neighbours may overlap by 5 % of their radii: touching
_WALK_SPEED_LENGTHS_S = 2.2  # a driven weaner trots about a metre a second
_STAND_MIN_S = 8.0
_EMPTY_S = 1.5


@dataclass(frozen=True, slots=True)
class Layout:
    """Standing places of a group: centres (n, 2) pixels and headings (n,) radians."""

    centres: Array
    headings: Array


def _circles(layout: Layout, lengths: Array, half_widths: Array) -> tuple[Array, Array, Array]:
    """Circle centres (n, k, 2), radii (n, k) and offsets (n, k) in pixels."""
    offsets = lengths[:, None] * _CIRCLE_OFFSETS[None, :]
    direction = np.stack([np.cos(layout.headings), np.sin(layout.headings)], 1)
    centres = layout.centres[:, None, :] + offsets[..., None] * direction[:, None, :]
    radii = half_widths[:, None] * _CIRCLE_RADII_OF_HALF_WIDTH[None, :]
    return centres, radii, offsets


def _relax_step(
    layout: Layout, lengths: Array, half_widths: Array, box: Array
) -> tuple[Layout, float]:
    """Push overlapping animals apart and back inside `box` (x0, y0, x1, y1)."""
    n = len(lengths)
    centres, radii, offsets = _circles(layout, lengths, half_widths)
    flat_c, flat_r = centres.reshape(-1, 2), radii.reshape(-1)
    owner = np.repeat(np.arange(n), len(_CIRCLE_OFFSETS))
    delta = flat_c[:, None, :] - flat_c[None, :, :]
    dist = np.sqrt((delta**2).sum(-1)) + 1e-6
    depth = np.clip(_KEEP_APART * (flat_r[:, None] + flat_r[None, :]) - dist, 0, None)
    depth[owner[:, None] == owner[None, :]] = 0
    push = (delta / dist[..., None] * depth[..., None] / 2).sum(1)
    low = np.array(box[:2]) + flat_r[:, None]
    high = np.array(box[2:]) - flat_r[:, None]
    push += np.clip(low - flat_c, 0, None) - np.clip(flat_c - high, 0, None)
    push = push.reshape(n, -1, 2)
    direction = np.stack([np.cos(layout.headings), np.sin(layout.headings)], 1)
    normal = np.stack([-direction[:, 1], direction[:, 0]], 1)
    torque = (offsets * (push * normal[:, None, :]).sum(-1)).sum(1) / (offsets**2).sum(1)
    moved = Layout(layout.centres + push.mean(1), layout.headings + 0.5 * torque)
    return moved, float(depth.max(initial=0.0))


def pack_group(
    rng: np.random.Generator, platform: Platform, lengths: Array, half_widths: Array
) -> Layout:
    """Places where the group stands: crowded toward a point, touching, inside the rails."""
    n = len(lengths)
    margin = float(lengths.max()) * 0.12  # ears and snouts may reach a little further
    box = np.array(
        [platform.x0 + margin, platform.y0 + margin, platform.x1 - margin, platform.y1 - margin]
    )
    size = box[2:] - box[:2]
    centres = box[:2] + rng.uniform(0.1, 0.9, (n, 2)) * size
    # weaners lie and stand side by side: most share the long axis of the platform
    aligned = rng.random(n) < 0.7
    headings = np.where(
        aligned, rng.choice([0, np.pi], n) + rng.normal(0, 0.35, n), rng.uniform(-np.pi, np.pi, n)
    )
    layout = Layout(centres, headings)
    huddle = box[:2] + rng.uniform(0.35, 0.65, 2) * size
    for step in range(400):
        pull = 0.003 if step < 300 else 0.0
        layout = Layout(layout.centres + pull * (huddle - layout.centres), layout.headings)
        layout, depth = _relax_step(layout, lengths, half_widths, box)
        if step >= 300 and depth < 0.5:
            break
    return layout


@dataclass(frozen=True, slots=True)
class Path:
    """A polyline walked at constant speed."""

    points: Array  # (m, 2) pixels
    cumulative: Array  # (m,) arc length at each point

    @classmethod
    def through(cls, points: Array) -> Path:
        seg = np.sqrt((np.diff(points, axis=0) ** 2).sum(1))
        return cls(points, np.concatenate([[0.0], np.cumsum(seg)]))

    @property
    def length(self) -> float:
        return float(self.cumulative[-1])

    def at(self, distance: float) -> Array:
        d = float(np.clip(distance, 0, self.length))
        x = np.interp(d, self.cumulative, self.points[:, 0])
        y = np.interp(d, self.cumulative, self.points[:, 1])
        return np.array([x, y])

    def heading(self, distance: float, look_px: float) -> float:
        ahead = self.at(distance + look_px) - self.at(distance - look_px)
        return float(np.arctan2(ahead[1], ahead[0]))


@dataclass(frozen=True, slots=True)
class Schedule:
    """One group's cycle: when each animal enters, stands and leaves (cycle seconds)."""

    layout: Layout
    lengths: Array
    path_in: list[Path]
    path_out: list[Path]
    enter_s: Array
    arrive_s: Array
    leave_s: Array
    gone_s: Array
    speed_px_s: float
    idle_phase: Array  # small movements while standing


def plan_group(
    rng: np.random.Generator, platform: Platform, layout: Layout, lengths: Array, cycle_s: float
) -> Schedule:
    """Walk-on, stand, walk-off of one group, squeezed into `cycle_s` if it must."""
    n = len(lengths)
    body = float(np.median(lengths))
    lanes = platform.gate_y0 + (platform.gate_y1 - platform.gate_y0) * np.array([0.3, 0.7])
    order = np.argsort(-layout.centres[:, 0])  # farthest from the entry first
    speed = _WALK_SPEED_LENGTHS_S * body
    spacing_s = 1.15 * body / speed / 2  # two lanes, a little more than a body apart
    path_in: dict[int, Path] = {}
    path_out: dict[int, Path] = {}
    enter, leave_offset = np.zeros(n), np.zeros(n)
    for rank, k in enumerate(order):
        lane = lanes[rank % 2]
        start = [-0.7 * lengths[k], lane]
        gate = [platform.x0 + 0.4 * body, lane]
        path_in[k] = Path.through(np.array([start, gate, layout.centres[k]]))
        exit_gate = [platform.x1 - 0.4 * body, lane]
        end = [platform.width + 0.7 * lengths[k], lane]
        path_out[k] = Path.through(np.array([layout.centres[k], exit_gate, end]))
        enter[k] = rank * spacing_s + rng.uniform(0, 0.3 * spacing_s)
        leave_offset[k] = rank * spacing_s + rng.uniform(0, 0.3 * spacing_s)
    walk_in = np.array([path_in[k].length for k in range(n)]) / speed
    walk_out = np.array([path_out[k].length for k in range(n)]) / speed
    on_s = float((enter + walk_in).max())
    off_s = float((leave_offset + walk_out).max())
    natural = on_s + _STAND_MIN_S + off_s + _EMPTY_S
    squeeze = min(1.0, cycle_s / natural)  # short clips: everything just happens faster
    leave0 = cycle_s - _EMPTY_S * squeeze - off_s * squeeze
    return Schedule(
        layout=layout,
        lengths=lengths,
        path_in=[path_in[k] for k in range(n)],
        path_out=[path_out[k] for k in range(n)],
        enter_s=enter * squeeze,
        arrive_s=(enter + walk_in) * squeeze,
        leave_s=leave0 + leave_offset * squeeze,
        gone_s=leave0 + (leave_offset + walk_out) * squeeze,
        speed_px_s=speed / squeeze,
        idle_phase=rng.uniform(0, 2 * np.pi, (n, 2)),
    )


@dataclass(frozen=True, slots=True)
class Pose:
    """Where an animal is drawn: centre pixels, heading radians, gait phase (0 = standing)."""

    x: float
    y: float
    heading: float
    gait: int


def _turn(a: float, b: float, w: float) -> float:
    """Angle between a (w=0) and b (w=1) the short way round."""
    return a + w * float(np.angle(np.exp(1j * (b - a))))


def _walking(
    path: Path, distance: float, length: float, rest_heading: float, arriving: bool
) -> Pose:
    xy = path.at(distance)
    heading = path.heading(distance, 0.3 * length)
    near = (path.length - distance) if arriving else distance
    w = float(np.clip(1 - near / (0.8 * length), 0, 1))
    heading = _turn(heading, rest_heading, w * w)
    stride = 0.25 * length
    wobble = 0.07 * np.sin(2 * np.pi * distance / (2 * length))
    return Pose(float(xy[0]), float(xy[1]), heading + wobble, 1 + int(distance / stride) % 3)


def pose_at(schedule: Schedule, k: int, t_s: float) -> Pose | None:
    """Pose of animal k at cycle time t_s, None while it is off the scene."""
    if t_s < schedule.enter_s[k] or t_s >= schedule.gone_s[k]:
        return None
    length = float(schedule.lengths[k])
    rest = float(schedule.layout.headings[k])
    if t_s < schedule.arrive_s[k]:
        distance = (t_s - schedule.enter_s[k]) * schedule.speed_px_s
        return _walking(schedule.path_in[k], distance, length, rest, arriving=True)
    if t_s >= schedule.leave_s[k]:
        distance = (t_s - schedule.leave_s[k]) * schedule.speed_px_s
        return _walking(schedule.path_out[k], distance, length, rest, arriving=False)
    # standing: breathe, shift weight, turn the body a little; fade in and out smoothly
    fade = min(1.0, t_s - schedule.arrive_s[k], schedule.leave_s[k] - t_s)
    p0, p1 = schedule.idle_phase[k]
    sway = fade * np.sin(t_s * 0.9 + p0)
    x, y = schedule.layout.centres[k]
    return Pose(
        float(x + 0.012 * length * sway),
        float(y + 0.008 * length * np.sin(t_s * 0.7 + p1) * fade),
        rest + 0.05 * fade * float(np.sin(t_s * 0.5 + p1)),
        0,
    )

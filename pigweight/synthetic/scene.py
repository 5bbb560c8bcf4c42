"""Synthetic frames: the platform, the group of piglets and the exact ground truth."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from pigweight.domain import Image
from pigweight.synthetic import motion
from pigweight.synthetic.floor import Platform, draw_platform
from pigweight.synthetic.sprites import BODY_ALPHA, Sprite, draw_piglet, random_look, to_infrared
from pigweight.synthetic.stamp import draw_stamp

COUNT_MIN_INSIDE = 0.5  # an animal counts when >= half of its body lies inside the frame
_BODY_ALPHA_U8 = int(np.ceil(BODY_ALPHA * 255))
_FILL = 0.45  # share of the platform the largest group covers
_NOISE_PAD = 16


@dataclass(frozen=True)
class SynthFrame:
    """One rendered frame and its exact truth."""

    image: Image  # (H, W, 3) uint8 RGB
    labels: npt.NDArray[np.uint8]  # (H, W): 0 floor, k: visible pixels of drawn animal k-1
    animal_ids: tuple[int, ...]  # stable id of each drawn animal (1-based label order)
    counted: tuple[bool, ...]  # per drawn animal: >= 50 % of its body inside the frame

    @property
    def count(self) -> int:
        return sum(self.counted)

    @property
    def ids(self) -> tuple[int, ...]:
        """Stable ids of the counted animals, in `masks` order."""
        return tuple(i for i, c in zip(self.animal_ids, self.counted, strict=True) if c)

    @property
    def masks(self) -> npt.NDArray[np.bool_]:
        """(count, H, W) bool: visible (unoccluded) pixels of each counted animal."""
        keep = [k + 1 for k, c in enumerate(self.counted) if c]
        if not keep:
            return np.zeros((0, *self.labels.shape), bool)
        return self.labels[None, :, :] == np.array(keep, np.uint8)[:, None, None]


class Stage:
    """Everything that stays fixed in one scene: platform image, light, sensor noise."""

    def __init__(self, seed: int, width: int, height: int, ir: bool) -> None:
        rng = np.random.default_rng([seed, 7919])
        self.platform = Platform.for_frame(width, height, rng)
        image, self.light = draw_platform(self.platform, rng)
        self.ir = ir
        self.background = to_infrared(image) if ir else image
        sigma = 5.0 if ir else 2.5  # IR at night: a noisier sensor
        noise = rng.normal(0, sigma, (height + _NOISE_PAD, width + _NOISE_PAD, 3))
        if ir:
            noise[..., 1:] = noise[..., :1]
        self.noise_up = np.clip(noise, 0, 255).astype(np.uint8)
        self.noise_down = np.clip(-noise, 0, 255).astype(np.uint8)

    def body_length_px(self, n_max: int) -> float:
        p = self.platform
        area = (p.x1 - p.x0) * (p.y1 - p.y0)
        # a piglet from above covers about 0.3 L^2 (body 0.38 L wide, rounded ends)
        return float(np.sqrt(area * _FILL / (0.3 * max(n_max, 22))))

    def sensor_noise(self, image: Image, frame_index: int) -> Image:
        rng = np.random.default_rng(frame_index)
        dy, dx = (int(v) for v in rng.integers(0, _NOISE_PAD, 2))
        h, w = image.shape[:2]
        up = self.noise_up[dy : dy + h, dx : dx + w]
        down = self.noise_down[dy : dy + h, dx : dx + w]
        return np.asarray(cv2.subtract(cv2.add(image, up), down), np.uint8)


@dataclass(frozen=True)
class Group:
    """One group of piglets: looks, sprites, standing places and walking schedule."""

    sprites: list[list[Sprite]]  # per animal, per gait phase
    schedule: motion.Schedule
    first_id: int


def build_group(
    stage: Stage, rng: np.random.Generator, n: int, length_px: float, cycle_s: float, first_id: int
) -> Group:
    looks = [random_look(rng, length_px) for _ in range(n)]
    sprites = [draw_piglet(look) for look in looks]
    if stage.ir:
        sprites = [[_ir_sprite(s) for s in phases] for phases in sprites]
    lengths = np.array([look.length_px for look in looks])
    half_widths = np.array([look.length_px * look.width_ratio / 2 for look in looks])
    layout = motion.pack_group(rng, stage.platform, lengths, half_widths)
    schedule = motion.plan_group(rng, stage.platform, layout, lengths, cycle_s)
    return Group(sprites, schedule, first_id)


def _ir_sprite(sprite: Sprite) -> Sprite:
    grey = to_infrared(np.ascontiguousarray(sprite.rgba[..., :3]))
    return Sprite(np.dstack([grey, sprite.rgba[..., 3]]), sprite.body_area_px)


def _paste(
    image: Image,
    labels: npt.NDArray[np.uint8],
    sprite: Sprite,
    pose: motion.Pose,
    light: float,
    label: int,
) -> float:
    """Draw one animal over `image`; return the share of its body inside the frame."""
    h, w = image.shape[:2]
    sh, sw = sprite.rgba.shape[:2]
    c, s = np.cos(pose.heading), np.sin(pose.heading)
    half_x = abs(c) * sw / 2 + abs(s) * sh / 2
    half_y = abs(s) * sw / 2 + abs(c) * sh / 2
    x0, y0 = max(0, int(pose.x - half_x)), max(0, int(pose.y - half_y))
    x1, y1 = min(w, int(np.ceil(pose.x + half_x)) + 1), min(h, int(np.ceil(pose.y + half_y)) + 1)
    if x1 <= x0 or y1 <= y0:
        return 0.0
    # sprite pixel (u, v) -> frame pixel: rotate about the sprite centre, move to the pose
    m = np.array(
        [
            [c, -s, pose.x - x0 - c * sw / 2 + s * sh / 2],
            [s, c, pose.y - y0 - s * sw / 2 - c * sh / 2],
        ]
    )
    warped = cv2.warpAffine(
        sprite.rgba, m, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR, borderValue=0
    )
    alpha = warped[..., 3]
    body = alpha >= _BODY_ALPHA_U8
    weight = alpha.astype(np.float32) * (1 / 255)
    roi = image[y0:y1, x0:x1]
    colour = warped[..., :3].astype(np.float32) * light
    roi[:] = cv2.convertScaleAbs(
        cv2.blendLinear(colour, roi.astype(np.float32), weight, 1 - weight)
    )
    labels[y0:y1, x0:x1][body] = label
    return float(np.count_nonzero(body)) / max(sprite.body_area_px, 1.0)


def compose(
    stage: Stage, group: Group, poses: list[motion.Pose | None], frame_index: int
) -> SynthFrame:
    """Draw the posed animals of `group` (in order: later ones occlude earlier ones)."""
    image = stage.background.copy()
    labels = np.zeros(image.shape[:2], np.uint8)
    ids: list[int] = []
    counted: list[bool] = []
    h, w = image.shape[:2]
    for k, pose in enumerate(poses):
        if pose is None:
            continue
        # skin is brighter than the floor already; keep the lamp from washing it out
        light = 0.92 * float(
            stage.light[int(np.clip(pose.y, 0, h - 1)), int(np.clip(pose.x, 0, w - 1))]
        )
        sprite = group.sprites[k][pose.gait]
        inside = _paste(image, labels, sprite, pose, light, len(ids) + 1)
        if inside <= 0:
            continue
        ids.append(group.first_id + k)
        counted.append(inside >= COUNT_MIN_INSIDE)
    return SynthFrame(stage.sensor_noise(image, frame_index), labels, tuple(ids), tuple(counted))


def render_scene(
    seed: int, n_animals: int, width: int = 1280, height: int = 720, ir: bool = False
) -> SynthFrame:
    """One still scene: `n_animals` standing on the platform, touching in places."""
    if not 1 <= n_animals <= 255:
        raise ValueError("n_animals must be between 1 and 255")
    stage = Stage(seed, width, height, ir)
    rng = np.random.default_rng([seed, 1])
    group = build_group(stage, rng, n_animals, stage.body_length_px(n_animals), 60.0, 0)
    layout = group.schedule.layout
    poses: list[motion.Pose | None] = [
        motion.Pose(float(x), float(y), float(a), 0)
        for (x, y), a in zip(layout.centres, layout.headings, strict=True)
    ]
    return compose(stage, group, poses, seed)


class DemoScene:
    """A looping camera view: groups walk on, stand, walk off; any frame on demand.

    The clip holds round(seconds / 30) groups (at least one); it starts mid-weighing and its
    last frame leads back into its first, so the video loops without a jump.
    """

    def __init__(
        self,
        seed: int = 0,
        width: int = 1280,
        height: int = 720,
        fps: float = 25.0,
        seconds: float = 60.0,
        n_animals: tuple[int, int] = (12, 30),
        ir: bool = False,
        timestamp: bool = True,
    ) -> None:
        if seconds <= 0 or fps <= 0:
            raise ValueError("seconds and fps must be positive")
        self.seed, self.fps, self.seconds = seed, fps, seconds
        self.width, self.height = width, height
        self.frame_count = max(1, round(seconds * fps))
        self.stage = Stage(seed, width, height, ir)
        self.groups = max(1, round(seconds / 30))
        self.cycle_s = seconds / self.groups
        self.n_animals = n_animals
        self.length_px = self.stage.body_length_px(n_animals[1])
        self.timestamp = timestamp
        self._groups: dict[int, Group] = {}
        first = self._group(0).schedule
        # start while the first group stands still: the demo opens on a weighing
        self.offset_s = float((first.arrive_s.max() + first.leave_s.min()) / 2)
        self._clock0 = dt.datetime(2024, 5, 14, 7, 30, 0) + dt.timedelta(seconds=seed % 3600)

    @property
    def started_at(self) -> dt.datetime:
        """The camera clock of the first frame (what the date stamp shows), naive."""
        return self._clock0

    def _group(self, index: int) -> Group:
        """Group `index`, built on first use; sprites are costly, keep the last two."""
        if index not in self._groups:
            rng = np.random.default_rng([self.seed, 1000 + index])
            n = int(rng.integers(self.n_animals[0], self.n_animals[1] + 1))
            group = build_group(self.stage, rng, n, self.length_px, self.cycle_s, index * 1000)
            self._groups = {**dict(list(self._groups.items())[-1:]), index: group}
        return self._groups[index]

    def frame(self, i: int) -> SynthFrame:
        """Frame `i` (0 <= i < frame_count); the same for the same arguments, always."""
        if not 0 <= i < self.frame_count:
            raise IndexError(f"frame {i} outside 0..{self.frame_count - 1}")
        t_scene = (i / self.fps + self.offset_s) % self.seconds
        index = min(int(t_scene // self.cycle_s), self.groups - 1)
        group = self._group(index)
        t_cycle = t_scene - index * self.cycle_s
        poses = [motion.pose_at(group.schedule, k, t_cycle) for k in range(len(group.sprites))]
        frame = compose(self.stage, group, poses, i)
        if self.timestamp:
            self._stamp(frame.image, i / self.fps)
        return frame

    def _stamp(self, image: Image, t_s: float) -> None:
        """Camera date overlay on the top wall, where no animal ever stands."""
        band_px = self.stage.platform.y0
        if band_px < 14:
            return
        text = (self._clock0 + dt.timedelta(seconds=int(t_s))).strftime("%Y-%m-%d %H:%M:%S")
        height_px = max(7, round(band_px * 0.4))
        top_px = round(band_px * 0.7) - height_px // 7 * 7
        draw_stamp(image, text, round(band_px * 0.3), top_px, height_px)

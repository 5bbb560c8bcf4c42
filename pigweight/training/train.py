"""`pigweight train`: fit the YOLOX-Nano pig detector, checkpoint, export, measure.

One process, the CPU (or the GPU when torch sees one). Every `checkpoint_every` steps the
weights, their running average (EMA), the optimiser and the step go to
`<out>.checkpoint.pt` (written aside and renamed, so a kill never leaves half a file);
`--resume` goes on from there. At the end the EMA weights are exported to `<out>` (ONNX,
YOLO11 detect layout, metadata: classes, input size, data, licence, the score threshold
picked on the validation images, and the count error on every held-out set).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from pigweight.media.images import is_infrared
from pigweight.training.augment import AUGMENT, augmented_input, camera_input_hw, to_input
from pigweight.training.composite import CutoutBank, composite_samples
from pigweight.training.data import (
    Sample,
    folder_samples,
    iterate_balanced,
    iterate_forever,
    synthetic_samples,
)
from pigweight.training.loss import yolox_loss
from pigweight.training.splits import NOT_FOR_SHIPPING, evenly, held_out_name, split
from pigweight.training.yolox_net import YoloxNet, build_net, write_onnx

logger = logging.getLogger(__name__)

SYNTH_TRAIN_SEED0 = 1000
SYNTH_VALIDATION_SEEDS = range(900, 905)
# drawn scenes are kept here between runs (a second each to draw)
SYNTH_CACHE = Path(
    os.environ.get("PIGWEIGHT_SYNTH_CACHE", Path.home() / ".cache" / "pigweight" / "synthetic")
)
VALIDATION_SOURCE = "pig_seg_roboflow"  # its held-out photos pick the threshold
COMPOSITE_VALIDATION = 20  # composite frames of the validation photos' pigs
SEEN_FOR_THRESHOLD = 100  # trained-on frames that help a farm's validation frames pick
# 0.05 .. 0.75: a farm's fine-tune early in its training scores its pigs low, and counts best
# low (bench/teach.py: 0.225 on the grower pen after 300 steps, 0.10-0.15 before the
# trained-on frames helped the validation stretch pick)
THRESHOLDS = tuple(round(0.05 + 0.025 * i, 3) for i in range(8)) + tuple(
    round(0.25 + 0.05 * i, 2) for i in range(11)
)


@dataclass
class TrainConfig:
    data: list[Path]
    out: Path
    base: Path
    synthetic_frames: int = 0
    composite_frames: int = 0
    steps: int = 2000
    batch: int = 8
    imgsz: int = 416
    lr: float = 1e-3
    resume: bool = False
    split_at: int | None = None
    # frames numbered validate_from .. split_at - 1 pick the score threshold and are never
    # trained on (a farm's own frames: the stretch just before the held-out ones)
    validate_from: int | None = None
    limit: int | None = None
    seed: int = 0
    augment: str = "full"  # a key of training.augment.AUGMENT
    checkpoint_every: int = 100
    licence: str = "see the data sets named in pigweight_data"
    for_shipping: bool = False
    progress: bool = True
    threads: int = 0
    extra_metadata: dict[str, str] = field(default_factory=dict)
    # called after every step with (step, mean loss of the last 20 steps): the page's
    # progress bar reads what it writes
    on_step: Callable[[int, float], None] | None = None


@dataclass(frozen=True)
class TrainResult:
    model: Path
    steps: int
    seconds: float
    first_loss: float
    last_loss: float
    probe_before: float  # loss on the first training images, un-augmented, before training
    probe_after: float  # the same images after training (with the exported weights)
    conf_threshold: float
    held_out: dict[str, dict[str, float]]


def gather(config: TrainConfig) -> tuple[list[Sample], list[Sample], list[Sample]]:
    """(training, validation, held-out) samples of the configured data."""
    if config.for_shipping:
        for path in config.data:
            if any(path.resolve().name.startswith(n) for n in NOT_FOR_SHIPPING):
                raise ValueError(
                    f"{path}: its licence does not allow shipping a model trained on it "
                    "(the default model trains on pig_seg_roboflow, farrowing_piglets and "
                    "synthetic scenes only)"
                )
    train: list[Sample] = []
    held: list[Sample] = []
    validation = []
    for path in config.data:
        a, b = split(folder_samples(path), config.split_at)
        if config.validate_from is not None:
            validation += [s for s in a if _frame_number(s) >= config.validate_from]
            a = [s for s in a if _frame_number(s) < config.validate_from]
        train += evenly(a, config.limit)
        held += b
    validation += [s for s in held if s.source == VALIDATION_SOURCE]
    if config.synthetic_frames:
        per_seed = 4
        seeds = range(
            SYNTH_TRAIN_SEED0, SYNTH_TRAIN_SEED0 + math.ceil(config.synthetic_frames / per_seed)
        )
        cache = SYNTH_CACHE
        train += synthetic_samples(seeds, per_seed, cache)[: config.synthetic_frames]
        validation += synthetic_samples(SYNTH_VALIDATION_SEEDS, 2, cache)
    if config.composite_frames:
        bank = cutout_bank(config, held=False)
        if not bank.images():
            raise ValueError(
                "--composite cuts pigs out along their outlines: none of the --data folders "
                "has polygons or rotated boxes (YOLO polygon labels or xmls/)"
            )
        train += composite_samples(bank, range(config.composite_frames))
        held_bank = cutout_bank(config, held=True)
        if held_bank.images():
            validation += composite_samples(
                held_bank, range(COMPOSITE_VALIDATION), "composite-validation"
            )
    if not train:
        raise ValueError("no training images: give --data folders or --synthetic frames")
    if not validation:
        # a farm's own frames: no separate validation set; the threshold is picked on up
        # to 50 of the training frames, un-augmented (optimistic, never on the held-out)
        validation = evenly(train, 50)
    return train, validation, held


def _frame_number(sample: Sample) -> int:
    """A video frame's number (`00000123.jpg`); -1 for a name that is not one."""
    stem = Path(sample.name).stem
    return int(stem) if stem.isdigit() else -1


def cutout_bank(config: TrainConfig, held: bool) -> CutoutBank:
    """Cut-outs of the training images' pigs, or of the validation images' (never of an
    image held out for measuring)."""

    def keep(source: str, name: str) -> bool:
        if not held:
            return not held_out_name(source, name, config.split_at)
        return source == VALIDATION_SOURCE and held_out_name(source, name, config.split_at)

    return CutoutBank(config.data, keep)


def run_training(config: TrainConfig) -> TrainResult:
    """Train, export and measure; see the module doc."""
    if config.threads:
        torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    train, validation, held = gather(config)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    net, graph = build_net(config.base)
    net.to(device)
    ema = _Ema(net, config.steps)
    optimiser = torch.optim.AdamW(net.parameters(), lr=config.lr, weight_decay=5e-4)
    checkpoint = Path(f"{config.out}.checkpoint.pt")
    step = 0
    if config.resume and checkpoint.exists():
        state = torch.load(checkpoint, weights_only=False, map_location=device)
        net.load_state_dict(state["net"])
        ema.shadow.load_state_dict(state["ema"])
        optimiser.load_state_dict(state["optimiser"])
        step = int(state["step"])
        logger.info("resumed from %s at step %d", checkpoint, step)
    input_hw, lights = _camera_frames(train, config)
    logger.info("training input %dx%d (height x width)", *input_hw)
    probe = _probe_batch(train, input_hw, device)
    probe_before = _probe_loss(net, probe)
    rng = np.random.default_rng([config.seed, step])
    stream = iterate_balanced(lights, rng) if lights else iterate_forever(train, rng)
    started = time.perf_counter()
    losses: list[float] = []
    bar = tqdm(
        total=config.steps,
        initial=step,
        desc="train",
        unit="step",
        disable=not config.progress,
        file=sys.stderr,
    )
    net.train()
    while step < config.steps:
        inputs, targets = _batch(stream, config, input_hw, rng, device)
        for group in optimiser.param_groups:
            group["lr"] = _lr(config, step)
        parts = yolox_loss(net(inputs), targets)
        optimiser.zero_grad(set_to_none=True)
        parts.total.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 10.0)
        optimiser.step()
        ema.update(net)
        step += 1
        losses.append(parts.total.item())
        bar.update(1)
        bar.set_postfix(loss=f"{np.mean(losses[-20:]):.3f}", boxes=parts.assigned)
        if step % config.checkpoint_every == 0 or step == config.steps:
            _save(checkpoint, net, ema, optimiser, step)
        if config.on_step is not None:
            config.on_step(step, float(np.mean(losses[-20:])))
    bar.close()
    seconds = time.perf_counter() - started
    probe_after = _probe_loss(ema.shadow, probe)
    shape = {"input_hw": list(input_hw)}
    if lights:
        shape["day_night_frames"] = [len(lights[0]), len(lights[1])]
    result = _finish(
        config, ema.shadow, graph, (train, validation, held), losses, step, seconds, shape
    )
    return dataclasses.replace(result, probe_before=probe_before, probe_after=probe_after)


def _camera_frames(
    train: list[Sample], config: TrainConfig
) -> tuple[tuple[int, int], list[list[Sample]]]:
    """(input shape, the frames by light) of a fixed camera's frames (`--augment camera`).

    They train in the input shape they are counted in: never turned, one shape fits them
    all. Its daylight and night (infrared) frames are drawn equally often, whatever their
    numbers: the camera counts at night as often as by day, and a farm's labelled frames are
    mostly days (the grower pen's 200 frames held 9 nights). Anything else: the square, and
    no lights ([])."""
    if config.augment != "camera":
        return (config.imgsz, config.imgsz), []
    shapes = set()
    lights: list[list[Sample]] = [[], []]
    for sample in train:
        image, _ = sample.load()
        shapes.add((int(image.shape[0]), int(image.shape[1])))
        lights[is_infrared(image)].append(sample)
    return camera_input_hw(shapes, config.imgsz), lights


def _probe_batch(
    train: list[Sample], input_hw: tuple[int, int], device: torch.device
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Up to 8 training images, un-augmented: the loss on them shows the fit moving."""
    picked = sorted(train, key=lambda s: s.name)[:8]
    pairs = [quick_input(s, input_hw) for s in picked]
    return (
        torch.stack([torch.from_numpy(t) for t, _ in pairs]).to(device),
        [torch.from_numpy(b).to(device) for _, b in pairs],
    )


@torch.no_grad()
def _probe_loss(net: YoloxNet, probe: tuple[torch.Tensor, list[torch.Tensor]]) -> float:
    was_training = net.training
    net.eval()
    loss = yolox_loss(net(probe[0]), probe[1]).total.item()
    net.train(was_training)
    return float(loss)


def _batch(
    stream: Any,
    config: TrainConfig,
    input_hw: tuple[int, int],
    rng: np.random.Generator,
    device: torch.device,
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    inputs, targets = [], []
    plan = AUGMENT[config.augment]
    for _ in range(config.batch):
        sample = next(stream)
        tensor, boxes = augmented_input(
            sample.load, lambda: next(stream).load(), input_hw, rng, plan
        )
        inputs.append(torch.from_numpy(tensor))
        targets.append(torch.from_numpy(boxes).to(device))
    return torch.stack(inputs).to(device), targets


def _lr(config: TrainConfig, step: int) -> float:
    warm = min(100, config.steps // 10)
    if step < warm:
        return config.lr * (step + 1) / warm
    progress = (step - warm) / max(1, config.steps - warm)
    return config.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * progress)))


class _Ema:
    """Running average of the weights; it, not the last step, is what gets exported."""

    def __init__(self, net: YoloxNet, steps: int) -> None:
        import copy

        self.shadow = copy.deepcopy(net).eval()
        self.updates = 0
        self.tau = max(10.0, min(2000.0, steps / 5))
        for p in self.shadow.parameters():
            p.requires_grad_(False)

    @torch.no_grad()
    def update(self, net: YoloxNet) -> None:
        self.updates += 1
        decay = 0.9998 * (1 - math.exp(-self.updates / self.tau))
        for s, p in zip(self.shadow.parameters(), net.parameters(), strict=True):
            s.mul_(decay).add_(p.detach(), alpha=1 - decay)


def _save(
    path: Path, net: YoloxNet, ema: _Ema, optimiser: torch.optim.Optimizer, step: int
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    torch.save(
        {
            "net": net.state_dict(),
            "ema": ema.shadow.state_dict(),
            "optimiser": optimiser.state_dict(),
            "step": step,
        },
        tmp,
    )
    os.replace(tmp, path)


def _finish(
    config: TrainConfig,
    net: YoloxNet,
    graph: Any,
    sets: tuple[list[Sample], list[Sample], list[Sample]],
    losses: list[float],
    step: int,
    seconds: float,
    shape: dict[str, list[int]],
) -> TrainResult:
    train, validation, held = sets
    from pigweight.training.measure import count_errors_by_source, pick_threshold

    meta = _metadata(config, train, step, seconds, shape)
    write_onnx(net, graph, config.out, meta)
    # a farm's validation stretch (--validate-from) picks with the frames trained on
    seen = evenly(train, SEEN_FOR_THRESHOLD) if config.validate_from is not None else []
    conf = pick_threshold(config.out, validation, THRESHOLDS, config.imgsz, seen)
    held_errors = count_errors_by_source(config.out, held, conf, config.imgsz)
    meta["conf_threshold"] = f"{conf:.3f}"
    meta["pigweight_held_out"] = json.dumps(held_errors, sort_keys=True)
    write_onnx(net, graph, config.out, meta)
    return TrainResult(
        model=config.out,
        steps=step,
        seconds=seconds,
        first_loss=float(np.mean(losses[:10])) if losses else float("nan"),
        last_loss=float(np.mean(losses[-10:])) if losses else float("nan"),
        conf_threshold=conf,
        held_out=held_errors,
        probe_before=float("nan"),
        probe_after=float("nan"),
    )


def _metadata(
    config: TrainConfig,
    train: list[Sample],
    step: int,
    seconds: float,
    shape: dict[str, list[int]],
) -> dict[str, str]:
    by_source: dict[str, int] = {}
    for sample in train:
        by_source[sample.source] = by_source.get(sample.source, 0) + 1
    return {
        "names": "{0: 'pig'}",
        "imgsz": f"[{config.imgsz}, {config.imgsz}]",
        "stride": "32",
        "task": "detect",
        "description": "PigWeight pig detector (YOLOX-Nano, Apache-2.0 architecture and start)",
        "pigweight_data": json.dumps(by_source, sort_keys=True),
        "pigweight_licence": config.licence,
        "pigweight_training": json.dumps(
            {
                "steps": step,
                "batch": config.batch,
                "imgsz": config.imgsz,
                "lr": config.lr,
                "augment": config.augment,
                "seed": config.seed,
                "seconds": round(seconds),
                "base": config.base.name,
                "split_at": config.split_at,
                "validate_from": config.validate_from,
                "limit": config.limit,
                **shape,
            },
            sort_keys=True,
        ),
        **config.extra_metadata,
    }


def quick_input(sample: Sample, input_hw: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """The un-augmented input of one sample (for checks and the measuring code)."""
    image, boxes = sample.load()
    return to_input(image, boxes, input_hw)

"""Fixed, written-down splits: which images train and which are held out to measure.

- A folder of photos: a group (one source photo with its augmented copies, or 25
  neighbouring video frames) is held out when its SHA-1 ends in 0 modulo 10, so about
  one group in ten, the same on every machine and every run.
- `farrowing_piglets`: 000000-000004 train, 000005-000008 are held out (too few images
  for a hash to hold out a fair share).
- `--split-at N` (a farm's own video frames): frames < N train, frames >= N are held out.
- Synthetic scenes: seeds 0-4 are the evaluation scenes and are never drawn for training
  (training seeds start at 1000, validation seeds are 900-904).
- `weaner_pen_topview` and `grower_pen_oblique*` never reach the shipped model's training:
  `default_recipe` does not name them, and `pigweight train` refuses them with
  `--recipe default` (their licences do not allow shipping a model trained on them).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from pigweight.training.data import Sample, group_of

HELD_OUT_MODULO = 10
FARROWING_HELD_OUT = frozenset(f"{i:06d}.jpg" for i in range(5, 9))
NOT_FOR_SHIPPING = ("weaner_pen_topview", "grower_pen_oblique")


def held_out(sample: Sample, split_at: int | None = None) -> bool:
    """True when `sample` is kept for measuring, never for training."""
    return held_out_name(sample.source, sample.name, split_at)


def held_out_name(source: str, name: str, split_at: int | None = None) -> bool:
    """The same for an image named `name` in the set `source` (a folder's name)."""
    if split_at is not None:
        stem = Path(name).stem
        if stem.isdigit():
            return int(stem) >= split_at
    if source == "farrowing_piglets":
        return name in FARROWING_HELD_OUT
    digest = hashlib.sha1(group_of(source, name).encode()).digest()
    return int.from_bytes(digest[-4:], "big") % HELD_OUT_MODULO == 0


def split(samples: list[Sample], split_at: int | None = None) -> tuple[list[Sample], list[Sample]]:
    """(training, held out)."""
    train = [s for s in samples if not held_out(s, split_at)]
    kept = [s for s in samples if held_out(s, split_at)]
    return train, kept


def evenly(samples: list[Sample], limit: int | None) -> list[Sample]:
    """`limit` samples spread evenly over the list (by name order), or all of them."""
    if limit is None or limit >= len(samples):
        return samples
    ordered = sorted(samples, key=lambda s: s.name)
    step = len(ordered) / limit
    return [ordered[int(i * step)] for i in range(limit)]

"""`pigweight train`: rebuild the shipped pig model, or fine-tune it on a farm's own frames.

    pigweight train --recipe default                       (the shipped weights, docs/model.md)
    pigweight train --base default --data DIR --out farm.onnx   (fine-tune on one camera)

Needs the training extra (`pip install 'pigweight[train]'`; `make test` installs it).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from pigweight.vision.pig_model import DEFAULT_MODEL, SHARED_DATA

# training.augment.AUGMENT's names, here so that `pigweight` starts without importing the
# training stack (scipy: a second of every command's start); tests/training keeps them equal.
AUGMENT_NAMES = ("camera", "full")

RECIPES: dict[str, dict[str, Any]] = {
    # The shipped model: only data whose licence allows shipping weights trained on it.
    "default": {
        "data": [
            SHARED_DATA / "data" / "pig_seg_roboflow",
            SHARED_DATA / "data" / "farrowing_piglets",
        ],
        "synthetic": 400,
        # composite platforms (--composite) measured worse on the validation photos and
        # drawn scenes (docs/model.md, "What the synthetic pictures are worth"): none here
        "composite": 0,
        "base": SHARED_DATA / "models" / "yolox_nano_coco.onnx",
        "steps": 4000,
        "batch": 8,
        "out": DEFAULT_MODEL,
        "licence": (
            "weights: Apache-2.0 (YOLOX-Nano start, Megvii-BaseDetection/YOLOX); trained on "
            "'pig segmentation' v5 by akshay-dilip-kumar-ois4s (Roboflow Universe, CC BY 4.0), "
            "R3Det_piglet-detection piglets (toolmen-lab, MIT) and PigWeight's synthetic scenes"
        ),
    },
}


def add_parser(sub: Any) -> None:
    train = sub.add_parser("train", help="train or fine-tune the pig detector (needs [train])")
    train.add_argument("--recipe", choices=sorted(RECIPES), help="a named recipe (docs/model.md)")
    train.add_argument(
        "--data",
        type=Path,
        action="append",
        default=None,
        help="labelled folder (images/ + labels); repeat for several",
    )
    train.add_argument("--synthetic", type=int, default=None, help="synthetic frames to add")
    train.add_argument(
        "--composite",
        type=int,
        default=None,
        help="composite frames to add: the data's pigs cut out and pasted on drawn platforms",
    )
    train.add_argument(
        "--base",
        default=None,
        help="'default' (the shipped model), or an .onnx file: a YOLOX export "
        "(../shared/models/yolox_nano_coco.onnx) or a PigWeight model",
    )
    train.add_argument("--out", type=Path, default=None, help="where to write the .onnx model")
    train.add_argument("--steps", type=int, default=None, help="optimiser steps (default 2000)")
    train.add_argument("--batch", type=int, default=None, help="images per step (default 8)")
    train.add_argument("--imgsz", type=int, default=416, help="network input side, multiple of 32")
    train.add_argument(
        "--lr", type=float, default=None, help="learning rate (default 1e-3, 3e-4 when fine-tuning)"
    )
    train.add_argument(
        "--split-at",
        type=int,
        default=None,
        help="frames numbered below this train, the rest are held out",
    )
    train.add_argument(
        "--validate-from",
        type=int,
        default=None,
        help="frames numbered from this up to --split-at pick the score threshold and are "
        "not trained on (default: it is picked on up to 50 training frames)",
    )
    train.add_argument("--limit", type=int, default=None, help="use this many training images")
    train.add_argument(
        "--augment",
        choices=AUGMENT_NAMES,
        default=None,
        help="'full' (flips, quarter turns, mosaics: many cameras; the default) or 'camera' "
        "(one fixed camera's frames: left-right mirror, crop, zoom and light only)",
    )
    train.add_argument("--resume", action="store_true", help="go on from the last checkpoint")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--json", action="store_true", help="print the result as JSON")
    train.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        from pigweight.training.train import TrainConfig, run_training
        from pigweight.training.yolox_net import is_pig_model
    except ImportError as exc:
        print(
            f"pigweight train needs the training extra: pip install 'pigweight[train]' ({exc})",
            file=sys.stderr,
        )
        return 2
    recipe = RECIPES.get(args.recipe or "", {})
    base = _base(args.base or recipe.get("base") or "default")
    try:
        fine_tune = is_pig_model(base)  # a trained pig model, not YOLOX's COCO start
    except Exception:  # protobuf's DecodeError and friends: any unreadable file
        print(f"pigweight train: --base {base}: not an ONNX model file", file=sys.stderr)
        return 2
    data = args.data or recipe.get("data") or []
    out = args.out or recipe.get("out")
    if out is None:
        print("pigweight train: give --out FILE.onnx (or --recipe default)", file=sys.stderr)
        return 2
    for folder in data:
        if not Path(folder).is_dir():
            print(f"pigweight train: {folder}: no such folder", file=sys.stderr)
            return 2
    if args.validate_from is not None and (
        args.split_at is None or args.validate_from >= args.split_at
    ):
        print(
            "pigweight train: --validate-from needs --split-at, and must be below it",
            file=sys.stderr,
        )
        return 2
    if args.imgsz % 32:
        print("pigweight train: --imgsz must be a multiple of 32", file=sys.stderr)
        return 2
    config = TrainConfig(
        data=[Path(d) for d in data],
        out=Path(out),
        base=base,
        synthetic_frames=args.synthetic
        if args.synthetic is not None
        else recipe.get("synthetic", 0),
        composite_frames=args.composite
        if args.composite is not None
        else recipe.get("composite", 0),
        steps=args.steps or recipe.get("steps", 2000),
        batch=args.batch or recipe.get("batch", 8),
        imgsz=args.imgsz,
        lr=args.lr or (3e-4 if fine_tune else 1e-3),
        resume=args.resume,
        split_at=args.split_at,
        validate_from=args.validate_from,
        limit=args.limit,
        seed=args.seed,
        augment=args.augment or recipe.get("augment", "full"),
        for_shipping=bool(recipe),
        licence=recipe.get("licence", "the farm's own frames: for this farm only"),
    )
    try:
        result = run_training(config)
    except (ValueError, FileNotFoundError) as exc:
        print(f"pigweight train: {exc}", file=sys.stderr)
        return 2
    summary = {
        "model": str(result.model),
        "steps": result.steps,
        "seconds": round(result.seconds),
        "loss_first": round(result.first_loss, 3),
        "loss_last": round(result.last_loss, 3),
        "probe_loss_before": round(result.probe_before, 3),
        "probe_loss_after": round(result.probe_after, 3),
        "conf_threshold": result.conf_threshold,
        "held_out": result.held_out,
    }
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"wrote {result.model} after {result.steps} steps ({result.seconds / 60:.1f} min)")
        print(
            f"loss {result.first_loss:.3f} -> {result.last_loss:.3f} (on the first training "
            f"images, un-augmented: {result.probe_before:.3f} -> {result.probe_after:.3f}); "
            f"score threshold {result.conf_threshold:.2f} (picked on validation images)"
        )
        for source, errors in result.held_out.items():
            print(
                f"held out {source}: {errors['images']} images, count MAE {errors['mae']:.2f}, "
                f"exact {errors['exact']:.0%}"
            )
    return 0


def _base(text: str) -> Path:
    if text == "default":
        if not DEFAULT_MODEL.exists():
            raise SystemExit(
                f"pigweight train: --base default: {DEFAULT_MODEL} is missing "
                "(rebuild it with pigweight train --recipe default)"
            )
        return DEFAULT_MODEL
    path = Path(text)
    if not path.exists():
        raise SystemExit(f"pigweight train: --base {text}: no such file")
    return path

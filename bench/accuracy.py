"""Counting accuracy of a segmenter on every set in ../shared/data and on synthetic scenes.

    python bench/accuracy.py [--segmenter classic] [--synthetic-frames 120]

Prints a Markdown table (the one in docs/accuracy.md) with the command behind each row and
writes bench/results/accuracy.json. Targets for the classic segmenter: MAE <= 1.5 on the
top-view weaner pens, <= 3 on the oblique grower pen; on synthetic scenes exact count on
>= 95 % of frames and mean mask IoU >= 0.9.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pigweight.cli_eval import run_eval  # noqa: E402
from pigweight.media.synth import write_demo_video  # noqa: E402
from pigweight.settings import load_settings  # noqa: E402

SETS = [
    "weaner_pen_topview",
    "grower_pen_oblique",
    "farrowing_piglets",
    "seg_labels_sideview",
    "piglet_weight_crops",
]


def _pct(value: Any) -> str:
    return "–" if value is None else f"{100 * float(value):.0f} %"


def _num(value: Any, digits: int = 2) -> str:
    return "–" if value is None else f"{float(value):.{digits}f}"


def photo_rows(segmenter: str, data: Path) -> list[dict[str, Any]]:
    settings = load_settings(segmenter=segmenter, preload_model=False)
    rows = []
    for name in SETS:
        folder = data / name
        if not folder.is_dir():
            continue
        started = time.perf_counter()
        report = run_eval(settings, folder).to_json()
        report["seconds"] = round(time.perf_counter() - started, 1)
        report["command"] = f"pigweight eval ../shared/data/{name} --segmenter {segmenter}"
        rows.append(report)
        print(f"{name}: MAE {report['mae']:.2f}", file=sys.stderr)
    return rows


def synthetic_row(segmenter: str, frames: int, seconds: float, seed: int) -> dict[str, Any]:
    settings = load_settings(segmenter=segmenter, preload_model=False)
    with tempfile.TemporaryDirectory() as tmp:
        video = Path(tmp) / "demo.mp4"
        write_demo_video(video, seconds=seconds, seed=seed)
        result = run_eval(settings, video, frames=frames).to_json()
    result["command"] = (
        f"pigweight demo-video demo.mp4 --seconds {seconds:g} --seed {seed} && "
        f"pigweight eval demo.mp4 --frames {frames} --segmenter {segmenter}"
    )
    return result


def markdown(photos: list[dict[str, Any]], synthetic: list[dict[str, Any]]) -> str:
    lines = [
        "| set | images | MAE | RMSE | exact | within ±1 | precision | recall | ms/image "
        "| command |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in photos:
        lines.append(
            f"| {r['dataset']} | {len(r['images'])} | {_num(r['mae'])} | {_num(r['rmse'])} "
            f"| {_pct(r['exact'])} | {_pct(r['within1'])} | {_num(r.get('precision'))} "
            f"| {_num(r.get('recall'))} | {_num(r.get('ms_per_image'), 0)} | `{r['command']}` |"
        )
    lines += [
        "",
        "| synthetic clip | frames | animals | exact count | count MAE | mean mask IoU | command |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in synthetic:
        lines.append(
            f"| seed {r['seed']} | {r['frames']} | {r['animals']} | {_pct(r['exact_count_rate'])} "
            f"| {_num(r['count_mae'])} | {_num(r['mean_mask_iou'])} | `{r['command']}` |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segmenter", default="classic")
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--synthetic-frames", type=int, default=120)
    parser.add_argument("--synthetic-seconds", type=float, default=60.0)
    parser.add_argument("--seeds", default="0,1")
    args = parser.parse_args()
    photos = photo_rows(args.segmenter, args.data) if args.data.is_dir() else []
    synthetic = []
    for seed in (int(s) for s in args.seeds.split(",") if s):
        row = synthetic_row(args.segmenter, args.synthetic_frames, args.synthetic_seconds, seed)
        row["seed"] = seed
        synthetic.append(row)
        print(f"synthetic seed {seed}: exact {row['exact_count_rate']}", file=sys.stderr)
    out = REPO / "bench" / "results" / "accuracy.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"photos": photos, "synthetic": synthetic}, indent=1))
    print(markdown(photos, synthetic))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Fine-tuning the shipped pig model on one farm's camera: accuracy against frames used.

    .venv/bin/python bench/finetune.py [--sizes 25,50,100,200,700] [--steps 300]

For each size N, `pigweight train --base default` fine-tunes on N frames spread evenly over
frames 0-699 of ../shared/data/grower_pen_oblique_train (one pen, one camera) and measures
the count on frames 700-899, which no run trains on. The shipped model itself (N = 0) is
the baseline, measured in the same run. Prints a Markdown table; JSON in
bench/results/finetune.json. Each run takes the same number of steps, so the CPU time
barely depends on N; the models go to --work (default a temp folder).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "grower_pen_oblique_train"
PIGWEIGHT = [sys.executable, "-m", "pigweight"]


def evaluate(model: Path | None) -> dict[str, Any]:
    args = [
        *PIGWEIGHT,
        "eval",
        str(DATA),
        "--held-out",
        "--split-at",
        "700",
        "--json",
        "--segmenter",
        "pig",
    ]
    if model is not None:
        args += ["--model", str(model)]
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    report = json.loads(out)
    return {
        "mae": report["mae"],
        "exact": report["exact"],
        "within1": report["within1"],
        "images": len(report["images"]),
        "confidence": report["confidence"],
    }


def fine_tune(size: int, steps: int, work: Path) -> dict[str, Any]:
    out = work / f"grower-{size}.onnx"
    args = [
        *PIGWEIGHT,
        "train",
        "--base",
        "default",
        "--data",
        str(DATA),
        "--split-at",
        "700",
        "--limit",
        str(size),
        "--steps",
        str(steps),
        "--out",
        str(out),
        "--json",
    ]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    row = {
        "frames": size,
        "steps": steps,
        "wall_s": round(wall),
        "cpu_s": round(cpu),
        "model": str(out),
    }
    row.update(evaluate(out))
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="25,50,100,200,700")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args()
    if not DATA.is_dir():
        print(f"skipped: {DATA} is absent")
        return 0
    work = args.work or Path(tempfile.mkdtemp(prefix="pigweight-finetune-"))
    work.mkdir(parents=True, exist_ok=True)
    rows = [
        {"frames": 0, "steps": 0, "wall_s": 0, "cpu_s": 0, "model": "shipped", **evaluate(None)}
    ]
    print(f"shipped model: MAE {rows[0]['mae']:.2f}", file=sys.stderr)
    for size in (int(s) for s in args.sizes.split(",")):
        rows.append(fine_tune(size, args.steps, work))
        print(f"{size} frames: MAE {rows[-1]['mae']:.2f}", file=sys.stderr)
    out = REPO / "bench" / "results" / "finetune.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rows, indent=1))
    print(
        "| frames fine-tuned on | steps | CPU time | count MAE on frames 700–899 | exact "
        "| within ±1 |"
    )
    print("|---|---|---|---|---|---|")
    for r in rows:
        label = "0 (shipped model)" if r["frames"] == 0 else str(r["frames"])
        cpu = "–" if r["frames"] == 0 else f"{r['cpu_s'] / 60:.1f} min"
        print(
            f"| {label} | {r['steps']} | {cpu} | {r['mae']:.2f} | {100 * r['exact']:.0f} % "
            f"| {100 * r['within1']:.0f} % |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

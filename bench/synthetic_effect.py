"""What the synthetic training pictures are worth: the same training with and without them.

    .venv/bin/python bench/synthetic_effect.py [--steps 500] [--synthetic-frames 40]
        [--variants "real only,+ drawn,+ drawn + composite"]

Three trainings that differ only in their synthetic pictures, each from the COCO start with
the default recipe's real photos (pig_seg_roboflow, farrowing_piglets), seed, batch and
input size, for --steps steps:

- `real only`: no synthetic picture;
- `+ drawn`: the recipe's 400 drawn demo scenes;
- `+ drawn + composite`: those and 1,200 composite platforms (real pigs cut out and pasted
  on drawn floors, `--composite 1200`).

Each is measured on the sets no training sees: the top-view weaner pens, the grower pen's
frames 700-899, the held-out farrowing crates and synthetic seeds 0-4 (--synthetic-frames
frames each), and on the held-out Roboflow photos (the validation photos). Prints a
Markdown table; JSON in bench/results/synthetic-effect.json; the models go to --work.
Shorter than the real recipe (4,000 steps), so every number is worse than the shipped
model's; the comparison between the rows is the point. About 12 minutes a row on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from accuracy import synthetic_row  # noqa: E402

from pigweight.cli_eval import run_eval  # noqa: E402
from pigweight.cli_train import RECIPES  # noqa: E402
from pigweight.settings import load_settings  # noqa: E402

DATA = REPO.parent / "shared" / "data"
COMPOSITE = 1200  # what the trial recipe with composites used (docs/model.md)
VARIANTS = [
    ("real only", 0, 0),
    ("+ drawn", RECIPES["default"]["synthetic"], 0),
    ("+ drawn + composite", RECIPES["default"]["synthetic"], COMPOSITE),
]
SETS = [
    ("weaner_pen_topview", False, None),
    ("grower_pen_oblique_train", True, 700),
    ("farrowing_piglets", True, None),
]


def train(label: str, synthetic: int, composite: int, steps: int, work: Path) -> dict[str, Any]:
    out = work / f"{label.replace(' ', '').replace('+', '_')}.onnx"
    args = [
        *(sys.executable, "-m", "pigweight", "train", "--recipe", "default"),
        *("--synthetic", str(synthetic), "--composite", str(composite)),
        *("--steps", str(steps), "--out", str(out), "--json"),
    ]
    started = time.perf_counter()
    done = subprocess.run(args, check=True, capture_output=True, text=True)
    result = json.loads(done.stdout)
    result["wall_s"] = round(time.perf_counter() - started)
    result["model"] = str(out)
    return result


def measure(model: Path, synthetic_frames: int) -> dict[str, Any]:
    settings = load_settings(segmenter="pig", model_path=model, preload_model=False)
    rows: dict[str, Any] = {}
    for name, held_out, split_at in SETS:
        report = run_eval(settings, DATA / name, held_out=held_out, split_at=split_at).to_json()
        rows[name] = {"mae": report["mae"], "exact": report["exact"]}
    synth = [synthetic_row("pig", synthetic_frames, 60.0, s, model) for s in range(5)]
    rows["synthetic"] = {
        "mae": sum(r["count_mae"] for r in synth) / len(synth),
        "exact": sum(r["exact_count_rate"] for r in synth) / len(synth),
    }
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--synthetic-frames", type=int, default=40)
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument(
        "--variants",
        default=",".join(v[0] for v in VARIANTS),
        help="which trainings, by name, comma-separated",
    )
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="synthetic-effect-"))
    work.mkdir(parents=True, exist_ok=True)
    rows = []
    chosen = [v for v in VARIANTS if v[0] in args.variants.split(",")]
    if not chosen:
        parser.error(f"--variants: none of {[v[0] for v in VARIANTS]}")
    for label, synthetic, composite in chosen:
        print(f"{label}: training {args.steps} steps", file=sys.stderr)
        trained = train(label, synthetic, composite, args.steps, work)
        sets = measure(Path(trained["model"]), args.synthetic_frames)
        rows.append(
            {
                "variant": label,
                "synthetic": synthetic,
                "composite": composite,
                "training": trained,
                "sets": sets,
            }
        )
        print(json.dumps(rows[-1]), file=sys.stderr)
    print(table(rows, args.steps, args.synthetic_frames))
    results = REPO / "bench" / "results" / "synthetic-effect.json"
    results.write_text(json.dumps({"steps": args.steps, "rows": rows}, indent=2) + "\n")
    return 0


def table(rows: list[dict[str, Any]], steps: int, synthetic_frames: int) -> str:
    lines = [
        f"| training ({steps} steps) | threshold | Roboflow held-out MAE | weaner MAE "
        f"| grower 700–899 MAE | farrowing held-out MAE | synthetic 0–4 MAE / exact "
        f"({synthetic_frames} frames each) | minutes |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        s, t = r["sets"], r["training"]
        robo = t["held_out"].get("pig_seg_roboflow", {}).get("mae")
        lines.append(
            f"| {r['variant']} | {t['conf_threshold']:.2f} | "
            f"{'–' if robo is None else f'{robo:.2f}'} "
            f"| {s['weaner_pen_topview']['mae']:.2f} "
            f"| {s['grower_pen_oblique_train']['mae']:.2f} "
            f"| {s['farrowing_piglets']['mae']:.2f} "
            f"| {s['synthetic']['mae']:.2f} / {100 * s['synthetic']['exact']:.0f} % "
            f"| {t['wall_s'] / 60:.0f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())

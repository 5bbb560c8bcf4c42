"""The farm teaches its counter, driven through the API as a farm would (issue 19).

    .venv/bin/python bench/teach.py [--frames 700] [--steps 300] [--imgsz 416]

Starts `pigweight serve` with its demo camera, measures the camera's counted frame rate
alone (the baseline, this run), imports --frames frames spread evenly over frames 0-699 of
../shared/data/grower_pen_oblique_train with their labels (as if labelled on the page; the
default, 700, is all of them, as the issue asks), starts «Обучить» (the newest fifth of each
light held out, as the page does), samples the demo
camera's counted frame rate while it trains, reads the page's comparison, activates the new
model when the page allows it, and measures both models on frames 700-899, which nothing
trained or picked a threshold on. Prints the figures; JSON in bench/results/teach.json.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "grower_pen_oblique_train"
RESULTS = REPO / "bench" / "results" / "teach.json"
W, H = 640, 360


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def grower_boxes() -> dict[int, list[tuple[float, float, float, float]]]:
    boxes: dict[int, list[tuple[float, float, float, float]]] = {}
    for line in (DATA / "labels.txt").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        frame, x, y, w, h = (float(v) for v in line.split(","))
        boxes.setdefault(int(frame), []).append((x, y, w, h))
    return boxes


def labelled_zip(frames: list[int], boxes: dict[int, list[Any]]) -> bytes:
    """images/ + labels/ (YOLO) of the chosen frames, as CVAT would export them."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for n in frames:
            name = f"{n:08d}"
            archive.write(DATA / "images" / f"{name}.jpg", f"images/{name}.jpg")
            lines = [
                f"0 {(x + w / 2) / W:.6f} {(y + h / 2) / H:.6f} {w / W:.6f} {h / H:.6f}"
                for x, y, w, h in boxes.get(n, [])
            ]
            archive.writestr(f"labels/{name}.txt", "\n".join(lines) + "\n")
    return buffer.getvalue()


def fps_out(client: httpx.Client) -> float:
    return float(client.get("/api/cameras/demo/status").json()["fps_out"])


def sample_fps(client: httpx.Client, seconds: float) -> list[float]:
    values = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        time.sleep(2.0)
        values.append(fps_out(client))
    return values


def held_out_errors(model: Path | None, frames: list[int], boxes: dict[int, Any]) -> dict[str, Any]:
    from pigweight.teaching.compare import HeldOutFrame, count_frames, pig_segmenter

    held = [
        HeldOutFrame(n, DATA / "images" / f"{n:08d}.jpg", len(boxes.get(n, [])))
        for n in frames
        if (DATA / "images" / f"{n:08d}.jpg").is_file()
    ]
    counts, _boxes, ms = count_frames(pig_segmenter(model), held)
    errors = [abs(c - f.truth) for c, f in zip(counts, held, strict=True)]
    return {
        "frames": len(held),
        "mae": round(statistics.mean(errors), 3),
        "exact": round(sum(e == 0 for e in errors) / len(errors), 3),
        "within1": round(sum(e <= 1 for e in errors) / len(errors), 3),
        "ms_per_frame": round(ms, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=700)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--imgsz", type=int, default=416)
    parser.add_argument("--baseline-s", type=float, default=60.0)
    args = parser.parse_args()
    if not DATA.is_dir():
        print(f"{DATA} is absent: nothing to measure", file=sys.stderr)
        return 2
    boxes = grower_boxes()
    work = Path(tempfile.mkdtemp(prefix="pigweight-teach-"))
    port = free_port()
    env = dict(
        os.environ,
        DATA_DIR=str(work / "data"),
        RECORDS_DIR=str(work / "records"),
        LOG_DIR=str(work / "logs"),
        PORT=str(port),
    )
    server = subprocess.Popen(
        [sys.executable, "-m", "pigweight", "serve"],
        env=env,
        stdout=open(work / "server.log", "wb"),  # noqa: SIM115 - closed with the process
        stderr=subprocess.STDOUT,
    )
    figures: dict[str, Any] = {
        "frames_imported": args.frames,
        "steps": args.steps,
        "imgsz": args.imgsz,
        "cpus": os.cpu_count(),
    }
    try:
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=600)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            try:
                if client.get("/api/cameras/demo/status").json()["fps_out"] > 0:
                    break
            except (httpx.HTTPError, KeyError, ValueError):
                pass
            time.sleep(1.0)
        baseline = sample_fps(client, args.baseline_s)
        figures["fps_alone"] = round(statistics.mean(baseline), 2)
        print(f"demo camera alone: {figures['fps_alone']} counted frames/s", flush=True)

        chosen = [round(i * 699 / (args.frames - 1)) for i in range(args.frames)]
        chosen = sorted({n for n in chosen if (DATA / "images" / f"{n:08d}.jpg").is_file()})
        started = time.monotonic()
        r = client.post(
            "/api/labelling/demo/import",
            files={"file": ("grower.zip", labelled_zip(chosen, boxes), "application/zip")},
        )
        r.raise_for_status()
        figures["import"] = r.json() | {"seconds": round(time.monotonic() - started, 1)}
        print(f"imported: {figures['import']}", flush=True)

        r = client.post("/api/training/demo", json={"steps": args.steps, "imgsz": args.imgsz})
        r.raise_for_status()
        job = r.json()
        print(
            f"training: {job['train_frames']} frames, {job['held_out_frames']} held out", flush=True
        )
        during: list[float] = []
        while True:
            during += sample_fps(client, 10.0)
            job = client.get("/api/training?camera=demo").json()["job"]
            print(
                f"  {job['state']} step {job['step']}/{job['steps']}, "
                f"{job['elapsed_s'] / 60:.1f} min, left {job['eta_s']} s, "
                f"camera {during[-1]:.2f} fps",
                flush=True,
            )
            if job["state"] not in ("running", "comparing"):
                break
        figures["job"] = job
        figures["training_minutes"] = round(job["elapsed_s"] / 60, 1)
        figures["fps_while_training"] = round(statistics.mean(during), 2)
        figures["fps_ratio"] = round(figures["fps_while_training"] / figures["fps_alone"], 3)
        if job["state"] != "finished":
            raise SystemExit(f"training ended {job['state']}: {job['message']}")
        models = client.get("/api/models?camera=demo").json()
        card = next(m for m in models["models"] if m["id"] == job["model_id"])
        figures["page_comparison"] = card["evaluation"]
        figures["can_activate"] = card["can_activate"]
        if card["can_activate"]:
            r = client.post("/api/models/demo/activate", json={"model_id": card["id"]})
            figures["activated"] = r.status_code == 200
        model_file = work / "data" / "models" / card["id"] / f"{card['id']}.onnx"
        later = list(range(700, 900))
        figures["frames_700_899"] = {
            "shipped": held_out_errors(None, later, boxes),
            "fine_tuned": held_out_errors(model_file, later, boxes),
        }
    finally:
        server.terminate()
        server.wait(timeout=60)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2) + "\n")
    later = figures["frames_700_899"]
    print(
        f"\ntraining {figures['training_minutes']} min ({args.steps} steps, {args.imgsz} px, "
        f"{figures['job']['train_frames']} frames); demo camera {figures['fps_while_training']} "
        f"fps while training vs {figures['fps_alone']} alone: ratio {figures['fps_ratio']:.2f}\n"
        f"page comparison (held out: {figures['page_comparison']['frames']} newest frames): "
        f"MAE {figures['page_comparison']['mae']} vs {figures['page_comparison']['against_mae']}\n"
        f"frames 700-899: shipped MAE {later['shipped']['mae']}, fine-tuned MAE "
        f"{later['fine_tuned']['mae']} (exact {later['fine_tuned']['exact']:.0%}, within 1 "
        f"{later['fine_tuned']['within1']:.0%})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The training process of a fine-tune started from the page: `python -m
pigweight.teaching.job_main JOB_DIR [--resume]`.

JOB_DIR/job.json says what to do (written by teaching/jobs.py). The process trains on
JOB_DIR/data (the camera's labelled frames, oldest first, the newest 20 % held out),
checkpointing as `pigweight train` does, writes JOB_DIR/progress.json after every step,
then compares the new model with the camera's current one on the held-out frames and
writes the model, its card and the comparison into DATA_DIR/models/<id>/. Its last act is
JOB_DIR/result.json; the server reads that, never the process's output, to know it finished.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from pigweight.durable import replace_file

# One thread for every library, set before numpy and torch start theirs.
_THREADS = os.environ.setdefault("OMP_NUM_THREADS", "1")


def write_json(path: Path, data: dict[str, Any]) -> None:
    replace_file(path, json.dumps(data).encode())


def main(argv: list[str]) -> int:
    job_dir = Path(argv[0])
    resume = "--resume" in argv[1:]
    job = json.loads((job_dir / "job.json").read_text(encoding="utf-8"))

    from pigweight.teaching.compare import HeldOutFrame, compare, pig_segmenter
    from pigweight.training.train import TrainConfig, run_training
    from pigweight.vision.pig_model import DEFAULT_MODEL

    started = time.time()
    progress = job_dir / "progress.json"
    first_step: list[int] = []

    def on_step(step: int, loss: float) -> None:
        if not first_step:
            first_step.append(step - 1)
        now = time.time()
        done = step - first_step[0]
        rate = (now - started) / done if done else None
        left = None if rate is None else rate * (job["steps"] - step)
        write_json(
            progress,
            {
                "state": "running",
                "step": step,
                "steps": job["steps"],
                "loss": round(loss, 4),
                "eta_s": None if left is None else round(left, 1),
                "ts": now,
            },
        )

    base = Path(job["base_path"]) if job.get("base_path") else DEFAULT_MODEL
    out = job_dir / "model.onnx"
    config = TrainConfig(
        data=[job_dir / "data"],
        out=out,
        base=base,
        steps=job["steps"],
        batch=job.get("batch", 8),
        imgsz=job["imgsz"],
        lr=3e-4,
        resume=resume,
        split_at=job["split_at"],
        validate_from=job.get("validate_from"),
        augment="camera",
        checkpoint_every=max(1, min(50, job["steps"] // 10)),
        licence=job.get("licence") or "the farm's own frames: for this farm only",
        progress=False,
        threads=int(_THREADS),
        on_step=on_step,
        extra_metadata={"pigweight_camera": job["camera"]},
    )
    result = run_training(config)
    last_loss = None if result.last_loss != result.last_loss else round(result.last_loss, 4)
    write_json(
        progress,
        {"state": "comparing", "step": result.steps, "steps": job["steps"], "loss": last_loss},
    )

    held = [
        HeldOutFrame(int(f["frame_id"]), Path(f["image"]), int(f["truth"])) for f in job["held"]
    ]
    current = Path(job["current_path"]) if job.get("current_path") else None
    comparison = compare(pig_segmenter(out), pig_segmenter(current), job["current_id"], held)
    for entry, frame in zip(comparison["frames"], job["held"], strict=True):
        entry["source"] = frame.get("source")  # a group model's figures per site

    models = Path(job["models_dir"]) / job["model_id"]
    models.mkdir(parents=True, exist_ok=True)
    target = models / f"{job['model_id']}.onnx"
    replace_file(target, out.read_bytes())
    write_json(
        models / "comparison.json",
        {"candidate": job["model_id"], "current": job["current_id"], **comparison},
    )
    card = {
        "id": job["model_id"],
        "name": job["model_id"],
        "origin": "trained",
        "created_ts": time.time(),
        "camera": job["camera"],
        "base": job["current_id"],
        "frames": {
            "train": job["train_frames"],
            "validation": job.get("validation_frames", 0),
            "held_out": len(held),
        },
        "training": {
            "steps": result.steps,
            "imgsz": job["imgsz"],
            "seconds": round(result.seconds, 1),
            "loss_first": None
            if result.first_loss != result.first_loss
            else round(result.first_loss, 4),
            "loss_last": None
            if result.last_loss != result.last_loss
            else round(result.last_loss, 4),
            "conf_threshold": result.conf_threshold,
            "job": job["id"],
            "user": job["user"],
        },
        "evaluation": comparison["evaluation"],
    }
    write_json(models / "card.json", card)
    write_json(job_dir / "result.json", {"model_id": job["model_id"], "ts": time.time()})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Frames per second of each segmenter on 1280x720 frames, against a bare onnxruntime loop.

    python bench/segment.py [--frames N] [--quick]

For the YOLO seg model the same run times a bare `session.run` on a pre-made tensor of
the same shape (the figure our pipeline can at best reach) and of the square imgsz shape
(what a plain loop over the exported model runs), and splits our time into pre-processing,
model and post-processing. The random-weight model finds nothing at CONF 0.25, so the
post-processing of a busy frame is timed apart: 60 pigs, 10 candidate anchors each, with
the model's real prototypes. Medians per frame; the JSON lands in bench/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
import onnxruntime as ort

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pigweight.domain import Image  # noqa: E402
from pigweight.settings import load_settings  # noqa: E402
from pigweight.vision.segmenter import create_segmenter  # noqa: E402
from pigweight.vision.yolo_onnx import YoloOnnxSegmenter  # noqa: E402

MODELS = Path(os.environ.get("PIGWEIGHT_SHARED", REPO.parent / "shared")) / "models"
SEG_MODEL = MODELS / "yolo11n-seg-pig-random.onnx"
RESULTS = REPO / "bench" / "results" / "segment.json"
FRAME_HW = (720, 1280)
BUSY_PIGS = 60


def scene(seed: int) -> Image:
    """A top view: dark floor, 30 pink piglets as rotated ellipses (BGR drawn, RGB out)."""
    rng = np.random.default_rng(seed)
    image = np.full((*FRAME_HW, 3), (70, 62, 55), np.uint8)
    image += rng.integers(0, 12, image.shape, dtype=np.uint8)
    for _ in range(30):
        centre = (int(rng.integers(80, 1200)), int(rng.integers(80, 640)))
        axes = (int(rng.integers(45, 70)), int(rng.integers(22, 32)))
        colour = tuple(int(c) for c in rng.integers((190, 150, 140), (235, 185, 175)))
        cv2.ellipse(image, centre, axes, float(rng.uniform(0, 180)), 0, 360, colour, -1)
    return image


def median_ms(samples: list[float]) -> float:
    return 1000 * statistics.median(samples)


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def bench_classic(frames: list[Image]) -> dict[str, Any]:
    segmenter = create_segmenter(load_settings(segmenter="classic").vision)
    segmenter.segment(frames[0])
    times, counts = [], []
    for image in frames:
        seconds, dets = timed(partial(segmenter.segment, image))
        times.append(seconds)
        counts.append(len(dets))
    ms = median_ms(times)
    return {"segmenter": "classic", "ms": ms, "fps": 1000 / ms, "mean_count": np.mean(counts)}


def bare_session(threads: int) -> ort.InferenceSession:
    """A plain session with the same options as ours: only pre/post differ."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(SEG_MODEL), options, providers=["CPUExecutionProvider"])


def bench_onnx(frames: list[Image], imgsz: int, threads: int) -> dict[str, Any]:
    ours = YoloOnnxSegmenter(SEG_MODEL, imgsz=imgsz, threads=threads, use_gpu=False)
    bare = bare_session(threads)
    input_hw = ours.prepare(frames[:1])[0].shape[2:]
    tensors = {
        "same": np.random.default_rng(0).random((1, 3, *input_hw), dtype=np.float32),
        "square": np.random.default_rng(0).random((1, 3, imgsz, imgsz), dtype=np.float32),
    }
    for tensor in [*tensors.values(), tensors["same"]]:  # warm-up: arenas, kernels
        bare.run(None, {"images": tensor})
    ours.segment(frames[0])
    split: dict[str, list[float]] = {
        k: [] for k in ("pre", "model", "post", "ours", "same", "square")
    }
    for image in frames:  # interleaved so that a busy neighbour hurts every column alike
        for shape, tensor in tensors.items():
            split[shape].append(timed(partial(bare.run, None, {"images": tensor}))[0])
        pre, (tensor, boxes) = timed(partial(ours.prepare, [image]))
        model, outputs = timed(partial(ours.infer, tensor))
        post, _ = timed(partial(ours.postprocess, outputs, boxes))
        for key, seconds in (("pre", pre), ("model", model), ("post", post)):
            split[key].append(seconds)
        split["ours"].append(pre + model + post)
    ms = {key: median_ms(values) for key, values in split.items()}
    busy_ms = busy_post_ms(ours, outputs, boxes)
    return {
        "segmenter": f"yolo_onnx seg imgsz={imgsz} threads={threads}",
        "input_hw": list(input_hw),
        "ms": ms["ours"],
        "fps": 1000 / ms["ours"],
        "bare_same_shape_fps": 1000 / ms["same"],
        "bare_square_fps": 1000 / ms["square"],
        "ratio_vs_bare_same_shape": ms["same"] / ms["ours"],
        "ratio_vs_bare_square": ms["square"] / ms["ours"],
        "pre_ms": ms["pre"],
        "model_ms": ms["model"],
        "post_ms": ms["post"],
        "pre_post_share": (ms["pre"] + ms["post"]) / ms["model"],
        "busy_post_ms": busy_ms,
        "busy_pre_post_share": (ms["pre"] + busy_ms) / ms["model"],
    }


def bench_pig(frames: list[Image], imgsz: int, threads: int, model: Path) -> dict[str, Any]:
    """The shipped pig detector end to end (outlines and confidence included) against a
    bare `session.run` of the same model on the same input shape, interleaved."""
    from pigweight.vision.pig_detector import PigSegmenter

    ours = PigSegmenter(YoloOnnxSegmenter(model, imgsz=imgsz, threads=threads, use_gpu=False))
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    bare = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
    tensor, _ = ours.detector.prepare(frames[:1])
    bare.run(None, {"images": tensor})
    ours.segment(frames[0])
    bare_times, our_times, counts = [], [], []
    for image in frames:
        bare_times.append(timed(partial(bare.run, None, {"images": tensor}))[0])
        seconds, found = timed(partial(ours.segment, image))
        our_times.append(seconds)
        counts.append(len(found))
    ms, bare_ms = median_ms(our_times), median_ms(bare_times)
    return {
        "segmenter": f"pig imgsz={imgsz} threads={threads}",
        "input_hw": list(tensor.shape[2:]),
        "ms": ms,
        "fps": 1000 / ms,
        "bare_same_shape_fps": 1000 / bare_ms,
        "ratio_vs_bare_same_shape": bare_ms / ms,
        "mean_count": float(np.mean(counts)),
    }


def busy_post_ms(
    ours: YoloOnnxSegmenter, outputs: list[npt.NDArray[np.float32]], boxes: list[Any]
) -> float:
    """Post-processing of a frame with BUSY_PIGS piglets, 10 overlapping anchors each."""
    rng = np.random.default_rng(1)
    pred = outputs[0].copy()
    table = pred[0]  # (4 + 1 + 32, anchors), a view
    table[4] = 0.0
    input_h, input_w = boxes[0].input_hw
    anchors = rng.choice(table.shape[1], BUSY_PIGS * 10, replace=False)
    # A 10 x 6 grid of piglets filling the frame, each ~70 % of its cell, like a full scale.
    cell = np.array([input_w / 10, input_h / 6])
    grid = np.stack(np.meshgrid(np.arange(10), np.arange(6)), -1).reshape(-1, 2)
    spots = (grid + 0.5) * cell
    centres = np.repeat(spots, 10, axis=0) + rng.normal(0, 0.03, (len(anchors), 2)) * cell
    table[0:2, anchors] = centres.T
    table[2:4, anchors] = (rng.uniform(0.65, 0.75, (len(anchors), 2)) * cell).T
    table[4, anchors] = rng.uniform(0.5, 0.95, len(anchors))
    busy = [pred, outputs[1]]
    assert len(ours.postprocess(busy, boxes)[0]) >= BUSY_PIGS * 0.9
    times = [timed(partial(ours.postprocess, busy, boxes))[0] for _ in range(10)]
    return median_ms(times)


def print_table(rows: list[dict[str, Any]]) -> None:
    print(
        f"{'segmenter':<38}{'input':>9}{'fps':>7}{'bare=':>7}{'bare□':>7}"
        f"{'ours/bare=':>11}{'ours/bare□':>11}{'pre+post':>9}{'busy':>7}"
    )
    for row in rows:
        hw = "x".join(str(v) for v in reversed(row.get("input_hw", [])))
        cells = [f"{row['fps']:7.1f}"]
        if "bare_square_fps" not in row and "bare_same_shape_fps" in row:
            cells += [
                f"{row['bare_same_shape_fps']:7.1f}",
                f"{'':>7}",
                f"{row['ratio_vs_bare_same_shape']:11.2f}",
            ]
        elif "bare_same_shape_fps" in row:
            cells += [
                f"{row['bare_same_shape_fps']:7.1f}",
                f"{row['bare_square_fps']:7.1f}",
                f"{row['ratio_vs_bare_same_shape']:11.2f}",
                f"{row['ratio_vs_bare_square']:11.2f}",
                f"{100 * row['pre_post_share']:8.1f}%",
                f"{100 * row['busy_pre_post_share']:6.1f}%",
            ]
        print(f"{row['segmenter']:<38}{hw:>9}" + "".join(cells))
    print("fps: ours end to end; bare=: session.run on our input shape; bare□: on imgsz x imgsz")
    print("pre+post: share of model time (0 detections); busy: same with 60 pigs' masks")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=30, help="frames timed per row")
    parser.add_argument("--quick", action="store_true", help="5 frames, imgsz 320 only")
    args = parser.parse_args()
    count = 5 if args.quick else max(3, args.frames)
    frames = [scene(i) for i in range(count)]
    rows = [bench_classic(frames)]
    from pigweight.vision.pig_model import DEFAULT_MODEL

    pig_model = Path(os.environ.get("PIG_MODEL", DEFAULT_MODEL))
    if pig_model.is_file():
        for imgsz in (416,) if args.quick else (416, 512, 640):
            rows.append(bench_pig(frames, imgsz, 2, pig_model))
    if SEG_MODEL.is_file():
        for imgsz in (320,) if args.quick else (640, 320):
            for threads in (1, 2):
                rows.append(bench_onnx(frames, imgsz, threads))
    else:
        print(f"skipping the ONNX rows: {SEG_MODEL} is absent")
    print_table(rows)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "frames": count,
        "frame_hw": list(FRAME_HW),
        "cpu_count": os.cpu_count(),
        "machine": platform.processor() or platform.machine(),
        "onnxruntime": ort.__version__,
        "rows": rows,
    }
    RESULTS.write_text(json.dumps(report, indent=2, default=float) + "\n")
    print(f"wrote {RESULTS.relative_to(REPO)}")


if __name__ == "__main__":
    main()

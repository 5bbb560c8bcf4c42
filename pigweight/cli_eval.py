"""`pigweight eval`: a labelled photo folder, or a demo video with its ground truth."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pigweight.errors import PigWeightError
from pigweight.settings import Settings
from pigweight.vision.segmenter import Segmenter, create_segmenter


@dataclass(frozen=True)
class EvalOutcome:
    """What `pigweight eval` prints: a JSON object or a readable table."""

    payload: dict[str, Any]
    table: str

    def to_json(self) -> dict[str, Any]:
        return self.payload

    def text(self) -> str:
        return self.table


@contextmanager
def _progress_bar(desc: str, unit: str) -> Iterator[Callable[[int, int], None]]:
    from tqdm import tqdm

    bar = tqdm(desc=desc, unit=unit, file=sys.stderr, disable=not sys.stderr.isatty())

    def step(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)

    try:
        yield step
    finally:
        bar.close()


def run_eval(
    settings: Settings,
    target: Path,
    overlay_dir: Path | None = None,
    frames: int = 0,
    held_out: bool = False,
    split_at: int | None = None,
) -> EvalOutcome:
    """Evaluate the configured segmenter on `target`; raises PigWeightError on bad input."""
    if target.is_file():
        return _eval_video(settings, target, frames)
    from pigweight.evaluation import evaluate_dataset, format_report, load_dataset

    dataset = load_dataset(target)
    if held_out:
        dataset = _held_out_only(dataset, split_at)
    segmenter = create_segmenter(settings.vision)
    with _progress_bar(dataset.name, "img") as step:
        report = evaluate_dataset(
            segmenter,
            dataset,
            progress=step,
            overlay_dir=overlay_dir,
            max_megapixels=settings.limits.max_image_megapixels,
        )
    report = replace(report, model=_model_file(segmenter))
    return EvalOutcome(report.to_json(), format_report(report))


def _held_out_only(dataset: Any, split_at: int | None) -> Any:
    """The images the training splits keep for measuring (pigweight/training/splits.py)."""
    from pigweight.training.splits import held_out_name

    source = dataset.root.resolve().name
    if source in ("train", "valid", "test"):  # a part of a Roboflow export
        source = dataset.root.resolve().parent.name
    items = tuple(i for i in dataset.items if held_out_name(source, i.name, split_at))
    if not items:
        raise PigWeightError(f"{dataset.root}: none of its images is held out from training")
    return replace(dataset, items=items, name=f"{dataset.name} (held out)")


def _model_file(segmenter: Segmenter) -> str | None:
    """The absolute path of the model file the segmenter runs; None for classic."""
    path = getattr(segmenter, "model_path", None)
    return None if path is None else str(Path(path).resolve())


def _eval_video(settings: Settings, video: Path, frames: int) -> EvalOutcome:
    from pigweight.evaluation.synthetic import evaluate_synthetic

    truth = video.with_suffix(".truth.json")
    if not truth.is_file():
        raise PigWeightError(
            f"{video}: no ground truth beside it ({truth.name}); "
            "write one with `pigweight demo-video`, or pass a folder with images/ and counts.csv"
        )
    segmenter = create_segmenter(settings.vision)
    with _progress_bar(video.name, "frame") as step:
        result = evaluate_synthetic(
            segmenter, video_path=video, n_frames=frames or 10**9, progress=step
        )
    result = {"segmenter": segmenter.name, "model": _model_file(segmenter), **result}
    return EvalOutcome(result, _format_synthetic(video, result))


def _format_synthetic(video: Path, result: dict[str, Any]) -> str:
    from pigweight.evaluation.report import segmenter_line

    lines = [
        f"{video.name}: {result.get('frames')} frames, {result.get('animals')} animals",
        segmenter_line(result["segmenter"], result["model"]),
    ]
    for key in ("exact_count_rate", "count_mae", "count_bias", "mean_mask_iou", "frames_per_s"):
        if key in result:
            lines.append(f"  {key:<18}{json.dumps(result[key])}")
    return "\n".join(lines)

"""What an evaluation found: per-image results, set-wide metrics, JSON and a text table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pigweight.evaluation.metrics import CountErrors, count_errors, ratio

_NAME_WIDTH = 40  # long camera file names are shortened in the table, never in JSON


@dataclass(frozen=True, slots=True)
class ImageResult:
    """One image: the true and predicted counts, and how many labelled animals were found."""

    image: str
    true: int
    predicted: int
    ms: float  # time spent in segmenter.segment
    labelled: int | None = None  # animals in the per-animal labels; None: no labels
    matched: int | None = None  # labelled animals matched one-to-one by a detection
    confidence: float = 1.0  # the count's confidence, as the live view would show it


@dataclass(frozen=True, slots=True)
class EvalReport:
    """A segmenter's counting accuracy on one data set."""

    dataset: str
    segmenter: str
    images: tuple[ImageResult, ...]
    model: str | None = None  # the model file the segmenter ran; None for classic

    @property
    def errors(self) -> CountErrors:
        return count_errors([r.true for r in self.images], [r.predicted for r in self.images])

    @property
    def labelled_images(self) -> tuple[ImageResult, ...]:
        return tuple(r for r in self.images if r.labelled is not None)

    @property
    def precision(self) -> float | None:
        """Matched / predicted over the labelled images; None without labels."""
        labelled = self.labelled_images
        if not labelled:
            return None
        return ratio(sum(r.matched or 0 for r in labelled), sum(r.predicted for r in labelled))

    @property
    def recall(self) -> float | None:
        """Matched / labelled animals over the labelled images; None without labels."""
        labelled = self.labelled_images
        if not labelled:
            return None
        return ratio(sum(r.matched or 0 for r in labelled), sum(r.labelled or 0 for r in labelled))

    @property
    def ms_per_image(self) -> float:
        return sum(r.ms for r in self.images) / len(self.images) if self.images else 0.0

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict: metrics as fractions 0-1, precision/recall null without labels."""
        errors = self.errors
        return {
            "dataset": self.dataset,
            "segmenter": self.segmenter,
            "model": self.model,
            "mae": round(errors.mae, 4),
            "rmse": round(errors.rmse, 4),
            "exact": round(errors.exact, 4),
            "within1": round(errors.within1, 4),
            "precision": _rounded(self.precision),
            "recall": _rounded(self.recall),
            "labelled_images": len(self.labelled_images),
            "ms_per_image": round(self.ms_per_image, 1),
            "confidence": confidence_split(
                [r.confidence for r in self.images], [r.predicted == r.true for r in self.images]
            ),
            "images": [
                {
                    "image": r.image,
                    "true": r.true,
                    "predicted": r.predicted,
                    "labelled": r.labelled,
                    "matched": r.matched,
                    "ms": round(r.ms, 1),
                    "confidence": round(r.confidence, 4),
                }
                for r in self.images
            ],
        }


SURE = 0.9  # docs/accuracy.md: exact-count rate of counts at or above this, and below


def confidence_split(confidences: list[float], exact: list[bool]) -> dict[str, Any]:
    """How often a count is exact when its confidence is >= 0.9, and when it is below."""
    sure = [e for c, e in zip(confidences, exact, strict=True) if c >= SURE]
    unsure = [e for c, e in zip(confidences, exact, strict=True) if c < SURE]
    return {
        "sure_counts": len(sure),
        "sure_exact": round(sum(sure) / len(sure), 4) if sure else None,
        "unsure_counts": len(unsure),
        "unsure_exact": round(sum(unsure) / len(unsure), 4) if unsure else None,
    }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def format_report(report: EvalReport) -> str:
    """A plain-text table: one line per image, then the set-wide metrics."""
    header = f"{'image':<{_NAME_WIDTH}} {'true':>5} {'predicted':>9} {'error':>6} "
    header += f"{'matched':>9} {'ms':>8}"
    lines = [
        f"{report.dataset}: {len(report.images)} images",
        segmenter_line(report.segmenter, report.model),
        "",
        header,
        "-" * len(header),
    ]
    for r in report.images:
        found = f"{r.matched}/{r.labelled}" if r.labelled is not None else "-"
        lines.append(
            f"{_short(r.image):<{_NAME_WIDTH}} {r.true:>5} {r.predicted:>9} "
            f"{r.predicted - r.true:>+6d} {found:>9} {r.ms:>8.1f}"
        )
    return "\n".join([*lines, "", *_summary_lines(report)]) + "\n"


def segmenter_line(segmenter: str, model: str | None) -> str:
    """Which segmenter and model file gave the figures, so a saved report says it."""
    if model is None:
        return f"segmenter {segmenter} (built-in, no model file)"
    return f"segmenter {segmenter}, model {model}"


def _summary_lines(report: EvalReport) -> list[str]:
    errors = report.errors
    lines = [
        f"MAE          {errors.mae:.2f} animals per image",
        f"RMSE         {errors.rmse:.2f} animals per image",
        f"exact        {errors.exact:.1%} of images",
        f"within ±1    {errors.within1:.1%} of images",
    ]
    if report.precision is not None and report.recall is not None:
        n = len(report.labelled_images)
        lines.append(f"precision    {report.precision:.3f} (per-animal labels on {n} images)")
        lines.append(f"recall       {report.recall:.3f}")
    else:
        lines.append("precision    - (no per-animal labels)")
        lines.append("recall       -")
    lines.append(f"time         {report.ms_per_image:.1f} ms per image")
    return lines


def _short(name: str) -> str:
    if len(name) <= _NAME_WIDTH:
        return name
    keep = _NAME_WIDTH - 1
    return name[: keep // 2] + "…" + name[-(keep - keep // 2) :]

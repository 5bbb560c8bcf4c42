"""Counting accuracy of a segmenter on labelled photo sets (`pigweight eval`)."""

from pigweight.evaluation.datasets import Dataset, DatasetItem, load_dataset
from pigweight.evaluation.evaluate import evaluate_dataset
from pigweight.evaluation.labels import AnimalLabels, InvalidDataset
from pigweight.evaluation.report import EvalReport, ImageResult, format_report

__all__ = [
    "AnimalLabels",
    "Dataset",
    "DatasetItem",
    "EvalReport",
    "ImageResult",
    "InvalidDataset",
    "evaluate_dataset",
    "format_report",
    "load_dataset",
]

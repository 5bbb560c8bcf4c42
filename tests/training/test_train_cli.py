"""`pigweight train`: a tiny fine-tuning learns, checkpoints, resumes and exports a usable model."""

from __future__ import annotations

import json
from pathlib import Path

import onnxruntime
import pytest

from pigweight.cli import main
from pigweight.settings import load_settings
from pigweight.vision.segmenter import create_segmenter
from tests.training.conftest import write_yolo_folder


@pytest.fixture(autouse=True)
def _workdir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PIGWEIGHT_SYNTH_CACHE", str(tmp_path / "synth-cache"))
    for name in ("SEGMENTER", "MODEL_PATH", "CONF_THRESHOLD"):
        monkeypatch.delenv(name, raising=False)


def farm(base_model: Path, folder: Path, out: Path) -> list[str]:
    """The arguments of a fine-tuning of `base_model` on `folder` into `out`."""
    return ["--base", str(base_model), "--data", str(folder), "--out", str(out)]


def train(args: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    capsys.readouterr()
    assert main(["train", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_fine_tuning_fits_the_farms_frames_and_the_model_counts(
    base_model: Path, tiny_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "farm.onnx"
    result = train(
        [
            *farm(base_model, tiny_folder, out),
            "--steps",
            "12",
            "--batch",
            "2",
            "--imgsz",
            "256",
            "--augment",
            "camera",
        ],
        capsys,
    )
    # the loss on the farm's own frames (un-augmented) falls
    assert result["probe_loss_after"] < result["probe_loss_before"]
    assert out.is_file() and Path(f"{out}.checkpoint.pt").is_file()
    meta = onnxruntime.InferenceSession(str(out)).get_modelmeta().custom_metadata_map
    made = json.loads(meta["pigweight_training"])
    assert made["augment"] == "camera"  # how it was made
    # trained in the shape its 320x180 frames are counted in at 256 (256x160, not square)
    assert made["input_hw"] == [160, 256]
    assert float(meta["conf_threshold"]) == result["conf_threshold"]  # as picked, unrounded
    settings = load_settings(segmenter="pig", model_path=out)
    segmenter = create_segmenter(settings.vision)
    assert segmenter.name == "pig"
    assert 0.0 < segmenter.conf_threshold < 1.0  # picked on validation, kept in the file
    from PIL import Image

    image = __import__("numpy").asarray(Image.open(next((tiny_folder / "images").iterdir())))
    found = segmenter.segment(image)
    masks = found.outline_masks()
    assert masks is not None and masks.shape[1:] == image.shape[:2]


def test_resume_goes_on_from_the_checkpoint(
    base_model: Path, tiny_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "farm.onnx"
    common = [
        *farm(base_model, tiny_folder, out),
        "--batch",
        "2",
        "--imgsz",
        "224",
    ]
    train([*common, "--steps", "3"], capsys)
    import torch

    assert torch.load(f"{out}.checkpoint.pt", weights_only=False)["step"] == 3
    capsys.readouterr()
    assert main(["train", *common, "--steps", "5", "--resume", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["steps"] == 5
    assert torch.load(f"{out}.checkpoint.pt", weights_only=False)["step"] == 5


def test_a_set_with_counts_only_is_refused(
    base_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    counts = tmp_path / "counts_only"
    write_yolo_folder(counts, [(1, 4)], (160, 96))
    import shutil

    shutil.rmtree(counts / "labels")
    (counts / "counts.csv").write_text("image,count\n00000001.png,4\n")
    code = main(
        [
            "train",
            "--base",
            str(base_model),
            "--data",
            str(counts),
            "--out",
            str(tmp_path / "m.onnx"),
            "--steps",
            "1",
        ]
    )
    assert code == 2
    assert "counts only" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--data", "nowhere"], "no such folder"),
        (["--imgsz", "300"], "multiple of 32"),
        (["--base", "missing.onnx"], "no such file"),
        (["--base", __file__], "not an ONNX model"),
        (["--composite", "4"], "polygons or rotated boxes"),
    ],
)
def test_bad_arguments_say_what_to_fix(
    base_model: Path,
    tiny_folder: Path,
    tmp_path: Path,
    args: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    full = [
        "train",
        *farm(base_model, tiny_folder, tmp_path / "m.onnx"),
        "--steps",
        "1",
        *args,
    ]
    try:
        code = main(full)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 2
        assert message in str(exc.code)
    else:
        assert message in capsys.readouterr().err
    assert code == 2


def test_points_become_boxes_sized_by_the_nearest_neighbour() -> None:
    import numpy as np

    from pigweight.evaluation.labels import AnimalLabels
    from pigweight.training.data import label_boxes

    boxes = label_boxes(AnimalLabels.from_points([(10, 10), (30, 10), (200, 200)]))
    assert boxes.shape == (3, 4)
    np.testing.assert_allclose(boxes[0], [2, 2, 18, 18])  # 0.8 x 20 px to its neighbour
    assert label_boxes(AnimalLabels.from_points([(5, 5)])).shape == (0, 4)  # no size known


def test_composite_frames_join_the_training(
    base_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.training.test_composite import write_polygon_folder

    folder = write_polygon_folder(tmp_path / "farm_polygons", range(2))
    out = tmp_path / "m.onnx"
    train(
        [
            *farm(base_model, folder, out),
            "--composite",
            "3",
            "--steps",
            "2",
            "--batch",
            "2",
            "--imgsz",
            "224",
        ],
        capsys,
    )
    import onnx

    meta = {p.key: p.value for p in onnx.load(out).metadata_props}
    assert json.loads(meta["pigweight_data"]) == {"composite": 3, "farm_polygons": 2}


def test_the_cli_offers_every_augmentation_plan() -> None:
    """`--augment` lists the plans without importing the training stack at start-up."""
    from pigweight.cli_train import AUGMENT_NAMES
    from pigweight.training.augment import AUGMENT

    assert sorted(AUGMENT_NAMES) == sorted(AUGMENT)

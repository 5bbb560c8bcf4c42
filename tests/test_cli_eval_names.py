"""`pigweight eval` says which segmenter and which model file gave its figures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image as PILImage

from pigweight.cli import main
from tests.vision.onnx_fixtures import anchor, write_model


@pytest.fixture(autouse=True)
def _workdir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name in ("SEGMENTER", "MODEL_PATH"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def labelled(tmp_path: Path) -> Path:
    root = tmp_path / "set"
    (root / "images").mkdir(parents=True)
    for name in ("a.png", "b.png"):
        PILImage.new("RGB", (96, 64), (40, 110, 60)).save(root / "images" / name)
    (root / "counts.csv").write_text("image,count\na.png,1\nb.png,2\n")
    return root


@pytest.fixture
def model(tmp_path: Path) -> Path:
    """A one-class pig model that finds one animal in every picture."""
    return write_model(tmp_path / "best.onnx", [anchor(320, 320, 200, 100, scores=[0.9])])


def run_eval(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    capsys.readouterr()
    assert main(["eval", *args]) == 0
    return capsys.readouterr().out


def test_classic_names_no_model_file(labelled: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = json.loads(run_eval([str(labelled), "--segmenter", "classic", "--json"], capsys))
    assert report["segmenter"] == "classic" and report["model"] is None
    text = run_eval([str(labelled), "--segmenter", "classic"], capsys)
    assert "segmenter classic (built-in, no model file)" in text.splitlines()


def test_yolo_names_the_model_file(
    labelled: Path, model: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = json.loads(run_eval([str(labelled), "--model", model.name, "--json"], capsys))
    assert report["segmenter"] == "yolo_onnx"
    assert report["model"] == str(model.resolve())  # absolute, though given relative
    assert [r["predicted"] for r in report["images"]] == [1, 1]  # the model did the counting
    text = run_eval([str(labelled), "--model", model.name], capsys)
    assert f"segmenter yolo_onnx, model {model.resolve()}" in text.splitlines()


def test_model_from_the_environment_is_named(
    labelled: Path, model: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SEGMENTER", "yolo_onnx")
    monkeypatch.setenv("MODEL_PATH", str(model))
    report = json.loads(run_eval([str(labelled), "--json"], capsys))
    assert (report["segmenter"], report["model"]) == ("yolo_onnx", str(model.resolve()))


def test_demo_video_eval_names_the_model(
    tmp_path: Path, model: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    video = tmp_path / "demo.mp4"
    args = ["demo-video", str(video), "--seconds", "1", "--width", "320", "--height", "180"]
    assert main(args) == 0
    result = json.loads(
        run_eval([str(video), "--frames", "2", "--model", str(model), "--json"], capsys)
    )
    assert (result["segmenter"], result["model"]) == ("yolo_onnx", str(model.resolve()))
    assert result["frames"] == 2
    text = run_eval([str(video), "--frames", "2", "--segmenter", "classic"], capsys)
    assert "segmenter classic (built-in, no model file)" in text.splitlines()

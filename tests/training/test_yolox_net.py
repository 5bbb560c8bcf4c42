"""The trainable YOLOX graph and its ONNX export agree, at any input size and batch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from pigweight.training.yolox_net import build_net, decode, write_onnx
from pigweight.vision.yolo_onnx import YoloOnnxSegmenter

META = {"names": "{0: 'pig'}", "imgsz": "[416, 416]", "stride": "32", "task": "detect"}


def test_export_runs_what_torch_trained(base_model: Path, tmp_path: Path) -> None:
    net, graph = build_net(base_model)
    out = tmp_path / "pig.onnx"
    write_onnx(net, graph, out, META)
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    for shape in [(1, 3, 416, 416), (2, 3, 256, 448)]:
        x = torch.rand(*shape)
        boxes, scores, _ = decode(net(x))
        want = torch.cat([boxes, scores[..., None]], -1).transpose(1, 2).detach().numpy()
        got = session.run(None, {"images": x.numpy()})[0]
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-2)


def test_export_loads_as_a_yolo_detect_model(base_model: Path, tmp_path: Path) -> None:
    net, graph = build_net(base_model)
    out = tmp_path / "pig.onnx"
    write_onnx(net, graph, out, {**META, "conf_threshold": "0.42"})
    segmenter = YoloOnnxSegmenter(out, use_gpu=False)
    assert segmenter.info.task == "detect"
    assert segmenter.info.names == {0: "pig"}
    assert segmenter.info.dynamic_batch
    assert segmenter.conf_threshold == 0.42  # the threshold picked at training is used
    found = segmenter.segment_batch([np.zeros((180, 320, 3), np.uint8)] * 2)
    assert len(found) == 2


def test_a_pig_model_reloads_for_fine_tuning(base_model: Path, tmp_path: Path) -> None:
    net, graph = build_net(base_model)
    out = tmp_path / "pig.onnx"
    write_onnx(net, graph, out, META)
    again, graph2 = build_net(out)
    x = torch.rand(1, 3, 224, 288)
    assert torch.equal(decode(net(x))[1], decode(again(x))[1])
    write_onnx(again, graph2, tmp_path / "twice.onnx", META)  # no second decoding tail
    session = ort.InferenceSession(str(tmp_path / "twice.onnx"), providers=["CPUExecutionProvider"])
    assert [o.name for o in session.get_outputs()] == ["output0"]

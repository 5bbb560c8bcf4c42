"""YOLOX-Nano as a trainable torch module, read straight from its ONNX file, and back.

The YOLOX project's own export (`../shared/models/yolox_nano_coco.onnx`) is a plain graph of
convolutions (batch norm already folded in), SiLU, a Focus slice, SPP max-pools and nearest
upsampling. `YoloxNet` runs that graph node by node in torch with every convolution's
weight as a parameter, so it trains; `write_onnx` puts the trained weights back into the
same graph. Two edits make it PigWeight's pig detector:

- the 80 COCO class maps of the head become one `pig` map (started from COCO's sheep,
  which is what the COCO model calls a pig);
- the input becomes what `yolo_onnx` feeds every model: RGB 0-1, any size that is a
  multiple of 32, any batch. The YOLOX graph wants BGR 0-255; since its first convolution
  is linear, the channel swap and the x255 are folded into that convolution's weights.

The exported file ends in the YOLOv8/YOLO11 detect layout (`output0` `[batch, 5, anchors]`:
cx, cy, w, h in input pixels and the pig score), so the letterbox, decoding and NMS code of
`vision/yolo_onnx.py` runs it unchanged. No onnx2torch: it imports torchvision, whose PyPI
build does not load beside the CPU torch the project installs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import TensorProto, helper
from onnx import numpy_helper as nh
from torch import Tensor, nn

STRIDES = (8, 16, 32)
SHEEP_CLASS = 18  # COCO: the class YOLOX-Nano gives pigs most often
_CLS_PREFIX = "head.cls_preds."
_REG_PREFIX = "head.reg_preds."


@dataclass(frozen=True, slots=True)
class HeadOutputs:
    """Per level: box regression (N, 4, h, w), objectness and class logits (N, 1, h, w)."""

    reg: list[Tensor]
    obj: list[Tensor]
    cls: list[Tensor]


class YoloxNet(nn.Module):
    """The YOLOX ONNX graph in torch; `forward` returns the raw head of each level."""

    def __init__(self, model: onnx.ModelProto) -> None:
        super().__init__()
        self._graph = model.graph
        consts = {i.name: nh.to_array(i) for i in model.graph.initializer}
        self.weights = nn.ParameterDict()
        self._consts: dict[str, np.ndarray] = {}
        for name, value in consts.items():
            if value.dtype == np.float32 and value.ndim in (1, 4):
                self.weights[_key(name)] = nn.Parameter(torch.from_numpy(value.copy()))
            else:
                self._consts[name] = value
        self._input = model.graph.input[0].name
        self._level_concats = _head_concats(model.graph)
        self._head_sigmoids = {
            n.output[0]: n.input[0]
            for n in model.graph.node
            if n.op_type == "Sigmoid" and _feeds(model.graph, n.output[0], self._level_concats)
        }

    def forward(self, images: Tensor) -> HeadOutputs:
        """images: (N, 3, H, W) RGB 0-1, H and W multiples of 32."""
        values: dict[str, Tensor] = {self._input: images}
        head = HeadOutputs([], [], [])
        for node in self._graph.node:
            if node.op_type == "Concat" and node.output[0] in self._level_concats:
                reg, obj, cls = (values[self._head_sigmoids.get(i, i)] for i in node.input)
                head.reg.append(reg)
                head.obj.append(obj)
                head.cls.append(cls)
                if len(head.reg) == len(STRIDES):
                    return head
                continue
            if node.output[0] in self._head_sigmoids:
                continue  # the loss takes logits; the sigmoid is applied in `decode`
            values[node.output[0]] = self._run(node, values)
        raise ValueError("the graph has fewer than three head levels")

    def _param(self, name: str) -> Tensor:
        return self.weights[_key(name)]

    def _run(self, node: onnx.NodeProto, values: dict[str, Tensor]) -> Tensor:
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        args = [values[i] for i in node.input if i in values]
        op = node.op_type
        if op == "Conv":
            bias = self._param(node.input[2]) if len(node.input) > 2 else None
            pads = attrs.get("pads", [0, 0, 0, 0])
            return F.conv2d(
                args[0],
                self._param(node.input[1]),
                bias,
                stride=tuple(attrs.get("strides", [1, 1])),
                padding=(pads[0], pads[1]),
                groups=attrs.get("group", 1),
            )
        if op == "Sigmoid":
            return torch.sigmoid(args[0])
        if op in ("Mul", "Add"):
            a, b = args
            return a * b if op == "Mul" else a + b
        if op == "Concat":
            return torch.cat(args, dim=attrs["axis"])
        if op == "MaxPool":
            k = attrs["kernel_shape"][0]
            return F.max_pool2d(args[0], k, stride=1, padding=attrs["pads"][0])
        if op == "Resize":
            return F.interpolate(args[0], scale_factor=2.0, mode="nearest")
        if op == "Slice":
            start, _end, axis, step = (int(self._consts[i][0]) for i in node.input[1:5])
            index = [slice(None)] * args[0].dim()
            index[axis] = slice(start, None, step)
            return args[0][tuple(index)]
        raise ValueError(f"YOLOX graph node {op} is not supported")


def load_yolox(path: Path) -> onnx.ModelProto:
    """The YOLOX-Nano COCO export, turned into a one-class RGB 0-1 model (see module doc)."""
    model = onnx.load(str(path))
    if len(model.graph.input) != 1 or not _head_concats(model.graph):
        raise ValueError(f"{path}: not a YOLOX export (one input, three head levels)")
    if _is_pig_model(model):
        return model
    init = {i.name: i for i in model.graph.initializer}
    for name, proto in init.items():
        if name.startswith(_CLS_PREFIX):
            value = nh.to_array(proto)
            if value.shape[0] > 1:
                proto.CopyFrom(nh.from_array(value[SHEEP_CLASS : SHEEP_CLASS + 1].copy(), name))
    stem = _stem_conv(model.graph)
    weight = nh.to_array(init[stem.input[1]])
    # BGR 0-255 in -> RGB 0-1 in: input channel c of each 3-channel Focus piece swaps with
    # 2 - c, and the x255 moves into the weights.
    order = [3 * (c // 3) + 2 - c % 3 for c in range(weight.shape[1])]
    folded = (weight[:, order] * np.float32(255)).astype(np.float32)
    init[stem.input[1]].CopyFrom(nh.from_array(folded, stem.input[1]))
    model.metadata_props.add(key="pigweight_input", value="rgb01")
    return model


def _is_pig_model(model: onnx.ModelProto) -> bool:
    return any(p.key == "pigweight_input" for p in model.metadata_props)


def is_pig_model(path: Path) -> bool:
    """True for a model `pigweight train` wrote (fine-tuning it wants a gentler rate)."""
    return _is_pig_model(onnx.load(str(path), load_external_data=False))


def build_net(path: Path) -> tuple[YoloxNet, onnx.ModelProto]:
    """A trainable net from a YOLOX COCO export or from a PigWeight pig model."""
    model = _graph_only(path)
    return YoloxNet(model), model


def _graph_only(path: Path) -> onnx.ModelProto:
    """A PigWeight export is the YOLOX graph plus a decoding tail the net never runs."""
    model = onnx.load(str(path))
    return model if _is_pig_model(model) else load_yolox(path)


def decode(head: HeadOutputs) -> tuple[Tensor, Tensor, Tensor]:
    """Boxes (N, A, 4) cx, cy, w, h in input pixels; scores (N, A); anchor centres (A, 3)."""
    boxes, scores, grids = [], [], []
    for stride, reg, obj, cls in zip(STRIDES, head.reg, head.obj, head.cls, strict=True):
        _, _, h, w = reg.shape
        gy, gx = torch.meshgrid(
            torch.arange(h, device=reg.device), torch.arange(w, device=reg.device), indexing="ij"
        )
        grid = torch.stack([gx, gy], -1).reshape(1, h * w, 2).to(reg)
        r = reg.flatten(2).transpose(1, 2)
        xy = (r[..., :2] + grid) * stride
        wh = torch.exp(r[..., 2:].clamp(max=10)) * stride
        boxes.append(torch.cat([xy, wh], -1))
        scores.append((torch.sigmoid(obj) * torch.sigmoid(cls)).flatten(1))
        centre = (grid[0] + 0.5) * stride
        grids.append(
            torch.cat([centre, torch.full((h * w, 1), float(stride), device=reg.device)], -1)
        )
    return torch.cat(boxes, 1), torch.cat(scores, 1), torch.cat(grids, 0)


def state_to_onnx(net: YoloxNet, model: onnx.ModelProto) -> onnx.ModelProto:
    """The graph with the net's current weights (a copy)."""
    out = onnx.ModelProto()
    out.CopyFrom(model)
    for proto in out.graph.initializer:
        key = _key(proto.name)
        if key in net.weights:
            value = net.weights[key].detach().cpu().numpy().astype(np.float32)
            proto.CopyFrom(nh.from_array(value, proto.name))
    return out


def write_onnx(net: YoloxNet, model: onnx.ModelProto, path: Path, metadata: dict[str, str]) -> None:
    """Export in the YOLO11 detect layout with `metadata` in `custom_metadata_map` style."""
    out = state_to_onnx(net, model)
    graph = out.graph
    concats = _head_concats(graph)
    _keep_ancestors(graph, concats)
    _drop_unused_initializers(graph)  # an old tail's constants, before the new tail's
    del graph.value_info[:]  # shapes recorded for 80 classes and 416x416 no longer hold
    levels = [n.output[0] for n in graph.node if n.output[0] in concats]
    tails = [
        _decode_level(graph, name, stride) for name, stride in zip(levels, STRIDES, strict=True)
    ]
    graph.node.append(helper.make_node("Concat", tails, ["output0"], axis=2))
    inp = graph.input[0]
    inp.CopyFrom(
        helper.make_tensor_value_info(inp.name, TensorProto.FLOAT, ["batch", 3, "height", "width"])
    )
    del graph.output[:]
    graph.output.append(
        helper.make_tensor_value_info("output0", TensorProto.FLOAT, ["batch", 5, "anchors"])
    )
    _drop_unused_initializers(graph)
    del out.metadata_props[:]
    for key, value in {**metadata, "pigweight_input": "rgb01"}.items():
        out.metadata_props.add(key=key, value=value)
    onnx.checker.check_model(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(out, str(path))


def _keep_ancestors(graph: onnx.GraphProto, targets: set[str]) -> None:
    """Drop every node the `targets` do not depend on (an old tail, YOLOX's reshape)."""
    producers = {o: n for n in graph.node for o in n.output}
    needed: set[str] = set()
    stack = list(targets)
    while stack:
        name = stack.pop()
        node = producers.get(name)
        if node is None or node.output[0] in needed:
            continue
        needed.add(node.output[0])
        stack.extend(node.input)
    keep = [n for n in graph.node if n.output[0] in needed]
    del graph.node[:]
    graph.node.extend(keep)


def _decode_level(graph: onnx.GraphProto, name: str, stride: int) -> str:
    """Nodes turning one level's (N, 6, h, w) raw head into (N, 5, h*w) decoded boxes."""
    p = f"pw_s{stride}_"
    nodes = graph.node
    c = _const_adder(graph, p)
    nodes.append(helper.make_node("Shape", [name], [p + "shape"]))
    nodes.append(helper.make_node("Gather", [p + "shape", c("i2", np.int64(2))], [p + "h"]))
    nodes.append(helper.make_node("Gather", [p + "shape", c("i3", np.int64(3))], [p + "w"]))
    zero, one = c("zero", np.int64(0)), c("one", np.int64(1))
    nodes.append(helper.make_node("Range", [zero, p + "h", one], [p + "ry"]))
    nodes.append(helper.make_node("Range", [zero, p + "w", one], [p + "rx"]))
    for axis in ("x", "y"):
        nodes.append(
            helper.make_node("Cast", [p + "r" + axis], [p + "f" + axis], to=TensorProto.FLOAT)
        )
    shape_y = c("shape_y", np.array([1, 1, -1, 1], np.int64))
    shape_x = c("shape_x", np.array([1, 1, 1, -1], np.int64))
    nodes.append(helper.make_node("Reshape", [p + "fy", shape_y], [p + "gy"]))
    nodes.append(helper.make_node("Reshape", [p + "fx", shape_x], [p + "gx"]))
    nodes.append(
        helper.make_node(
            "Split",
            [name],
            [p + "x", p + "y", p + "lwh", p + "obj", p + "cls"],
            axis=1,
            split=[1, 1, 2, 1, 1],
        )
    )
    s = c("stride", np.float32(stride))
    for axis in ("x", "y"):
        nodes.append(helper.make_node("Add", [p + axis, p + "g" + axis], [p + axis + "g"]))
        nodes.append(helper.make_node("Mul", [p + axis + "g", s], [p + "c" + axis]))
    nodes.append(helper.make_node("Exp", [p + "lwh"], [p + "ewh"]))
    nodes.append(helper.make_node("Mul", [p + "ewh", s], [p + "wh"]))
    nodes.append(helper.make_node("Mul", [p + "obj", p + "cls"], [p + "score"]))
    nodes.append(
        helper.make_node("Concat", [p + "cx", p + "cy", p + "wh", p + "score"], [p + "dec"], axis=1)
    )
    flat = c("flat", np.array([0, 5, -1], np.int64))
    nodes.append(helper.make_node("Reshape", [p + "dec", flat], [p + "out"]))
    return p + "out"


def _const_adder(graph: onnx.GraphProto, prefix: str) -> Callable[[str, object], str]:
    def add(name: str, value: object) -> str:
        full = prefix + name
        graph.initializer.append(nh.from_array(np.asarray(value), full))
        return full

    return add


def _drop_unused_initializers(graph: onnx.GraphProto) -> None:
    used = {i for n in graph.node for i in n.input}
    keep = [i for i in graph.initializer if i.name in used]
    del graph.initializer[:]
    graph.initializer.extend(keep)


def _head_concats(graph: onnx.GraphProto) -> set[str]:
    """Outputs of the per-level Concat(reg, obj, cls) nodes of the YOLOX head."""
    producers = {o: n for n in graph.node for o in n.output}
    found = set()
    for node in graph.node:
        if node.op_type != "Concat" or len(node.input) != 3:
            continue
        first = producers.get(node.input[0])
        if first is not None and first.op_type == "Conv" and first.input[1].startswith(_REG_PREFIX):
            found.add(node.output[0])
    return found


def _feeds(graph: onnx.GraphProto, name: str, concats: set[str]) -> bool:
    return any(n.output[0] in concats and name in n.input for n in graph.node)


def _stem_conv(graph: onnx.GraphProto) -> onnx.NodeProto:
    return next(n for n in graph.node if n.op_type == "Conv")


def _key(name: str) -> str:
    """ParameterDict keys may not hold dots."""
    return name.replace(".", "__")

"""The YOLOX training loss for one class: SimOTA assignment, IoU, objectness and class terms.

For each labelled animal, the anchors whose centre lies in its box or near its centre are
candidates; each animal takes its `k` cheapest candidates (cost: a poor box fit and a low
score), where `k` follows how well the model already fits it (YOLOX's dynamic k), and an
anchor claimed by two animals goes to the cheaper one. The loss is YOLOX's: an IoU term on
the boxes of the assigned anchors, objectness on every anchor, and the class score on the
assigned ones with their IoU as target.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from pigweight.training.yolox_net import HeadOutputs, decode

CENTRE_RADIUS = 2.5  # candidate anchors: within this many strides of an animal's centre
TOP_IOUS = 10  # dynamic k = sum of the best IoUs, up to this many
BOX_WEIGHT = 5.0


@dataclass(frozen=True, slots=True)
class LossParts:
    total: Tensor
    box: float
    obj: float
    cls: float
    assigned: int


def yolox_loss(head: HeadOutputs, targets: list[Tensor]) -> LossParts:
    """targets: per image a (K, 4) xyxy tensor of animal boxes in input pixels."""
    boxes, _, anchors = decode(head)
    obj_logits = torch.cat([o.flatten(1) for o in head.obj], 1)
    cls_logits = torch.cat([c.flatten(1) for c in head.cls], 1)
    xyxy = _xyxy(boxes)
    obj_target = torch.zeros_like(obj_logits)
    box_terms, cls_terms = [], []
    for i, gt in enumerate(targets):
        if len(gt) == 0:
            continue
        with torch.no_grad():
            fg, matched, ious = _simota(
                xyxy[i].detach(), obj_logits[i].detach(), cls_logits[i].detach(), anchors, gt
            )
        if not fg.any():
            continue
        obj_target[i, fg] = 1.0
        pred = xyxy[i, fg]
        box_terms.append(1.0 - _iou(pred, gt[matched]) ** 2)
        cls_terms.append(
            F.binary_cross_entropy_with_logits(cls_logits[i, fg], ious, reduction="none")
        )
    assigned = int(obj_target.sum().item())
    norm = max(assigned, 1)
    obj_loss = F.binary_cross_entropy_with_logits(obj_logits, obj_target, reduction="sum") / norm
    box_loss = torch.cat(box_terms).sum() / norm if box_terms else obj_logits.sum() * 0
    cls_loss = torch.cat(cls_terms).sum() / norm if cls_terms else obj_logits.sum() * 0
    total = BOX_WEIGHT * box_loss + obj_loss + cls_loss
    return LossParts(total, box_loss.item(), obj_loss.item(), cls_loss.item(), assigned)


def _simota(
    pred: Tensor, obj: Tensor, cls: Tensor, anchors: Tensor, gt: Tensor
) -> tuple[Tensor, Tensor, Tensor]:
    """fg (A,) bool; for the fg anchors, the matched animal index and the IoU with it."""
    centre, stride = anchors[:, :2], anchors[:, 2]
    in_box = (
        (centre[None, :, 0] > gt[:, None, 0])
        & (centre[None, :, 0] < gt[:, None, 2])
        & (centre[None, :, 1] > gt[:, None, 1])
        & (centre[None, :, 1] < gt[:, None, 3])
    )
    gt_centre = (gt[:, :2] + gt[:, 2:]) / 2
    reach = CENTRE_RADIUS * stride[None, :]
    in_centre = ((centre[None, :, 0] - gt_centre[:, None, 0]).abs() < reach) & (
        (centre[None, :, 1] - gt_centre[:, None, 1]).abs() < reach
    )
    candidate = (in_box | in_centre).any(0)
    cand_idx = candidate.nonzero().squeeze(1)
    fg = torch.zeros(len(anchors), dtype=torch.bool, device=anchors.device)
    if len(cand_idx) == 0:
        return (
            fg,
            torch.zeros(0, dtype=torch.long, device=fg.device),
            torch.zeros(0, device=fg.device),
        )
    ious = _pairwise_iou(gt, pred[cand_idx])  # (G, C)
    score = (torch.sigmoid(obj[cand_idx]) * torch.sigmoid(cls[cand_idx])).sqrt()
    cls_cost = F.binary_cross_entropy(
        score[None, :].expand_as(ious).clamp(1e-6, 1 - 1e-6),
        torch.ones_like(ious),
        reduction="none",
    )
    both = (in_box & in_centre)[:, cand_idx]
    cost = cls_cost + 3.0 * -torch.log(ious + 1e-8) + 1e5 * (~both)
    k = torch.clamp(ious.topk(min(TOP_IOUS, ious.shape[1]), dim=1).values.sum(1).int(), min=1)
    matching = torch.zeros_like(cost, dtype=torch.bool)
    for g in range(len(gt)):
        matching[g, cost[g].topk(int(k[g]), largest=False).indices] = True
    shared = matching.sum(0) > 1
    if shared.any():
        best = cost[:, shared].argmin(0)
        matching[:, shared] = False
        matching[best, shared.nonzero().squeeze(1)] = True
    taken = matching.any(0)
    matched = matching[:, taken].float().argmax(0)
    fg[cand_idx[taken]] = True
    return fg, matched, ious[matched, taken.nonzero().squeeze(1)]


def _xyxy(cxcywh: Tensor) -> Tensor:
    half = cxcywh[..., 2:] / 2
    return torch.cat([cxcywh[..., :2] - half, cxcywh[..., :2] + half], -1)


def _area(b: Tensor) -> Tensor:
    return (b[..., 2] - b[..., 0]).clamp(min=0) * (b[..., 3] - b[..., 1]).clamp(min=0)


def _iou(a: Tensor, b: Tensor) -> Tensor:
    """Element-wise IoU of two (N, 4) xyxy sets."""
    lt = torch.maximum(a[:, :2], b[:, :2])
    rb = torch.minimum(a[:, 2:], b[:, 2:])
    inter = (rb - lt).clamp(min=0).prod(1)
    return inter / (_area(a) + _area(b) - inter + 1e-7)


def _pairwise_iou(a: Tensor, b: Tensor) -> Tensor:
    lt = torch.maximum(a[:, None, :2], b[None, :, :2])
    rb = torch.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = (rb - lt).clamp(min=0).prod(2)
    return inter / (_area(a)[:, None] + _area(b)[None, :] - inter + 1e-7)

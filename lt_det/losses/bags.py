"""Balanced group softmax (BAGS): one softmax per group of classes of similar size."""
from typing import List, Sequence

import numpy as np
import torch
from torch.nn import functional as F

from detectron2.config import configurable

from .base import ClassificationLoss
from .build import LOSS_REGISTRY


def bags_groups(instance_count: Sequence[int], bin_edges: Sequence[float]) -> List[np.ndarray]:
    """Class ids of each non-empty group: bins ``[0, e_1), [e_1, e_2), ..., [e_K, inf)`` of
    the training instance counts (the paper's edges 10, 100, 1000; a class with no
    instance falls in the first bin). Empty bins are dropped."""
    edges = [float(e) for e in bin_edges]
    if any(b <= a for a, b in zip(edges, edges[1:])) or any(e <= 0 for e in edges):
        raise ValueError(
            f"MODEL.LT.LOSS.BAGS.BIN_EDGES must be positive and increasing, got {list(bin_edges)}"
        )
    counts = np.asarray(instance_count, dtype=np.float64)
    bins = np.searchsorted(np.asarray(edges), counts, side="right")
    return [np.flatnonzero(bins == b) for b in range(len(edges) + 1) if (bins == b).any()]


@LOSS_REGISTRY.register()
class BAGS(ClassificationLoss):
    """Balanced group softmax, Li et al., "Overcoming Classifier Imbalance for Long-tail
    Object Detection with Balanced Group Softmax", CVPR 2020.

    The classes are split into groups by their number of training instances
    (``bags_groups``); each group g has its own softmax over ``[others, classes of g]``, so
    a frequent class never suppresses a rare one. ``L = sum_g 1/|S_g| sum_{i in S_g}
    CE(z_i^g, y_i^g)`` with ``y_i^g`` the sample's class within g, or "others" when its
    class is not in g. ``S_g`` holds the samples of g's classes plus ``OTHERS_SAMPLE_RATIO``
    times as many randomly chosen "others" (all of them when fewer, or when the ratio is
    <= 0); a group without a sample in the batch adds nothing.

    In detection the background is a group of its own, ``[background, foreground]``,
    trained on every RoI with ``1/N sum_i CE``; background RoIs are "others" in every
    class group. At inference class j of group g scores ``softmax(z^g)_j * P(foreground)``
    and the background column is ``P(background)`` (the paper's merging); the "others"
    entries are dropped. In classification there is no background group and class j
    scores ``softmax(z^g)_j``.

    Logit layout: detection ``[bg, fg, others_1, classes of group 1, others_2, ...]``
    (``C + 2 + G`` logits), classification ``[others_1, classes of group 1, ...]``
    (``C + G``), classes in increasing id order within their group.

    Args:
        bin_edges: instance-count edges of the groups (10, 100, 1000).
        others_sample_ratio: "others" samples per sample of the group's classes (8.0).
        **kwargs: ``ClassificationLoss``'s arguments; ``class_stats`` is required
            (instance counts).
    """

    @configurable
    def __init__(
        self,
        *,
        bin_edges: Sequence[float] = (10, 100, 1000),
        others_sample_ratio: float = 8.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        counts = self.require_counts()
        self.bin_edges = tuple(float(e) for e in bin_edges)
        self.others_sample_ratio = float(others_sample_ratio)
        groups = bags_groups(counts, self.bin_edges)
        self.num_groups = len(groups)
        offset = 2 if self.use_background else 0
        group_of_class = np.zeros(self.num_classes, dtype=np.int64)
        index_in_group = np.zeros(self.num_classes, dtype=np.int64)  # 1-based: 0 is "others"
        starts = []
        for g, members in enumerate(groups):
            starts.append(offset)
            group_of_class[members] = g
            index_in_group[members] = np.arange(1, len(members) + 1)
            offset += len(members) + 1
        self.group_starts = starts
        self.group_sizes = [len(m) + 1 for m in groups]
        self.register_buffer("group_of_class", torch.as_tensor(group_of_class), False)
        self.register_buffer("index_in_group", torch.as_tensor(index_in_group), False)
        # Column of each class's logit: its group's start plus its index in the group.
        self.register_buffer(
            "class_column", torch.as_tensor(np.asarray(starts)[group_of_class] + index_in_group),
            False,
        )

    @classmethod
    def hyperparameters(cls, cfg):
        c = cfg.MODEL.LT.LOSS.BAGS
        return {"bin_edges": c.BIN_EDGES, "others_sample_ratio": c.OTHERS_SAMPLE_RATIO}

    def num_logits(self) -> int:
        return self.num_classes + self.num_groups + 2 * int(self.use_background)

    def class_columns(self) -> torch.Tensor:
        return self.class_column.cpu()

    def predict_probs(self, logits: torch.Tensor) -> torch.Tensor:
        probs = torch.empty_like(logits)
        for start, size in zip(self.group_starts, self.group_sizes):
            probs[:, start : start + size] = torch.softmax(logits[:, start : start + size], dim=1)
        class_probs = probs[:, self.class_column]
        if not self.use_background:
            return class_probs
        bg_group = torch.softmax(logits[:, :2], dim=1)
        return torch.cat([class_probs * bg_group[:, 1:], bg_group[:, :1]], dim=1)

    def select_others(self, in_group: torch.Tensor) -> torch.Tensor:
        """Boolean mask ``S_g`` of the samples that enter group g's term."""
        num_pos = int(in_group.sum())
        others = torch.nonzero(~in_group).flatten()
        keep = int(num_pos * self.others_sample_ratio)
        if self.others_sample_ratio <= 0 or keep >= others.numel():
            return torch.ones_like(in_group)
        chosen = others[torch.randperm(others.numel(), device=others.device)[:keep]]
        mask = in_group.clone()
        mask[chosen] = True
        return mask

    def batch_loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        C = self.num_classes
        loss = logits.new_zeros(())
        fg = labels < C if self.use_background else torch.ones_like(labels, dtype=torch.bool)
        if self.use_background:
            loss = loss + F.cross_entropy(logits[:, :2], fg.long(), reduction="mean")
        safe = torch.where(fg, labels, torch.zeros_like(labels))
        sample_group = torch.where(fg, self.group_of_class[safe], torch.full_like(labels, -1))
        for g, (start, size) in enumerate(zip(self.group_starts, self.group_sizes)):
            in_group = sample_group == g
            if not bool(in_group.any()):
                continue
            targets = torch.where(in_group, self.index_in_group[safe], torch.zeros_like(labels))
            mask = self.select_others(in_group)
            loss = loss + F.cross_entropy(
                logits[mask, start : start + size], targets[mask], reduction="mean"
            )
        return loss

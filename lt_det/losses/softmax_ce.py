"""Softmax cross-entropy, detectron2's default classification loss (the baseline)."""
from typing import Optional

import torch
from torch.nn import functional as F

from detectron2.config import configurable

from ..data.class_stats import ClassStats
from .base import ClassificationLoss
from .build import LOSS_REGISTRY


@LOSS_REGISTRY.register()
class SoftmaxCE(ClassificationLoss):
    """Softmax cross-entropy over C (+1 background) logits.

    ``L = -1/N sum_i log softmax(z_i)[y_i]``; scores are ``softmax(z)`` (background last in
    detection). Identical to detectron2's ``FastRCNNOutputLayers`` default loss.
    """

    @configurable
    def __init__(
        self,
        *,
        num_classes: int,
        use_background: bool,
        class_stats: Optional[ClassStats] = None,
    ):
        super().__init__(
            num_classes=num_classes, use_background=use_background, class_stats=class_stats
        )

    @classmethod
    def from_config(cls, cfg, num_classes, use_background, class_stats=None):
        return {
            "num_classes": num_classes,
            "use_background": use_background,
            "class_stats": class_stats,
        }

    def forward(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        if logits.shape[0] == 0:
            return logits.sum() * 0.0
        return F.cross_entropy(logits, labels, reduction="mean")

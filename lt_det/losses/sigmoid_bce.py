"""Sigmoid binary cross-entropy: one independent sigmoid per class."""
from typing import Optional

import torch
from torch.nn import functional as F

from detectron2.config import configurable

from ..data.class_stats import ClassStats
from .build import LOSS_REGISTRY
from .sigmoid_base import SigmoidClassificationLoss


@LOSS_REGISTRY.register()
class SigmoidBCE(SigmoidClassificationLoss):
    """Per-class sigmoid binary cross-entropy over C logits (no background logit).

    ``L = 1/N sum_i sum_j BCE(z_ij, y_ij)`` with ``y_ij = 1[j = y_i]``; a background RoI
    has all-zero targets. The sum over classes divided by the number of samples is the
    normalisation of EQL's and detectron2's sigmoid losses.
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
        targets = self.one_hot_targets(logits, labels)
        loss = F.binary_cross_entropy_with_logits(logits, targets, reduction="sum")
        return loss / logits.shape[0]

"""Cost-sensitive (re-weighted) softmax cross-entropy."""
from typing import Optional

import torch
from torch.nn import functional as F

from detectron2.config import configurable

from ..data.class_stats import ClassStats
from .base import ClassificationLoss
from .build import LOSS_REGISTRY
from .reweighting import cost_sensitive_weights, require_counts, with_background


@LOSS_REGISTRY.register()
class CSCE(ClassificationLoss):
    """Cost-sensitive softmax cross-entropy, as in Zhang et al., "Bag of Tricks for
    Long-Tailed Visual Recognition with Deep Convolutional Neural Networks", AAAI 2021.

    ``L = sum_i w_{y_i} CE(z_i, y_i) / sum_i w_{y_i}`` with ``w_c = (n_min / n_c)^gamma``
    (``n_c`` the instance count of class c, rescaled to average 1 over the classes); in
    detection the background label has weight ``background_weight``.

    Args:
        gamma: exponent of n_min / n_c (1.0).
        background_weight: weight of the background label in detection (1.0).
        class_stats: required (instance counts).
    """

    @configurable
    def __init__(
        self,
        *,
        num_classes: int,
        use_background: bool,
        class_stats: Optional[ClassStats],
        gamma: float = 1.0,
        background_weight: float = 1.0,
    ):
        super().__init__(
            num_classes=num_classes, use_background=use_background, class_stats=class_stats
        )
        weights = cost_sensitive_weights(require_counts(class_stats, "CSCE"), gamma)
        self.register_buffer(
            "class_weight", with_background(weights, background_weight, use_background), False
        )

    @classmethod
    def from_config(cls, cfg, num_classes, use_background, class_stats=None):
        return {
            "num_classes": num_classes,
            "use_background": use_background,
            "class_stats": class_stats,
            "gamma": cfg.MODEL.LT.LOSS.CSCE.GAMMA,
            "background_weight": cfg.MODEL.LT.LOSS.CSCE.BACKGROUND_WEIGHT,
        }

    def forward(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        if logits.shape[0] == 0:
            return logits.sum() * 0.0
        return F.cross_entropy(logits, labels, weight=self.class_weight.to(logits.dtype))

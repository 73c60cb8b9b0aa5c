"""Class-balanced softmax cross-entropy (effective number of samples)."""
from typing import Optional

import torch
from torch.nn import functional as F

from detectron2.config import configurable

from ..data.class_stats import ClassStats
from .base import ClassificationLoss
from .build import LOSS_REGISTRY
from .reweighting import class_balanced_weights, require_counts, with_background


@LOSS_REGISTRY.register()
class ClassBalancedCE(ClassificationLoss):
    """Class-balanced softmax CE, Cui et al., "Class-Balanced Loss Based on Effective
    Number of Samples", CVPR 2019.

    ``L = sum_i w_{y_i} CE(z_i, y_i) / sum_i w_{y_i}`` with
    ``w_c = (1 - beta) / (1 - beta^{n_c})`` normalised to sum to C (``n_c`` the instance
    count of class c); in detection the background label has weight ``background_weight``.

    Args:
        beta: effective-number hyperparameter in [0, 1) (0.999).
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
        beta: float = 0.999,
        background_weight: float = 1.0,
    ):
        super().__init__(
            num_classes=num_classes, use_background=use_background, class_stats=class_stats
        )
        weights = class_balanced_weights(require_counts(class_stats, "ClassBalancedCE"), beta)
        self.beta = float(beta)
        self.register_buffer(
            "class_weight", with_background(weights, background_weight, use_background), False
        )

    @classmethod
    def from_config(cls, cfg, num_classes, use_background, class_stats=None):
        return {
            "num_classes": num_classes,
            "use_background": use_background,
            "class_stats": class_stats,
            "beta": cfg.MODEL.LT.LOSS.CLASS_BALANCED_CE.BETA,
            "background_weight": cfg.MODEL.LT.LOSS.CLASS_BALANCED_CE.BACKGROUND_WEIGHT,
        }

    def forward(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        if logits.shape[0] == 0:
            return logits.sum() * 0.0
        return F.cross_entropy(logits, labels, weight=self.class_weight.to(logits.dtype))

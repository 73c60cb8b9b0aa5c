"""Class-balanced sigmoid focal loss."""
from typing import Optional

import torch

from detectron2.config import configurable

from ..data.class_stats import ClassStats
from .build import LOSS_REGISTRY
from .reweighting import class_balanced_weights, require_counts, with_background
from .focal import sigmoid_focal_sum
from .sigmoid_base import SigmoidClassificationLoss


@LOSS_REGISTRY.register()
class CBFocal(SigmoidClassificationLoss):
    """Class-balanced focal loss, Cui et al., "Class-Balanced Loss Based on Effective
    Number of Samples", CVPR 2019.

    ``L = 1/N sum_i w_{y_i} sum_j -(1 - p_t)^gamma log p_t`` over C sigmoid logits with
    ``w_c = (1 - beta) / (1 - beta^{n_c})`` normalised to sum to C (``n_c`` the instance
    count of class c); background RoIs (all-zero targets) have weight ``background_weight``.

    Args:
        beta: effective-number hyperparameter in [0, 1) (0.999).
        gamma: focusing exponent (0.5).
        background_weight: weight of background RoIs in detection (1.0).
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
        gamma: float = 0.5,
        background_weight: float = 1.0,
    ):
        super().__init__(
            num_classes=num_classes, use_background=use_background, class_stats=class_stats
        )
        if gamma < 0:
            raise ValueError(f"CBFocal needs MODEL.LT.LOSS.CB_FOCAL.GAMMA >= 0, got {gamma}")
        weights = class_balanced_weights(require_counts(class_stats, "CBFocal"), beta)
        self.beta = float(beta)
        self.gamma = float(gamma)
        self.register_buffer(
            "sample_weight", with_background(weights, background_weight, use_background), False
        )

    @classmethod
    def from_config(cls, cfg, num_classes, use_background, class_stats=None):
        return {
            "num_classes": num_classes,
            "use_background": use_background,
            "class_stats": class_stats,
            "beta": cfg.MODEL.LT.LOSS.CB_FOCAL.BETA,
            "gamma": cfg.MODEL.LT.LOSS.CB_FOCAL.GAMMA,
            "background_weight": cfg.MODEL.LT.LOSS.CB_FOCAL.BACKGROUND_WEIGHT,
        }

    def forward(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        if logits.shape[0] == 0:
            return logits.sum() * 0.0
        weights = self.sample_weight.to(logits.dtype)[labels]
        total = sigmoid_focal_sum(
            logits, labels, self.foreground(labels), self.gamma, row_weights=weights
        )
        return total / logits.shape[0]

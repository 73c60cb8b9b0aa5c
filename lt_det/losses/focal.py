"""Sigmoid focal loss."""
from typing import Optional

import torch
from torch.nn import functional as F

from detectron2.config import configurable

from ..data.class_stats import ClassStats
from .build import LOSS_REGISTRY
from .sigmoid_base import SigmoidClassificationLoss


def sigmoid_focal_terms(
    logits: torch.Tensor, targets: torch.Tensor, gamma: float, alpha: float = -1.0
) -> torch.Tensor:
    """Element-wise ``-alpha_t (1 - p_t)^gamma log p_t`` with ``p_t = p`` if y = 1 else 1 - p.

    ``alpha_t = alpha`` for positives, ``1 - alpha`` for negatives; ``alpha < 0`` disables it.
    """
    probs = torch.sigmoid(logits)
    ce = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    one_minus_pt = probs + targets - 2.0 * probs * targets  # p if y = 0, 1 - p if y = 1
    loss = ce * one_minus_pt.pow(gamma)
    if alpha >= 0:
        loss = loss * (alpha * targets + (1.0 - alpha) * (1.0 - targets))
    return loss


@LOSS_REGISTRY.register()
class Focal(SigmoidClassificationLoss):
    """Sigmoid focal loss, Lin et al., "Focal Loss for Dense Object Detection", ICCV 2017.

    ``L = 1/N sum_i sum_j -alpha_t (1 - p_t)^gamma log p_t`` over C sigmoid logits
    (background RoIs have all-zero targets).

    Args:
        gamma: focusing exponent (2.0).
        alpha: weight of positives, ``1 - alpha`` for negatives (0.25); < 0 disables it.
    """

    @configurable
    def __init__(
        self,
        *,
        num_classes: int,
        use_background: bool,
        class_stats: Optional[ClassStats] = None,
        gamma: float = 2.0,
        alpha: float = 0.25,
    ):
        super().__init__(
            num_classes=num_classes, use_background=use_background, class_stats=class_stats
        )
        if gamma < 0 or alpha > 1:
            raise ValueError(
                f"Focal needs MODEL.LT.LOSS.FOCAL.GAMMA >= 0 and ALPHA <= 1, "
                f"got GAMMA={gamma}, ALPHA={alpha}"
            )
        self.gamma = float(gamma)
        self.alpha = float(alpha)

    @classmethod
    def from_config(cls, cfg, num_classes, use_background, class_stats=None):
        return {
            "num_classes": num_classes,
            "use_background": use_background,
            "class_stats": class_stats,
            "gamma": cfg.MODEL.LT.LOSS.FOCAL.GAMMA,
            "alpha": cfg.MODEL.LT.LOSS.FOCAL.ALPHA,
        }

    def forward(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        if logits.shape[0] == 0:
            return logits.sum() * 0.0
        targets = self.one_hot_targets(logits, labels)
        loss = sigmoid_focal_terms(logits, targets, self.gamma, self.alpha)
        return loss.sum() / logits.shape[0]

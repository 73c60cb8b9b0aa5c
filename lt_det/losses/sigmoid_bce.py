"""Sigmoid binary cross-entropy: one independent sigmoid per class."""
import torch
from torch.nn import functional as F

from .build import LOSS_REGISTRY
from .sigmoid_base import SigmoidClassificationLoss


@LOSS_REGISTRY.register()
class SigmoidBCE(SigmoidClassificationLoss):
    """Per-class sigmoid binary cross-entropy over C logits (no background logit).

    ``L = 1/N sum_i sum_j BCE(z_ij, y_ij)`` with ``y_ij = 1[j = y_i]``; a background RoI
    has all-zero targets. The sum over classes divided by the number of samples is the
    normalisation of EQL's and detectron2's sigmoid losses. Arguments:
    ``ClassificationLoss``'s (it has no hyperparameter).
    """

    def batch_loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        targets = self.one_hot_targets(logits, labels)
        loss = F.binary_cross_entropy_with_logits(logits, targets, reduction="sum")
        return loss / logits.shape[0]

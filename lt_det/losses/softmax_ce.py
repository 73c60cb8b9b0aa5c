"""Softmax cross-entropy, detectron2's default classification loss (the baseline)."""
import torch
from torch.nn import functional as F

from .base import ClassificationLoss
from .build import LOSS_REGISTRY


@LOSS_REGISTRY.register()
class SoftmaxCE(ClassificationLoss):
    """Softmax cross-entropy over C (+1 background) logits.

    ``L = -1/N sum_i log softmax(z_i)[y_i]``; scores are ``softmax(z)`` (background last in
    detection). Identical to detectron2's ``FastRCNNOutputLayers`` default loss. Arguments:
    ``ClassificationLoss``'s (it has no hyperparameter).
    """

    def batch_loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits, labels, reduction="mean")

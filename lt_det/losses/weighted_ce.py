"""Softmax cross-entropy with fixed per-class weights: the shared part of the re-weighted
losses (cost-sensitive CE, class-balanced CE), which differ only in their weight function."""
import numpy as np
import torch
from torch.nn import functional as F

from .base import ClassificationLoss
from .reweighting import with_background


class WeightedSoftmaxCE(ClassificationLoss):
    """``L = sum_i w_{y_i} CE(z_i, y_i) / sum_i w_{y_i}`` (PyTorch's weighted mean, as in
    BagofTricks-LT); in detection the background label has weight ``background_weight``.

    Args:
        weights: ``[C]`` class weights (from the subclass's weight function).
        background_weight: weight of the background label in detection (> 0).
        **kwargs: ``ClassificationLoss``'s arguments.
    """

    def __init__(self, *, weights: np.ndarray, background_weight: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.register_buffer(
            "class_weight", with_background(weights, background_weight, self.use_background), False
        )

    def batch_loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits, labels, weight=self.class_weight.to(logits.dtype))

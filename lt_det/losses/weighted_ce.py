"""Softmax cross-entropy with fixed per-class weights: the shared part of the re-weighted
losses (cost-sensitive CE, class-balanced CE), which differ only in their weight function."""
from typing import Callable

import numpy as np
import torch
from torch.nn import functional as F

from .base import ClassificationLoss
from .reweighting import with_background


class WeightedSoftmaxCE(ClassificationLoss):
    """``L = sum_i w_{y_i} CE(z_i, y_i) / sum_i w_{y_i}`` (PyTorch's weighted mean, as in
    BagofTricks-LT); in detection the background label has weight ``background_weight``.

    Args:
        weight_fn: the subclass's weight function: ``[C]`` class weights from the ``[C]``
            instance counts (float64) of ``class_stats``, which is therefore required.
        background_weight: weight of the background label in detection (> 0).
        **kwargs: ``ClassificationLoss``'s arguments.
    """

    def __init__(
        self,
        *,
        weight_fn: Callable[[np.ndarray], np.ndarray],
        background_weight: float = 1.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        weights = weight_fn(self.require_counts())
        self.register_buffer(
            "class_weight", with_background(weights, background_weight, self.use_background), False
        )

    def batch_loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits, labels, weight=self.class_weight.to(logits.dtype))

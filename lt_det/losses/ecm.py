"""Effective class-margin (ECM) loss: sigmoid BCE with margins from effective class counts."""
import numpy as np
import torch
from torch.nn import functional as F

from detectron2.config import configurable

from .base import ClassificationLoss
from .build import LOSS_REGISTRY
from .sigmoid_base import sigmoid_with_background_logit


def ecm_margins_and_weights(positives: np.ndarray):
    """Per-column margin ``m_j`` and weight ``w_j`` of the ECM loss, float64 arrays.

    ``n+_j`` are the given positive counts (clamped at 1), ``n-_j = sum_k n+_k - n+_j``
    (clamped at 1). The two class margins of the paper are
    ``m+_j = log((n+_j^(1/4) + n-_j^(1/4)) / n-_j^(1/4))`` and
    ``m-_j = log((n+_j^(1/4) + n-_j^(1/4)) / n+_j^(1/4))``; the loss only needs their
    difference ``m_j = m+_j - m-_j = (log n+_j - log n-_j) / 4``. The weight is
    ``w_j = a_j log((1 + a_j) / a_j)`` with ``a_j = n-_j / n+_j`` (Theorem 2).
    """
    pos = np.maximum(np.asarray(positives, dtype=np.float64), 1.0)
    neg = np.maximum(pos.sum() - pos, 1.0)
    margin = 0.25 * (np.log(pos) - np.log(neg))
    a = neg / pos
    weight = a * np.log1p(1.0 / a)
    return margin, weight


@LOSS_REGISTRY.register()
class ECM(ClassificationLoss):
    """Effective class-margin loss, Cho and Krähenbühl, "Long-tail Detection with Effective
    Class-Margins", ECCV 2022.

    ``L = 1/N sum_ij w_j BCE(2 z_ij + m_j, y_ij)``, i.e. the positive probability is
    ``e^{z + m+_j} / (e^{z + m+_j} + e^{-z + m-_j})`` with the margins ``m+_j``, ``m-_j`` of
    ``ecm_margins_and_weights`` (``m_j = m+_j - m-_j = 1/4 log(n+_j / n-_j)``): a rare class
    (few positives, many negatives) gets a large positive margin and a small negative one.
    ``n+_j`` is the number of training images of class j (the official code's
    ``lvis_v1_image_count``) and ``n-_j`` the effective count of everything else.

    In detection the classifier has C + 1 logits: the last is a sigmoid background logit
    whose count is ``FG_BG_RATIO * sum_j n+_j`` (6.3313, the official code's empirical
    background-to-foreground ratio of Mask R-CNN's RoIs); it enters the counts and the loss
    like a class. Scores are ``sigmoid(z_j) (1 - sigmoid(z_bg))``, background
    ``sigmoid(z_bg)`` (the margins are a training device; inference uses plain
    ``sigmoid(z)``, as the official code does). In classification there are C logits,
    no background count, scores ``sigmoid(z_j)``. Classes with no training image are
    counted as 1.

    Args:
        fg_bg_ratio: background count over the summed class counts (detection only).
        **kwargs: ``ClassificationLoss``'s arguments; ``class_stats`` is required
            (image counts).
    """

    @configurable
    def __init__(self, *, fg_bg_ratio: float = 6.3313, **kwargs):
        super().__init__(**kwargs)
        counts = np.maximum(self.require_counts("image_count"), 1.0)
        if not fg_bg_ratio > 0:
            raise ValueError(f"MODEL.LT.LOSS.ECM.FG_BG_RATIO must be > 0, got {fg_bg_ratio}")
        self.fg_bg_ratio = float(fg_bg_ratio)
        if self.use_background:
            counts = np.append(counts, counts.sum() * self.fg_bg_ratio)
        margin, weight = ecm_margins_and_weights(counts)
        self.register_buffer("margin", torch.as_tensor(margin, dtype=torch.float32), False)
        self.register_buffer("weight", torch.as_tensor(weight, dtype=torch.float32), False)

    @classmethod
    def hyperparameters(cls, cfg):
        return {"fg_bg_ratio": cfg.MODEL.LT.LOSS.ECM.FG_BG_RATIO}

    def predict_probs(self, logits: torch.Tensor) -> torch.Tensor:
        return sigmoid_with_background_logit(logits, self.use_background)

    def batch_loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        num = logits.shape[0]
        targets = torch.zeros_like(logits)
        targets[torch.arange(num, device=logits.device), labels] = 1.0
        margin = self.margin.to(logits.dtype)
        weight = self.weight.to(logits.dtype)
        loss = F.binary_cross_entropy_with_logits(
            2.0 * logits + margin, targets, weight=weight.expand_as(logits), reduction="sum"
        )
        return loss / num

"""Equalization loss v2 (EQLv2): gradient-guided re-weighting of sigmoid BCE."""
from typing import Tuple

import torch
from torch.nn import functional as F

from detectron2.config import configurable

from .base import ClassificationLoss
from .build import LOSS_REGISTRY
from .distributed import all_reduce_sum
from .sigmoid_base import sigmoid_with_background_logit


@LOSS_REGISTRY.register()
class EQLv2(ClassificationLoss):
    """Equalization loss v2, Tan et al., "Equalization Loss v2: A New Gradient Balance
    Approach for Long-tailed Object Detection", CVPR 2021.

    Sigmoid BCE ``L = 1/N sum_ij [q_j y_ij + r_j (1 - y_ij)] BCE(z_ij, y_ij)`` with
    ``r_j = 1 / (1 + exp(-gamma (g_j - mu)))`` and ``q_j = 1 + alpha (1 - r_j)``, where
    ``g_j`` is the ratio of the accumulated positive to negative gradient magnitudes
    ``sum |dL/dz_ij|`` of class j over all past iterations (all 1 before the first update).

    In detection the classifier has C + 1 logits: the last one is a sigmoid background
    (objectness) logit with weights 1 and no gradient statistics; scores are
    ``sigmoid(z_j) (1 - sigmoid(z_bg))``, background ``sigmoid(z_bg)``. In classification
    it has C logits and scores ``sigmoid(z_j)``.

    The gradient statistics are buffers (saved in checkpoints), updated in training mode
    only and summed over processes when torch.distributed runs with world size > 1.

    Args:
        gamma, mu, alpha: the paper's hyperparameters (12, 0.8, 4).
        **kwargs: ``ClassificationLoss``'s arguments.
    """

    @configurable
    def __init__(self, *, gamma: float = 12.0, mu: float = 0.8, alpha: float = 4.0, **kwargs):
        super().__init__(**kwargs)
        num_classes = self.num_classes
        self.gamma = float(gamma)
        self.mu = float(mu)
        self.alpha = float(alpha)
        # Accumulated sum_i |dL/dz_ij| over positives (y_ij = 1) and negatives of class j.
        self.register_buffer("pos_grad", torch.zeros(num_classes, dtype=torch.float64))
        self.register_buffer("neg_grad", torch.zeros(num_classes, dtype=torch.float64))
        # Number of updates; the weights are all 1 before the first.
        self.register_buffer("num_updates", torch.zeros((), dtype=torch.long))

    @classmethod
    def hyperparameters(cls, cfg):
        c = cfg.MODEL.LT.LOSS.EQLV2
        return {"gamma": c.GAMMA, "mu": c.MU, "alpha": c.ALPHA}

    def predict_probs(self, logits: torch.Tensor) -> torch.Tensor:
        return sigmoid_with_background_logit(logits, self.use_background)

    def class_weights(self) -> Tuple[torch.Tensor, torch.Tensor]:
        """``(q, r)``: positive and negative weights of the C classes, float64."""
        if int(self.num_updates) == 0:
            ones = torch.ones_like(self.pos_grad)
            return ones, ones
        ratio = self.pos_grad / (self.neg_grad + 1e-10)
        neg_w = torch.sigmoid(self.gamma * (ratio - self.mu))
        pos_w = 1.0 + self.alpha * (1.0 - neg_w)
        return pos_w, neg_w

    def forward(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        num, num_logits = logits.shape
        pos_w, neg_w = self.class_weights()
        if self.use_background:  # the background logit: weight 1 either way
            one = pos_w.new_ones(1)
            pos_w, neg_w = torch.cat([pos_w, one]), torch.cat([neg_w, one])
        pos_w, neg_w = pos_w.to(logits.dtype), neg_w.to(logits.dtype)
        rows = torch.arange(num, device=logits.device)

        targets = logits.new_zeros(num, num_logits)
        targets[rows, labels] = 1.0
        weights = neg_w[None, :].repeat(num, 1)
        weights[rows, labels] = pos_w[labels]
        loss = F.binary_cross_entropy_with_logits(
            logits, targets, weight=weights, reduction="sum"
        ) / max(num, 1)

        if self.training:  # every process takes part in the all-reduce, even with no RoI
            self._collect_gradients(logits.detach(), labels, pos_w, neg_w)
        return loss

    @torch.no_grad()
    def _collect_gradients(self, logits, labels, pos_w, neg_w):
        # d BCE / dz = p - y: magnitude 1 - p on the positive, p on the negatives, each
        # multiplied by its weight. Only the C class columns are tracked.
        C = self.num_classes
        probs = torch.sigmoid(logits[:, :C]).to(torch.float64)
        fg = labels < C
        fg_labels = labels[fg]
        p_pos = probs[fg, fg_labels] if fg_labels.numel() else probs.new_zeros(0)
        pos_sum = torch.zeros(C, dtype=torch.float64, device=logits.device)
        pos_sum.index_add_(0, fg_labels, 1.0 - p_pos)
        neg_sum = probs.sum(dim=0)
        neg_sum.index_add_(0, fg_labels, -p_pos)
        count = pos_sum.new_full((1,), float(labels.numel()))
        stats = torch.cat([pos_sum * pos_w[:C].double(), neg_sum * neg_w[:C].double(), count])
        stats = all_reduce_sum(stats)
        if stats[-1] == 0:  # an empty (global) batch carries no gradient information
            return
        self.pos_grad += stats[:C]
        self.neg_grad += stats[C : 2 * C]
        self.num_updates += 1

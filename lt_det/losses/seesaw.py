"""Seesaw loss: softmax cross-entropy with mitigation and compensation factors."""
import math

import torch
from torch.nn import functional as F

from detectron2.config import configurable

from .base import ClassificationLoss
from .build import LOSS_REGISTRY
from .distributed import all_reduce_sum


def seesaw_log_factors(
    logits: torch.Tensor,
    labels: torch.Tensor,
    class_counts: torch.Tensor,
    p: float,
    q: float,
    eps: float,
) -> torch.Tensor:
    """``log S_ij = log M_ij + log C_ij`` for each sample i (label y_i) and class j.

    ``M_ij = (N_j / N_{y_i})^p`` if ``N_j < N_{y_i}`` else 1 (counts clamped at 1), and
    ``C_ij = (sigma_j / sigma_{y_i})^q`` if ``sigma_j > sigma_{y_i}`` else 1, with
    ``sigma = softmax(z)`` detached and ``sigma_{y_i}`` clamped at ``eps``.

    Returns:
        ``[N, C]`` float tensor (no gradient), zero on the ground-truth column.
    """
    log_s = logits.new_zeros(logits.shape)
    if p > 0:
        log_counts = class_counts.clamp(min=1).to(logits.dtype).log()
        log_ratio = log_counts[None, :] - log_counts[labels][:, None]
        log_s = log_s + p * log_ratio.clamp(max=0.0)
    if q > 0:
        log_sigma = F.log_softmax(logits.detach(), dim=1)
        log_self = log_sigma.gather(1, labels[:, None]).clamp(min=math.log(eps))
        log_s = log_s + q * (log_sigma - log_self).clamp(min=0.0)
    # Both factors are 1 on the ground-truth column (ratio 1), so log_s is 0 there.
    return log_s.detach()


def seesaw_cross_entropy(
    logits: torch.Tensor,
    labels: torch.Tensor,
    class_counts: torch.Tensor,
    p: float = 0.8,
    q: float = 2.0,
    eps: float = 1e-2,
) -> torch.Tensor:
    """Per-sample seesaw loss ``-log( e^{z_y} / (e^{z_y} + sum_{j != y} S_yj e^{z_j}) )``."""
    adjusted = logits + seesaw_log_factors(logits, labels, class_counts, p, q, eps)
    return F.cross_entropy(adjusted, labels, reduction="none")


@LOSS_REGISTRY.register()
class Seesaw(ClassificationLoss):
    """Seesaw loss, Wang et al., "Seesaw Loss for Long-Tailed Instance Segmentation",
    CVPR 2021.

    ``L = -sum_i log( e^{z_iy} / (e^{z_iy} + sum_{j != y} M_yj C_yj e^{z_ij}) )``: the
    mitigation factor ``M_yj = (N_j / N_y)^p`` (j rarer than y) reduces the negative
    gradient a frequent class y puts on a rare class j, the compensation factor
    ``C_yj = (sigma_j / sigma_y)^q`` (j scored above y) restores it for misclassified
    samples. ``N_j`` is the number of class-j samples seen so far in training (a buffer,
    checkpointed, summed over processes under torch.distributed).

    In detection the classifier has C + 2 logits: C class logits trained with the seesaw
    term on foreground RoIs only, and 2 objectness logits (foreground, background) trained
    with softmax CE on all RoIs; both terms are divided by the number of RoIs. Scores are
    ``softmax(z_cls)_j * P(foreground)``, background ``P(background)``. In classification
    the classifier has C logits and scores ``softmax(z)``.

    Args:
        p: mitigation exponent (0.8); 0 disables the factor.
        q: compensation exponent (2.0); 0 disables the factor.
        eps: lower clamp of ``sigma_y`` (1e-2).
        **kwargs: ``ClassificationLoss``'s arguments.
    """

    @configurable
    def __init__(self, *, p: float = 0.8, q: float = 2.0, eps: float = 1e-2, **kwargs):
        super().__init__(**kwargs)
        if p < 0 or q < 0 or not eps > 0:
            raise ValueError(
                f"Seesaw needs MODEL.LT.LOSS.SEESAW.P >= 0, Q >= 0 and EPS > 0; "
                f"got P={p}, Q={q}, EPS={eps}"
            )
        self.p, self.q, self.eps = float(p), float(q), float(eps)
        # Samples of each class seen in training so far (N_j of the mitigation factor).
        self.register_buffer("class_counts", torch.zeros(self.num_classes, dtype=torch.float64))

    @classmethod
    def hyperparameters(cls, cfg):
        c = cfg.MODEL.LT.LOSS.SEESAW
        return {"p": c.P, "q": c.Q, "eps": c.EPS}

    def num_logits(self) -> int:
        return self.num_classes + 2 * int(self.use_background)

    def predict_probs(self, logits: torch.Tensor) -> torch.Tensor:
        C = self.num_classes
        class_probs = torch.softmax(logits[:, :C], dim=1)
        if not self.use_background:
            return class_probs
        objectness = torch.softmax(logits[:, C:], dim=1)
        return torch.cat([class_probs * objectness[:, :1], objectness[:, 1:]], dim=1)

    def forward(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        C = self.num_classes
        num = logits.shape[0]
        fg = labels < C
        if self.training:  # every process takes part in the all-reduce, even with no RoI
            counts = torch.bincount(labels[fg], minlength=C)[:C].to(torch.float64)
            self.class_counts += all_reduce_sum(counts)
        if num == 0:
            return logits.sum() * 0.0
        class_logits = logits[:, :C]
        loss = seesaw_cross_entropy(
            class_logits[fg], labels[fg], self.class_counts, self.p, self.q, self.eps
        ).sum()
        if self.use_background:
            objectness_labels = (~fg).long()  # 0: foreground, 1: background
            loss = loss + F.cross_entropy(logits[:, C:], objectness_labels, reduction="sum")
        return loss / num

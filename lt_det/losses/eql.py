"""Equalization loss (EQL)."""
import numpy as np
import torch
from torch.nn import functional as F

from detectron2.config import configurable

from .build import LOSS_REGISTRY
from .sigmoid_base import SigmoidClassificationLoss


def eql_weights(
    labels: torch.Tensor, tail: torch.Tensor, foreground: torch.Tensor
) -> torch.Tensor:
    """EQL's per-logit weights ``w_ij = 1 - E(r_i) T_lambda(f_j) (1 - y_ij)``.

    Args:
        labels: ``[N]`` labels; entries of background samples are ignored.
        tail: ``[C]`` float, ``T_lambda(f_j)`` (1 for classes with f_j < lambda).
        foreground: ``[N]`` bool, ``E(r_i)`` (1 for foreground samples).

    Returns:
        ``[N, C]`` weights.
    """
    num = labels.shape[0]
    weights = 1.0 - foreground.to(tail.dtype)[:, None] * tail[None, :]
    fg_rows = torch.nonzero(foreground, as_tuple=True)[0]
    # y_ij = 1 on the ground-truth column: its weight is 1 whatever the class.
    weights[fg_rows, labels[fg_rows]] = 1.0
    assert weights.shape == (num, tail.shape[0])
    return weights


@LOSS_REGISTRY.register()
class EQL(SigmoidClassificationLoss):
    """Equalization loss, Tan et al., "Equalization Loss for Long-Tailed Object
    Recognition", CVPR 2020.

    Sigmoid BCE over C logits, ``L = -1/N sum_i sum_j w_ij log p_hat_ij`` with
    ``w_ij = 1 - E(r_i) T_lambda(f_j) (1 - y_ij)``: a foreground proposal (E = 1) sends no
    negative gradient to a tail class (f_j = N_j / N < lambda, T = 1); background proposals
    (E = 0) and positives keep weight 1.

    Args:
        lambda_: frequency threshold (>= 0); 1.76e-3 on LVIS v0.5, 1.1e-3 on LVIS v1.
            0 makes no class tail (``f_j < 0`` never holds): plain sigmoid BCE, the
            endpoint of a lambda sweep.
        **kwargs: ``ClassificationLoss``'s arguments; ``class_stats`` is required:
            ``image_frequency`` gives f_j (a class with no training image has f_j = 0 and
            counts as tail for every lambda > 0).
    """

    @configurable
    def __init__(self, *, lambda_: float = 1.76e-3, **kwargs):
        super().__init__(**kwargs)
        if not lambda_ >= 0:
            raise ValueError(f"EQL needs MODEL.LT.LOSS.EQL.LAMBDA >= 0, got {lambda_}")
        self.require_counts("image_count")  # f_j needs the image counts
        self.lambda_ = float(lambda_)
        frequency = np.asarray(self.class_stats.image_frequency, dtype=np.float64)
        self.register_buffer(
            "tail", torch.as_tensor(frequency < self.lambda_, dtype=torch.float32), False
        )

    @classmethod
    def hyperparameters(cls, cfg):
        return {"lambda_": cfg.MODEL.LT.LOSS.EQL.LAMBDA}

    def batch_loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        targets = self.one_hot_targets(logits, labels)
        weights = eql_weights(labels, self.tail.to(logits.dtype), self.foreground(labels))
        loss = F.binary_cross_entropy_with_logits(
            logits, targets, weight=weights, reduction="sum"
        )
        return loss / logits.shape[0]

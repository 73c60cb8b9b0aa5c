"""Sigmoid focal loss."""
from typing import Optional

import torch
from torch.nn import functional as F

from detectron2.config import configurable

from .build import LOSS_REGISTRY
from .sigmoid_base import SigmoidClassificationLoss


def focal_term(z: torch.Tensor, gamma: float) -> torch.Tensor:
    """``sigmoid(z)^gamma softplus(z)``: the focal loss of a logit z whose target is 0
    (``-(1 - p_t)^gamma log p_t`` with ``p_t = 1 - sigmoid(z)``); a target of 1 is
    ``focal_term(-z)``.

    ``sigmoid(z)^gamma`` is taken as ``exp(gamma * logsigmoid(z))``: ``sigmoid(z)`` underflows
    to 0 for z below about -104 (float32) or -745 (float64), where the derivative of
    ``pow`` with 0 < gamma < 1, ``gamma * 0^(gamma - 1)``, is infinite and the product with
    ``softplus(z) = 0`` a NaN; the log form's derivative ``gamma sigmoid(-z) sigmoid(z)^gamma``
    stays finite for every z."""
    return torch.exp(gamma * F.logsigmoid(z)) * F.softplus(z)


class _NegativeFocalSum(torch.autograd.Function):
    """``sum_i r_i sum_j focal_term(x_ij)``, every logit taken as a negative.

    The gradient ``r_i sigmoid^gamma (sigmoid + gamma (1 - sigmoid) softplus)`` is computed
    in the forward pass from the same sigmoid and softplus, and only it is kept for the
    backward: about a third of the passes over the ``N x C`` logits that autograd needs.
    """

    @staticmethod
    def forward(ctx, logits, gamma, row_weights):
        p = torch.sigmoid(logits)
        sp = F.softplus(logits)
        pg = p.pow(gamma)
        if row_weights is None:
            total = torch.dot(pg.reshape(-1), sp.reshape(-1))
        else:
            total = torch.dot((pg * sp).sum(dim=1), row_weights)
        grad = torch.addcmul(p, 1.0 - p, sp, value=gamma).mul_(pg)
        if row_weights is not None:
            grad.mul_(row_weights[:, None])
        ctx.save_for_backward(grad)
        return total

    @staticmethod
    def backward(ctx, grad_output):
        (grad,) = ctx.saved_tensors
        return grad * grad_output, None, None


def sigmoid_focal_sum(
    logits: torch.Tensor,
    labels: torch.Tensor,
    foreground: torch.Tensor,
    gamma: float,
    alpha: float = -1.0,
    row_weights: Optional[torch.Tensor] = None,
) -> torch.Tensor:
    """``sum_i r_i sum_j -alpha_t (1 - p_t)^gamma log p_t`` with one-hot targets
    ``y_ij = 1[j = labels_i]`` for foreground rows and all-zero targets otherwise.

    Written as every logit taken as a negative plus a correction on the few positive
    entries, so no ``N x C`` target is built. ``alpha_t`` is ``alpha`` on positives and
    ``1 - alpha`` on negatives; ``alpha < 0`` disables it.
    """
    pos_w, neg_w = (alpha, 1.0 - alpha) if alpha >= 0 else (1.0, 1.0)
    rows = torch.nonzero(foreground, as_tuple=True)[0]
    positives = logits[rows, labels[rows]]
    correction = pos_w * focal_term(-positives, gamma) - neg_w * focal_term(positives, gamma)
    if row_weights is not None:
        correction = correction * row_weights[rows]
    return neg_w * _NegativeFocalSum.apply(logits, gamma, row_weights) + correction.sum()


@LOSS_REGISTRY.register()
class Focal(SigmoidClassificationLoss):
    """Sigmoid focal loss, Lin et al., "Focal Loss for Dense Object Detection", ICCV 2017.

    ``L = 1/N sum_i sum_j -alpha_t (1 - p_t)^gamma log p_t`` over C sigmoid logits
    (background RoIs have all-zero targets).

    Args:
        gamma: focusing exponent (2.0).
        alpha: weight of positives, ``1 - alpha`` for negatives (0.25); < 0 disables it.
        **kwargs: ``ClassificationLoss``'s arguments.
    """

    @configurable
    def __init__(self, *, gamma: float = 2.0, alpha: float = 0.25, **kwargs):
        super().__init__(**kwargs)
        if gamma < 0 or alpha > 1:
            raise ValueError(
                f"Focal needs MODEL.LT.LOSS.FOCAL.GAMMA >= 0 and ALPHA <= 1, "
                f"got GAMMA={gamma}, ALPHA={alpha}"
            )
        self.gamma = float(gamma)
        self.alpha = float(alpha)

    @classmethod
    def hyperparameters(cls, cfg):
        return {"gamma": cfg.MODEL.LT.LOSS.FOCAL.GAMMA, "alpha": cfg.MODEL.LT.LOSS.FOCAL.ALPHA}

    def batch_loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        total = sigmoid_focal_sum(
            logits, labels, self.foreground(labels), self.gamma, self.alpha
        )
        return total / logits.shape[0]

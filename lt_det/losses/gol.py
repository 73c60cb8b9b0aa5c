"""Gumbel optimised loss (GOL): binary cross-entropy with the Gumbel activation."""
import torch

from .base import ClassificationLoss
from .build import LOSS_REGISTRY

# The official code clamps the logits to [-4, 10] before the activation (no gradient
# outside) and the reduced loss to at most 20.
LOGIT_MIN, LOGIT_MAX = -4.0, 10.0
LOSS_MAX = 20.0


def gumbel(logits: torch.Tensor) -> torch.Tensor:
    """The Gumbel (max-value) CDF ``G(z) = exp(-exp(-z))``."""
    return torch.exp(-torch.exp(-logits))


def gumbel_bce(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Element-wise ``-y log G(z) - (1 - y) log(1 - G(z))``, written stably:
    ``-log G(z) = e^{-z}`` and ``-log(1 - G(z)) = -log(-expm1(-e^{-z}))``."""
    u = torch.exp(-logits)
    neg_log_one_minus = -torch.log(-torch.expm1(-u))
    return targets * u + (1.0 - targets) * neg_log_one_minus


class _GumbelBCESum(torch.autograd.Function):
    """``sum_ij gumbel_bce(clip(z_ij, -4, 10), y_ij)`` with one-hot ``y`` given by labels,
    and its gradient written out: with ``u = e^{-z}``, ``d/dz (-log G) = -u`` and
    ``d/dz -log(1 - G) = u / expm1(u)``; zero where the clamp is active. Autograd through
    the composed element-wise ops took 4x the time of sigmoid BCE (one pass per op, each
    saved for the backward)."""

    @staticmethod
    def forward(ctx, logits, labels):
        rows = torch.arange(logits.shape[0], device=logits.device)
        inside = (logits >= LOGIT_MIN) & (logits <= LOGIT_MAX)
        u = torch.exp(-logits.clamp(min=LOGIT_MIN, max=LOGIT_MAX))
        neg = torch.expm1(-u).neg_().log_().neg_()  # -log(1 - G(z)) for every column
        pos_u = u[rows, labels]
        total = neg.sum() + (pos_u - neg[rows, labels]).sum()
        ctx.save_for_backward(u, inside, labels)
        return total

    @staticmethod
    def backward(ctx, grad_total):
        u, inside, labels = ctx.saved_tensors
        rows = torch.arange(u.shape[0], device=u.device)
        grad = u / torch.expm1(u)
        grad[rows, labels] = -u[rows, labels]
        grad.mul_(inside).mul_(grad_total)
        return grad, None


@LOSS_REGISTRY.register()
class GOL(ClassificationLoss):
    """Gumbel optimised loss, Alexandridis et al., "Long-tailed Instance Segmentation using
    Gumbel Optimized Loss", ECCV 2022.

    ``L = min(1/N sum_ij BCE(G(clip(z_ij, -4, 10)), y_ij), 20)`` with the Gumbel activation
    ``G(z) = exp(-exp(-z))`` in place of the sigmoid: its asymmetric tail suits classes
    whose expected probability is small, as most LVIS classes are. ``G`` is also the score
    rule at inference. The clamps are those of the official ``GumbelCE``.

    In detection the classifier has C + 1 logits: the last is the background, a Gumbel
    "class" with target 1 on background RoIs; scores are ``G(z_j)`` for the classes (the
    official head drops the background column, as detectron2 does) and ``G(z_bg)`` in the
    background column. In classification there are C logits and scores ``G(z_j)``.

    The official recipes initialise the classifier biases to -2 (``G(-2) ~ 6e-4``); with
    ``MODEL.LT.PREDICTOR.BIAS_PRIOR = sigmoid(-2) = 0.1192`` lt_det's predictor does so.
    """

    def predict_probs(self, logits: torch.Tensor) -> torch.Tensor:
        return gumbel(logits)

    def batch_loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        loss = _GumbelBCESum.apply(logits, labels) / logits.shape[0]
        return loss.clamp(max=LOSS_MAX)

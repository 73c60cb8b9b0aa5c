"""Softmax cross-entropy with label smoothing (Szegedy et al., CVPR 2016; He et al.,
"Bag of Tricks for Image Classification with CNNs", CVPR 2019)."""
import torch
from detectron2.config import configurable
from torch.nn import functional as F

from .base import ClassificationLoss
from .build import LOSS_REGISTRY


def smoothed_targets(labels: torch.Tensor, num_logits: int, epsilon: float, spread: str) -> torch.Tensor:
    """Target distribution q over ``num_logits`` = K columns.

    * ``spread="all"`` (the formula in the seed's code, GluonCV, torch's
      ``label_smoothing``): ``q = (1 - eps) onehot(y) + eps / K``;
    * ``spread="others"`` (Eq. in Sec. 5.2 of He et al.): ``q_y = 1 - eps`` and
      ``q_i = eps / (K - 1)`` for ``i != y``.
    """
    k = num_logits
    onehot = F.one_hot(labels, k).to(torch.get_default_dtype())
    if spread == "all":
        return (1.0 - epsilon) * onehot + epsilon / k
    if k == 1:
        return onehot
    return (1.0 - epsilon) * onehot + (epsilon / (k - 1)) * (1.0 - onehot)


@LOSS_REGISTRY.register()
class LabelSmoothingCE(ClassificationLoss):
    """Cross-entropy against a smoothed target: ``L = -1/N sum_i sum_k q_ik log softmax(z_i)_k``.

    ``q`` is ``smoothed_targets`` (``MODEL.LT.LOSS.LABEL_SMOOTHING.EPSILON``, ``.SPREAD``);
    ``epsilon = 0`` is plain softmax CE. Scores are ``softmax(z)`` as for ``SoftmaxCE``.

    Args:
        epsilon: smoothing mass in [0, 1).
        spread: "all" (eps / K to every class) or "others" (eps / (K - 1) to the others).
        **kwargs: ``ClassificationLoss``'s arguments.
    """

    @configurable
    def __init__(self, *, epsilon: float = 0.1, spread: str = "all", **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= epsilon < 1.0:
            raise ValueError(f"MODEL.LT.LOSS.LABEL_SMOOTHING.EPSILON must be in [0, 1), got {epsilon}")
        if spread not in ("all", "others"):
            raise ValueError(
                f"MODEL.LT.LOSS.LABEL_SMOOTHING.SPREAD must be 'all' or 'others', got {spread!r}"
            )
        self.epsilon = float(epsilon)
        self.spread = spread

    @classmethod
    def hyperparameters(cls, cfg):
        c = cfg.MODEL.LT.LOSS.LABEL_SMOOTHING
        return {"epsilon": c.EPSILON, "spread": c.SPREAD}

    def batch_loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        q = smoothed_targets(labels, logits.shape[1], self.epsilon, self.spread).to(logits.dtype)
        return -(q * F.log_softmax(logits, dim=-1)).sum(dim=-1).mean()

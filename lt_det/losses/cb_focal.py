"""Class-balanced sigmoid focal loss."""
import torch

from detectron2.config import configurable

from .build import LOSS_REGISTRY
from .reweighting import class_balanced_weights, with_background
from .focal import sigmoid_focal_sum
from .sigmoid_base import SigmoidClassificationLoss


@LOSS_REGISTRY.register()
class CBFocal(SigmoidClassificationLoss):
    """Class-balanced focal loss, Cui et al., "Class-Balanced Loss Based on Effective
    Number of Samples", CVPR 2019.

    ``L = 1/N sum_i w_{y_i} sum_j -(1 - p_t)^gamma log p_t`` over C sigmoid logits with
    ``w_c = (1 - beta) / (1 - beta^{n_c})`` normalised to sum to C (``n_c`` the instance
    count of class c); background RoIs (all-zero targets) have weight ``background_weight``.

    Args:
        beta: effective-number hyperparameter in [0, 1) (0.999).
        gamma: focusing exponent (0.5).
        background_weight: weight of background RoIs in detection (1.0).
        **kwargs: ``ClassificationLoss``'s arguments; ``class_stats`` is required
            (instance counts).
    """

    @configurable
    def __init__(self, *, beta: float = 0.999, gamma: float = 0.5, background_weight: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        if gamma < 0:
            raise ValueError(f"CBFocal needs MODEL.LT.LOSS.CB_FOCAL.GAMMA >= 0, got {gamma}")
        weights = class_balanced_weights(self.require_counts(), beta)
        self.beta = float(beta)
        self.gamma = float(gamma)
        self.register_buffer(
            "sample_weight", with_background(weights, background_weight, self.use_background), False
        )

    @classmethod
    def hyperparameters(cls, cfg):
        c = cfg.MODEL.LT.LOSS.CB_FOCAL
        return {"beta": c.BETA, "gamma": c.GAMMA, "background_weight": c.BACKGROUND_WEIGHT}

    def batch_loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        weights = self.sample_weight.to(logits.dtype)[labels]
        total = sigmoid_focal_sum(
            logits, labels, self.foreground(labels), self.gamma, row_weights=weights
        )
        return total / logits.shape[0]

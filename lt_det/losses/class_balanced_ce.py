"""Class-balanced softmax cross-entropy (effective number of samples)."""
from detectron2.config import configurable

from .build import LOSS_REGISTRY
from .reweighting import class_balanced_weights
from .weighted_ce import WeightedSoftmaxCE


@LOSS_REGISTRY.register()
class ClassBalancedCE(WeightedSoftmaxCE):
    """Class-balanced softmax CE, Cui et al., "Class-Balanced Loss Based on Effective
    Number of Samples", CVPR 2019.

    ``L = sum_i w_{y_i} CE(z_i, y_i) / sum_i w_{y_i}`` with
    ``w_c = (1 - beta) / (1 - beta^{n_c})`` normalised to sum to C (``n_c`` the instance
    count of class c); in detection the background label has weight ``background_weight``.

    Args:
        beta: effective-number hyperparameter in [0, 1) (0.999).
        background_weight: weight of the background label in detection (1.0).
        **kwargs: ``ClassificationLoss``'s arguments; ``class_stats`` is required
            (instance counts).
    """

    @configurable
    def __init__(self, *, beta: float = 0.999, background_weight: float = 1.0, **kwargs):
        super().__init__(
            weight_fn=lambda counts: class_balanced_weights(counts, beta),
            background_weight=background_weight,
            **kwargs,
        )
        self.beta = float(beta)

    @classmethod
    def hyperparameters(cls, cfg):
        c = cfg.MODEL.LT.LOSS.CLASS_BALANCED_CE
        return {"beta": c.BETA, "background_weight": c.BACKGROUND_WEIGHT}

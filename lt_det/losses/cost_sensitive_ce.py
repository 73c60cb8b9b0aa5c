"""Cost-sensitive (re-weighted) softmax cross-entropy."""
from detectron2.config import configurable

from .build import LOSS_REGISTRY
from .reweighting import cost_sensitive_weights
from .weighted_ce import WeightedSoftmaxCE


@LOSS_REGISTRY.register()
class CSCE(WeightedSoftmaxCE):
    """Cost-sensitive softmax cross-entropy, as in Zhang et al., "Bag of Tricks for
    Long-Tailed Visual Recognition with Deep Convolutional Neural Networks", AAAI 2021.

    ``L = sum_i w_{y_i} CE(z_i, y_i) / sum_i w_{y_i}`` with ``w_c = (n_min / n_c)^gamma``
    (``n_c`` the instance count of class c, rescaled to average 1 over the classes); in
    detection the background label has weight ``background_weight``.

    Args:
        gamma: exponent of n_min / n_c (1.0).
        background_weight: weight of the background label in detection (1.0).
        **kwargs: ``ClassificationLoss``'s arguments; ``class_stats`` is required
            (instance counts).
    """

    @configurable
    def __init__(self, *, gamma: float = 1.0, background_weight: float = 1.0, **kwargs):
        super().__init__(
            weight_fn=lambda counts: cost_sensitive_weights(counts, gamma),
            background_weight=background_weight,
            **kwargs,
        )
        self.gamma = float(gamma)

    @classmethod
    def hyperparameters(cls, cfg):
        c = cfg.MODEL.LT.LOSS.CSCE
        return {"gamma": c.GAMMA, "background_weight": c.BACKGROUND_WEIGHT}

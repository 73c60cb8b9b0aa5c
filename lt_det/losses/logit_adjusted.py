"""Logit-adjusted softmax cross-entropy and balanced softmax."""
import numpy as np
import torch
from detectron2.config import configurable
from torch.nn import functional as F

from .base import ClassificationLoss
from .build import LOSS_REGISTRY
from .reweighting import fill_empty_classes


def log_priors(counts: np.ndarray) -> np.ndarray:
    """``log pi_j``, ``pi_j = n_j / sum_k n_k``; a class with no sample counts as the
    smallest non-zero count (``fill_empty_classes``: a finite, lowest prior)."""
    counts = fill_empty_classes(counts)
    return np.log(counts / counts.sum())


@LOSS_REGISTRY.register()
class LogitAdjustedCE(ClassificationLoss):
    """Logit-adjusted loss, Menon et al., "Long-Tail Learning via Logit Adjustment", ICLR 2021.

    ``L = CE(z + tau * log pi, y)`` with ``pi_j = n_j / N`` the training class prior: the
    model learns balanced logits, and the scores at inference are the unadjusted
    ``softmax(z)``. tau = 1 is balanced softmax (Ren et al., NeurIPS 2020). Classification
    only: the class statistics carry no background prior for detection.

    Args:
        tau: the adjustment strength (1.0).
        **kwargs: ``ClassificationLoss``'s arguments; ``class_stats`` is required
            (instance counts n_j).
    """

    detection = False  # the class statistics carry no prior of the background label

    @configurable
    def __init__(self, *, tau: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        adjustment = float(tau) * log_priors(self.require_counts())
        self.register_buffer("adjustment", torch.as_tensor(adjustment, dtype=torch.float32), False)
        self.tau = float(tau)

    @classmethod
    def hyperparameters(cls, cfg):
        return {"tau": cfg.MODEL.LT.LOSS.LOGIT_ADJUSTED.TAU}

    def batch_loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits + self.adjustment.to(logits.dtype), labels)


@LOSS_REGISTRY.register()
class BalancedSoftmaxCE(LogitAdjustedCE):
    """Balanced softmax, Ren et al., "Balanced Meta-Softmax for Long-Tailed Visual
    Recognition", NeurIPS 2020: ``L = CE(z + log n, y)`` (``LogitAdjustedCE`` with tau = 1,
    whatever ``MODEL.LT.LOSS.LOGIT_ADJUSTED.TAU`` says)."""

    @classmethod
    def hyperparameters(cls, cfg):
        return {"tau": 1.0}

"""LDAM: label-distribution-aware margin loss."""
import numpy as np
import torch
from detectron2.config import configurable
from torch.nn import functional as F

from .base import ClassificationLoss
from .build import LOSS_REGISTRY
from .reweighting import fill_empty_classes


def ldam_margins(counts: np.ndarray, max_margin: float) -> np.ndarray:
    """``Delta_j = K / n_j^(1/4)`` with K such that ``max_j Delta_j = max_margin``.

    A class with no sample counts as the smallest non-zero count (``fill_empty_classes``: it
    gets the largest margin) instead of an infinite one.
    """
    inv = fill_empty_classes(counts) ** -0.25
    return inv * (max_margin / inv.max())


@LOSS_REGISTRY.register()
class LDAM(ClassificationLoss):
    """Label-distribution-aware margin loss, Cao et al., "Learning Imbalanced Datasets with
    Label-Distribution-Aware Margin Loss", NeurIPS 2019.

    ``L = CE(s * (z - Delta_y e_y), y)`` with ``Delta_j proportional to n_j^(-1/4)`` and
    ``max_j Delta_j = max_margin``: rare classes must win by a larger margin. The paper uses
    it on a cosine classifier (``MODEL.LT.CLASSIFIER.HEAD "Cosine"``, scale 1) with s = 30.
    Scores are ``softmax(s * z)``. In detection the background label, the most frequent one,
    gets no margin.

    Args:
        max_margin: the largest margin (0.5).
        scale: s (30).
        **kwargs: ``ClassificationLoss``'s arguments; ``class_stats`` is required
            (instance counts n_j).
    """

    @configurable
    def __init__(self, *, max_margin: float = 0.5, scale: float = 30.0, **kwargs):
        super().__init__(**kwargs)
        if max_margin < 0 or scale <= 0:
            raise ValueError(f"LDAM needs MAX_MARGIN >= 0 and SCALE > 0, got {max_margin}, {scale}")
        margins = ldam_margins(self.require_counts(), max_margin)
        if self.use_background:
            margins = np.concatenate([margins, [0.0]])
        self.register_buffer("margins", torch.as_tensor(margins, dtype=torch.float32), False)
        self.scale = float(scale)

    @classmethod
    def hyperparameters(cls, cfg):
        return {"max_margin": cfg.MODEL.LT.LOSS.LDAM.MAX_MARGIN, "scale": cfg.MODEL.LT.LOSS.LDAM.SCALE}

    def batch_loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        margin = self.margins.to(logits.dtype)[labels]
        adjusted = logits.scatter_add(1, labels[:, None], -margin[:, None])
        return F.cross_entropy(self.scale * adjusted, labels)

    def predict_probs(self, logits: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.scale * logits, dim=-1)

"""Federated loss: sigmoid BCE restricted to a sampled subset of classes per batch."""
import numpy as np
import torch
from torch.nn import functional as F

from detectron2.config import configurable

from .build import LOSS_REGISTRY
from .sigmoid_base import SigmoidClassificationLoss


@LOSS_REGISTRY.register()
class Federated(SigmoidClassificationLoss):
    """Federated loss, Zhou et al., "Probabilistic two-stage detection", arXiv 2103.07461
    (2021), after the federated evaluation of LVIS.

    ``L = 1/N sum_i sum_{j in S} BCE(z_ij, y_ij)``: per batch, S holds every foreground
    class present in the batch plus negatives sampled without replacement with probability
    proportional to ``image_count_j ** power`` until ``|S| = num_sampled``. Classes with no
    training image have sampling weight 0 (they enter S only when present).

    Args:
        num_sampled: size of S (50).
        freq_weight_power: exponent of the image counts (0.5).
        **kwargs: ``ClassificationLoss``'s arguments; ``class_stats`` is required
            (image counts).
    """

    @configurable
    def __init__(self, *, num_sampled: int = 50, freq_weight_power: float = 0.5, **kwargs):
        super().__init__(**kwargs)
        counts = self.require_counts("image_count")
        if num_sampled < 1:
            raise ValueError(
                f"MODEL.LT.LOSS.FEDERATED.NUM_CLASSES must be >= 1, got {num_sampled}"
            )
        self.num_sampled = int(num_sampled)
        self.freq_weight_power = float(freq_weight_power)
        weights = np.where(counts > 0, counts, 0.0) ** self.freq_weight_power
        weights[counts <= 0] = 0.0  # 0 ** 0 would give 1 for a class never seen
        self.register_buffer(
            "sampling_weights", torch.as_tensor(weights, dtype=torch.float32), False
        )

    @classmethod
    def hyperparameters(cls, cfg):
        c = cfg.MODEL.LT.LOSS.FEDERATED
        return {"num_sampled": c.NUM_CLASSES, "freq_weight_power": c.FREQ_WEIGHT_POWER}

    def select_classes(self, labels: torch.Tensor) -> torch.Tensor:
        """``[C]`` float mask of the classes S that enter the loss for this batch."""
        C = self.num_classes
        mask = torch.zeros(C, device=labels.device)
        present = torch.unique(labels[self.foreground(labels)])
        mask[present] = 1.0
        missing = self.num_sampled - present.numel()
        if missing > 0:
            prob = self.sampling_weights.to(labels.device).clone()
            prob[present] = 0.0
            missing = min(missing, int((prob > 0).sum()))
            if missing > 0:
                mask[torch.multinomial(prob, missing, replacement=False)] = 1.0
        return mask

    def batch_loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        targets = self.one_hot_targets(logits, labels)
        mask = self.select_classes(labels).to(logits.dtype)
        loss = F.binary_cross_entropy_with_logits(
            logits, targets, weight=mask[None, :].expand_as(logits), reduction="sum"
        )
        return loss / logits.shape[0]

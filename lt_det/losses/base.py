"""Base class of lt_det's classification losses (see ``LOSS_REGISTRY`` for the contract)."""
from typing import ClassVar, Dict, Optional

import numpy as np
import torch
from detectron2.config import configurable
from torch import nn

from ..data.class_stats import ClassStats


class ClassificationLoss(nn.Module):
    """A classification loss that also tells the classifier its shape and score rule.

    The shared part of every loss lives here: the ``@configurable`` mapping from the config
    (``from_config`` = these three arguments + the subclass's ``hyperparameters(cfg)``), the
    empty-batch guard (``forward`` returns a graph-connected 0 on an empty batch, else
    ``batch_loss``), the class-statistics requirement (``require_counts``) and the checks
    below. A subclass implements ``batch_loss`` (or
    ``forward`` when it must run on empty batches too, e.g. to take part in an all-reduce),
    its own typed constructor with its hyperparameters (``**kwargs``: these arguments), and,
    when it differs from softmax over ``num_classes (+1)`` logits, ``num_logits`` and
    ``predict_probs``.

    Args:
        num_classes: number of foreground classes C.
        use_background: detection mode: labels in [0, C] with C the background.
        class_stats: per-class training statistics (image and instance counts).

    Attributes:
        detection: False for a loss that has no form with a background label (its
            constructor then rejects ``use_background=True`` with a one-line error).
    """

    detection: ClassVar[bool] = True

    @configurable
    def __init__(
        self,
        *,
        num_classes: int,
        use_background: bool,
        class_stats: Optional[ClassStats] = None,
    ):
        super().__init__()
        if num_classes < 1:
            raise ValueError(f"num_classes must be >= 1, got {num_classes}")
        if use_background and not self.detection:
            raise ValueError(
                f"{type(self).__name__} has no detection form (no background label); "
                "use it in the classification branch (MODEL.META_ARCHITECTURE LTClassifier)"
            )
        self.num_classes = int(num_classes)
        self.use_background = bool(use_background)
        self.class_stats = class_stats

    @classmethod
    def from_config(cls, cfg, num_classes, use_background, class_stats=None):
        return {
            "num_classes": num_classes,
            "use_background": use_background,
            "class_stats": class_stats,
            **cls.hyperparameters(cfg),
        }

    @classmethod
    def hyperparameters(cls, cfg) -> Dict[str, object]:
        """The loss's own constructor arguments from ``cfg.MODEL.LT.LOSS.<NAME>`` (none here)."""
        return {}

    def require_counts(self, count: str = "instance_count") -> np.ndarray:
        """Per-class ``count`` of ``class_stats`` (``"instance_count"``: the samples a
        classifier of RoIs/images sees, or ``"image_count"``), float64; a one-line error
        when the loss was built without class statistics."""
        if self.class_stats is None:
            kind = count.replace("_count", "")
            raise ValueError(
                f"{type(self).__name__} needs class statistics ({kind} counts): register the "
                "training set with class statistics in its metadata or pass class_stats to "
                "build_loss"
            )
        return np.asarray(getattr(self.class_stats, count), dtype=np.float64)

    def num_logits(self) -> int:
        """Columns the classifier must output (softmax default: C, plus 1 for background)."""
        return self.num_classes + int(self.use_background)

    def class_columns(self) -> torch.Tensor:
        """The logit column of each class (int64 [C]): the first C columns by default; a loss
        with another layout (BAGS' group blocks) says where its class logits are, so that
        weights move between layouts class by class (``swap_classification_loss``)."""
        return torch.arange(self.num_classes)

    def predict_probs(self, logits: torch.Tensor) -> torch.Tensor:
        """Per-class scores ([N, C+1] with background last in detection, else [N, C])."""
        return torch.softmax(logits, dim=-1)

    def forward(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        if logits.shape[0] == 0:  # no sample: a zero that keeps the graph (and its dtype)
            return logits.sum() * 0.0
        return self.batch_loss(logits, labels)

    def batch_loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """The scalar loss of a non-empty batch."""
        raise NotImplementedError

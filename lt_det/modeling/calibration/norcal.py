"""NorCal: post-hoc normalised calibration of detection scores by class frequency."""
import numpy as np
import torch

from detectron2.config import configurable

from ...data.class_stats import ClassStats
from .build import CALIBRATION_REGISTRY


@CALIBRATION_REGISTRY.register()
class NorCal:
    """Pan et al., "On Model Calibration for Long-Tailed Object Detection and Instance
    Segmentation", NeurIPS 2021.

    ``s~_j = (s_j / n_j^gamma) / Z`` for the classes and ``s~_bg = s_bg / Z`` for the
    background, ``Z = s_bg + sum_k s_k / n_k^gamma``: each class score is divided by a power
    of the class's number of training images ``n_j`` (the official code's ``by="image"``;
    a class with none counts as 1), the background is kept as it is and the scores are
    renormalised per RoI. For a softmax detector this equals the official ``exps`` mode
    (``exp(z_j) / n_j^gamma``, renormalised). ``gamma`` is tuned per model on held-out data
    (the official default 0 leaves the scores unchanged).

    Args:
        gamma: exponent of the image count.
        renorm: renormalise over classes and background (the paper's "Nor").
        class_stats: required (image counts).
    """

    @configurable
    def __init__(self, *, num_classes: int, class_stats: ClassStats, gamma: float = 0.0,
                 renorm: bool = True):
        if gamma < 0:
            raise ValueError(f"MODEL.LT.CALIBRATION.NORCAL.GAMMA must be >= 0, got {gamma}")
        counts = np.maximum(np.asarray(class_stats.image_count, dtype=np.float64), 1.0)
        self.num_classes = int(num_classes)
        self.gamma = float(gamma)
        self.renorm = bool(renorm)
        # Background factor 1: the background score is kept.
        self.factors = torch.as_tensor(np.append(counts ** -self.gamma, 1.0), dtype=torch.float32)

    @classmethod
    def from_config(cls, cfg, num_classes, class_stats):
        return {
            "num_classes": num_classes,
            "class_stats": class_stats,
            "gamma": cfg.MODEL.LT.CALIBRATION.NORCAL.GAMMA,
            "renorm": cfg.MODEL.LT.CALIBRATION.NORCAL.RENORM,
        }

    def __call__(self, probs: torch.Tensor) -> torch.Tensor:
        scaled = probs * self.factors.to(device=probs.device, dtype=probs.dtype)
        if not self.renorm:
            return scaled
        return scaled / scaled.sum(dim=1, keepdim=True).clamp(min=torch.finfo(probs.dtype).tiny)

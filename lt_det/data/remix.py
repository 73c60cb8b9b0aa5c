"""Remix (Chou et al., "Remix: Rebalanced Mixup", ECCV 2020 workshops).

Images are mixed as in input mixup, ``x~ = lam x_i + (1 - lam) x_j``, but the label weight
of ``y_i`` is (Eq. 10 of the paper)::

    lam_y = 0    if n_i / n_j >= kappa and lam < tau
    lam_y = 1    if n_i / n_j <= 1 / kappa and 1 - lam < tau
    lam_y = lam  otherwise

so that when a majority image is mixed with a minority one, the label leans to the minority
class. ``n_i`` are the training image counts of the classes (from the data set's metadata).
"""
from typing import Optional, Sequence

import numpy as np
import torch
from detectron2.config import configurable

from .class_stats import class_stats_from_metadata
from .mixup import MIXUP_REGISTRY, InputMixup


def remix_label_weights(
    lam: float,
    count_a: torch.Tensor,
    count_b: torch.Tensor,
    kappa: float = 3.0,
    tau: float = 0.5,
) -> torch.Tensor:
    """Per-sample weight ``lam_y`` of label ``a`` (Eq. 10 of Chou et al.).

    Args:
        lam: mixing coefficient of image ``a``.
        count_a, count_b: training counts ``n_i``, ``n_j`` of each sample's two classes.
        kappa, tau: Remix's hyperparameters (paper: 3 and 0.5).
    """
    count_a = count_a.double().clamp(min=1)
    count_b = count_b.double().clamp(min=1)
    ratio = count_a / count_b
    w = torch.full(ratio.shape, float(lam), dtype=torch.float64, device=ratio.device)
    if lam < tau:
        w[ratio >= kappa] = 0.0
    if 1.0 - lam < tau:
        w[ratio <= 1.0 / kappa] = 1.0
    return w


@MIXUP_REGISTRY.register()
class Remix(InputMixup):
    """Input mixup with Remix's re-balanced label weights (``remix_label_weights``).

    Args:
        class_counts: training image count of each class.
        alpha: Beta parameter of lambda.
        kappa, tau: Remix's hyperparameters.
    """

    @configurable
    def __init__(
        self,
        *,
        class_counts: Sequence[int],
        alpha: float = 1.0,
        kappa: float = 3.0,
        tau: float = 0.5,
        seed: Optional[int] = None,
    ):
        super().__init__(alpha=alpha, seed=seed)
        if kappa < 1:
            raise ValueError(f"MODEL.LT.MIXUP.REMIX_KAPPA must be >= 1, got {kappa}")
        self.class_counts = torch.as_tensor(np.asarray(class_counts), dtype=torch.float64)
        self.kappa = float(kappa)
        self.tau = float(tau)

    @classmethod
    def from_config(cls, cfg):
        stats = class_stats_from_metadata(cfg.DATASETS.TRAIN)
        return {
            "class_counts": stats.image_count,
            "alpha": cfg.MODEL.LT.MIXUP.ALPHA,
            "kappa": cfg.MODEL.LT.MIXUP.REMIX_KAPPA,
            "tau": cfg.MODEL.LT.MIXUP.REMIX_TAU,
            "seed": None if cfg.SEED < 0 else cfg.SEED,
        }

    def label_weights(self, lam, labels_a, labels_b):
        counts = self.class_counts.to(labels_a.device)
        return remix_label_weights(lam, counts[labels_a], counts[labels_b], self.kappa, self.tau)

"""FRACAL: post-hoc logit adjustment by class frequency and fractal dimension."""
from typing import Sequence

import numpy as np
import torch

from detectron2.config import configurable

from ...data.class_stats import ClassStats
from .build import CALIBRATION_REGISTRY


def fracal_terms(image_count, num_images: int, fractal_dim, lam: float):
    """``(w, v)``, float64 ``[C]``: the frequency term ``w_j = -log10(C f_j)`` with
    ``f_j = n_j / num_images`` (image frequency, a class with no image counted as 1) and the
    fractal term of the sigmoid variant ``v_j = -log10(C D_j^lam / sum_k D_k^lam)``."""
    counts = np.maximum(np.asarray(image_count, dtype=np.float64), 1.0)
    C = len(counts)
    freq = counts / max(int(num_images), 1)
    w = -np.log10(C * freq)
    d = np.asarray(fractal_dim, dtype=np.float64) ** lam
    v = -np.log10(C * d / d.sum())
    return w, v


@CALIBRATION_REGISTRY.register()
class FRACAL:
    """Alexandridis et al., "Fractal Calibration for Long-tailed Object Detection", CVPR 2025.

    Softmax detectors (``ACTIVATION: "softmax"``, the paper's main setting):
    ``s~ = normalise( softmax(z + w)_j / D_j^lam, background softmax(z + w)_bg )`` with the
    frequency term ``w_j = -log10(C f_j)`` on the class logits (0 on the background),
    ``f_j`` the fraction of training images with class j, and ``D_j`` the fractal
    dimension of the class's box centres (``lt_det.data.fractal_dim``; 1 for the
    background). It is applied to the predictor's scores ``s = softmax(z)`` as
    ``s_j e^{w_j} / D_j^lam``, background kept, renormalised (the same thing). Rare classes
    go up, classes spread uniformly over the image (large D) go down.

    Sigmoid detectors (``"sigmoid"``): ``s~_j = s_j sigmoid(logit(s_j) + w_j + v_j)`` with
    ``v_j = -log10(C D_j^lam / sum_k D_k^lam)``; the background column is kept.
    Defaults are the official ones (``base10`` frequency variant, ``fractal_l = 2``).

    Args:
        lam: exponent of the fractal dimension (2).
        activation: "softmax" or "sigmoid", the score rule of the calibrated model.
        fractal_dim: ``[C]`` fractal dimensions; from the training set when None.
        class_stats: required (image counts and number of images).
    """

    @configurable
    def __init__(
        self,
        *,
        num_classes: int,
        class_stats: ClassStats,
        fractal_dim: Sequence[float],
        lam: float = 2.0,
        activation: str = "softmax",
    ):
        if activation not in ("softmax", "sigmoid"):
            raise ValueError(
                f"MODEL.LT.CALIBRATION.FRACAL.ACTIVATION must be 'softmax' or 'sigmoid', got {activation!r}"
            )
        if len(fractal_dim) != num_classes:
            raise ValueError(f"FRACAL got {len(fractal_dim)} fractal dimensions for {num_classes} classes")
        self.num_classes = int(num_classes)
        self.lam = float(lam)
        self.activation = activation
        self.fractal_dim = np.asarray(fractal_dim, dtype=np.float64)
        w, v = fracal_terms(class_stats.image_count, class_stats.num_images, self.fractal_dim, self.lam)
        if activation == "softmax":
            factor = np.exp(w) / self.fractal_dim ** self.lam
            self.factors = torch.as_tensor(np.append(factor, 1.0), dtype=torch.float32)
        else:
            self.shift = torch.as_tensor(w + v, dtype=torch.float32)

    @classmethod
    def from_config(cls, cfg, num_classes, class_stats):
        from ...data.fractal_dim import fractal_dims_from_metadata

        return {
            "num_classes": num_classes,
            "class_stats": class_stats,
            "fractal_dim": fractal_dims_from_metadata(cfg.DATASETS.TRAIN),
            "lam": cfg.MODEL.LT.CALIBRATION.FRACAL.LAMBDA,
            "activation": cfg.MODEL.LT.CALIBRATION.FRACAL.ACTIVATION,
        }

    def __call__(self, probs: torch.Tensor) -> torch.Tensor:
        if self.activation == "softmax":
            scaled = probs * self.factors.to(device=probs.device, dtype=probs.dtype)
            return scaled / scaled.sum(dim=1, keepdim=True).clamp(min=torch.finfo(probs.dtype).tiny)
        eps = 1e-6 if probs.dtype != torch.float64 else 1e-12
        cls_probs = probs[:, : self.num_classes]
        logits = torch.logit(cls_probs, eps=eps)
        shift = self.shift.to(device=probs.device, dtype=probs.dtype)
        calibrated = cls_probs * torch.sigmoid(logits + shift)
        return torch.cat([calibrated, probs[:, self.num_classes :]], dim=1)

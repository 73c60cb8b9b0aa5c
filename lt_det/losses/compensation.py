"""Compensation loss of Decoupled Optimisation's collaborative parameter optimisation."""
from typing import Sequence

import numpy as np
import torch
from detectron2.config import configurable
from torch.nn import functional as F

from .base import ClassificationLoss
from .build import LOSS_REGISTRY

ALPHA_KINDS = ("ones", "group", "reversed_frequency")


def label_frequencies(counts: Sequence[int]) -> np.ndarray:
    """``L = [N_i / sum_j N_j]``; a class without samples counts as the smallest non-zero
    count so that ``log L`` stays finite."""
    n = np.asarray(counts, dtype=np.float64)
    positive = n[n > 0]
    n = np.maximum(n, positive.min() if positive.size else 1.0)
    return n / n.sum()


def reversed_frequencies(counts: Sequence[int]) -> np.ndarray:
    """``tau = R(L)``: the class of frequency rank k (0 = most frequent; ties by class id)
    gets the frequency of rank K - 1 - k."""
    freq = label_frequencies(counts)
    order = np.argsort(-freq, kind="stable")  # ranks, most frequent first
    tau = np.empty_like(freq)
    tau[order] = freq[order][::-1]
    return tau


def compensation_alpha(
    kind: str, counts: Sequence[int], rho: float = 0.8, group: Sequence[int] = ()
) -> np.ndarray:
    """The per-class vector ``alpha_t`` of eq. (3).

    ``"ones"``: alpha_1 = 1 (plain CE); ``"group"``: alpha_2 = rho on the preferred group's
    classes and 1 - rho on the others; ``"reversed_frequency"``: alpha_3 = tau = R(L).
    """
    k = len(counts)
    if kind == "ones":
        return np.ones(k)
    if kind == "group":
        if not 0.0 < rho < 1.0:
            raise ValueError(
                f"MODEL.LT.LOSS.COMPENSATION.RHO must lie in (0, 1) (log alpha is finite), got {rho}"
            )
        if not len(group):
            raise ValueError(
                "The compensation loss's preferred group has no classes; change "
                "MODEL.LT.LOSS.COMPENSATION.GROUP_MIN_COUNT/GROUP_MAX_COUNT or CLASSES"
            )
        alpha = np.full(k, 1.0 - rho)
        alpha[np.asarray(group, dtype=np.int64)] = rho
        return alpha
    if kind == "reversed_frequency":
        return reversed_frequencies(counts)
    raise ValueError(f"MODEL.LT.LOSS.COMPENSATION.ALPHA must be one of {ALPHA_KINDS}, got {kind!r}")


def compensation_ce(logits: torch.Tensor, labels: torch.Tensor, log_alpha: torch.Tensor) -> torch.Tensor:
    """``mean_i -log softmax(z_i - log alpha)[y_i]``."""
    return F.cross_entropy(logits - log_alpha.to(logits.dtype), labels)


@LOSS_REGISTRY.register()
class CompensationCE(ClassificationLoss):
    """Compensation loss, Cong et al., "Decoupled Optimisation for Long-Tailed Visual
    Recognition", AAAI 2024, eqs. (2)-(3):

        L_comp^t = 1/n sum_x -y log softmax(F_theta_t(x) - log alpha_t),
        alpha_1 = 1,  alpha_2 = rho_m,  alpha_3 = tau(y) = R(L)[y].

    Reading: a scalar alpha would cancel inside the softmax, so alpha_t is a per-class
    vector. alpha_2 is rho_m for the preferred (medium) group's classes and 1 - rho_m for
    the others, the proportions of eq. (1)'s sampling; alpha_3 gives the class of
    frequency rank k (most frequent first) the label frequency of rank K - 1 - k (L
    reversed), so head classes get the tail's small alpha. Subtracting log alpha raises the
    logits of small-alpha classes during training, so the model learns to lower them; the
    scores at inference are the plain ``softmax(z)``, which then favour the large-alpha
    (preferred) classes - the margin the paper describes. Classification only.

    Args:
        alpha: ``"ones"``, ``"group"`` or ``"reversed_frequency"``.
        rho: rho_m of ``"group"``, in (0, 1).
        group: class ids of the preferred group (``"group"``); empty = the classes with
            ``group_min_count <= n_j <= group_max_count`` training images.
        **kwargs: ``ClassificationLoss``'s arguments; ``class_stats`` is required
            (instance counts: one per image in classification).
    """

    detection = False  # alpha has no entry for the detection background

    @configurable
    def __init__(
        self,
        *,
        alpha: str = "ones",
        rho: float = 0.8,
        group: Sequence[int] = (),
        group_min_count: int = 20,
        group_max_count: int = 100,
        **kwargs,
    ):
        super().__init__(**kwargs)
        counts = self.require_counts()
        if not len(group):
            group = np.flatnonzero((counts >= group_min_count) & (counts <= group_max_count))
        alpha_vec = compensation_alpha(alpha, counts, rho, group)
        self.alpha_kind = alpha
        self.register_buffer("log_alpha", torch.as_tensor(np.log(alpha_vec), dtype=torch.float32), False)

    @classmethod
    def hyperparameters(cls, cfg):
        c = cfg.MODEL.LT.LOSS.COMPENSATION
        return {
            "alpha": c.ALPHA,
            "rho": c.RHO,
            "group": tuple(c.CLASSES),
            "group_min_count": c.GROUP_MIN_COUNT,
            "group_max_count": c.GROUP_MAX_COUNT,
        }

    def batch_loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return compensation_ce(logits, labels, self.log_alpha)

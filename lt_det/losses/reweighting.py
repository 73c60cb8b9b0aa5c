"""Per-class weights from training counts, shared by the re-weighted losses."""
import numpy as np
import torch


def fill_empty_classes(counts: np.ndarray) -> np.ndarray:
    """Counts, float64, with every 0 replaced by the smallest non-zero count (1 if none).

    The one rule of every count-based loss (re-weighting, LDAM margins, logit priors) for a
    class with no training sample: it counts as the rarest class seen. Its weight or margin
    never multiplies a training sample (there is none), so it matters only through the
    normalisations over classes; as the rarest class it perturbs them as little as one more
    rare class would, where n = 1 would give it the largest weight of all and shrink every
    other class's weight after the normalisation.
    """
    counts = np.asarray(counts, dtype=np.float64)
    positive = counts[counts > 0]
    return np.maximum(counts, positive.min() if positive.size else 1.0)


def cost_sensitive_weights(counts: np.ndarray, gamma: float = 1.0) -> np.ndarray:
    """``(n_min / n_c) ** gamma`` rescaled to average 1 over the classes.

    ``n_min`` is the smallest non-zero count; a class with no sample counts as ``n_min``
    (``fill_empty_classes``). The rescaling is a no-op under the weighted-mean reduction of
    classification and keeps the foreground on the scale of the background label (weight 1)
    in detection.
    """
    counts = fill_empty_classes(counts)
    weights = (counts.min() / counts) ** gamma
    return weights / weights.mean()


def class_balanced_weights(counts: np.ndarray, beta: float) -> np.ndarray:
    """Cui et al.'s ``(1 - beta) / (1 - beta ** n_c)`` normalised to sum to C.

    ``(1 - beta^n) / (1 - beta)`` is the effective number of n samples; a class with no
    sample counts as the rarest class (``fill_empty_classes``) instead of dividing by zero.
    """
    if not 0.0 <= beta < 1.0:
        raise ValueError(f"Class-balanced beta must be in [0, 1), got {beta}")
    counts = fill_empty_classes(counts)
    weights = (1.0 - beta) / (1.0 - np.power(beta, counts))
    return weights / weights.sum() * len(weights)


def with_background(weights: np.ndarray, background_weight: float, use_background: bool):
    """``[C (+1)]`` float32 tensor: the class weights, then the background's in detection."""
    if use_background:
        if not background_weight > 0:
            raise ValueError(f"BACKGROUND_WEIGHT must be > 0, got {background_weight}")
        weights = np.concatenate([weights, [background_weight]])
    return torch.as_tensor(weights, dtype=torch.float32)

"""Post hoc tau-normalised classifier (Kang et al., "Decoupling Representation and Classifier
for Long-Tailed Recognition", ICLR 2020): ``w~_j = w_j / ||w_j||^tau`` applied once to a
trained linear classifier, bias dropped (the paper's classifier has none).

The formula itself lives in lt_det/modeling/tau_norm.py, shared with the ``Linear`` head's
``MODEL.LT.CLASSIFIER.TAU`` (which applies it on the fly in eval mode instead).
"""
import torch
from torch import nn

from ..modeling.tau_norm import tau_normalize

__all__ = ["apply_tau_norm", "tau_normalize"]


@torch.no_grad()
def apply_tau_norm(linear: nn.Linear, tau: float = 1.0) -> nn.Linear:
    """Replace a linear classifier's weight by its tau-normalised version, in place; the
    bias is set to zero. Returns the layer."""
    linear.weight.copy_(tau_normalize(linear.weight, tau))
    if linear.bias is not None:
        linear.bias.zero_()
    return linear

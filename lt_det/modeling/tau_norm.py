"""tau-normalisation of a classifier's weights (Kang et al., "Decoupling Representation and
Classifier for Long-Tailed Recognition", ICLR 2020): ``w~_j = w_j / ||w_j||_2 ** tau``.

Frequent classes acquire larger weight norms; dividing each class's row by its norm to the
power tau undoes that. tau = 1 gives unit-norm rows (the paper's untuned default), tau = 0
leaves the weight unchanged. The one implementation used by the ``Linear`` classifier head
(``MODEL.LT.CLASSIFIER.TAU``, applied in eval mode) and by the post hoc trick
``apply_tau_norm`` below (applied once to a trained classifier).

Both drop the bias: the tau-normalised logits are ``w~_j . x``. Kang et al.'s classifier
has no bias; a trained bias is on the scale of the un-normalised rows (after tau = 1 the
rows have unit norm, the bias keeps its size) and carries the class prior the
normalisation removes, so keeping it would undo part of the correction. The head with
``TAU > 0`` in eval mode and ``apply_tau_norm`` give the same logits (tested).
"""
import torch
from torch import nn


def tau_normalize(weight: torch.Tensor, tau: float = 1.0) -> torch.Tensor:
    """Rows ``w_j`` of a ``[C, D]`` weight divided by ``||w_j||_2 ** tau`` (zero rows stay 0)."""
    if weight.dim() != 2:
        raise ValueError(f"tau-normalisation needs a [C, D] weight, got shape {tuple(weight.shape)}")
    norms = weight.norm(p=2, dim=1, keepdim=True)
    scale = torch.where(norms > 0, norms.clamp(min=1e-12).pow(tau), torch.ones_like(norms))
    return weight / scale


@torch.no_grad()
def apply_tau_norm(linear: nn.Linear, tau: float = 1.0) -> nn.Linear:
    """Replace a linear classifier's weight by its tau-normalised version, in place; the
    bias is set to zero. Returns the layer."""
    linear.weight.copy_(tau_normalize(linear.weight, tau))
    if linear.bias is not None:
        linear.bias.zero_()
    return linear

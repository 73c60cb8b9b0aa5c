"""Learnable weight scaling, LWS (Kang et al., ICLR 2020): ``w~_j = f_j w_j``.

The classifier weights ``w_j`` (and bias) stay frozen; one scale ``f_j`` per class is learnt
with class-balanced sampling, i.e. ``logits_j = f_j * head(x)_j``. The wrapper is built
with the model (scales = 1, inactive) so a run's checkpoints keep one structure; a stage
turns it on (``LT.CRT.LWS: True``), which also freezes the wrapped head.
"""
import torch
from torch import nn


class LWSHead(nn.Module):
    """``logits = f * base(x)`` with ``f`` ([K], init 1) learnt while ``active``.

    Args:
        base: the classifier head (``[N, D] -> [N, K]``), exposing ``num_logits`` or a
            Linear's ``out_features``.
        num_logits: K.
    """

    def __init__(self, base: nn.Module, num_logits: int):
        super().__init__()
        self.base = base
        self.scales = nn.Parameter(torch.ones(num_logits))
        self.active = False
        for attr in ("in_features", "num_logits"):
            if hasattr(base, attr):
                setattr(self, attr, getattr(base, attr))

    def set_active(self, active: bool) -> None:
        """LWS on: the base head is frozen and only the scales train; off: the reverse."""
        self.active = bool(active)
        for p in self.base.parameters():
            p.requires_grad_(not self.active)
        self.scales.requires_grad_(self.active)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.base(x)
        return logits * self.scales if self.active else logits

"""Cosine (normalised) linear classifier layer."""
import torch
from torch import nn
from torch.nn import functional as F


class CosineLinear(nn.Module):
    """``y_j = scale * <x / |x|, w_j / |w_j|> + b_j``: the normalised linear classifier of
    Seesaw loss's recipe (Wang et al., CVPR 2021, "NormedLinear" with temperature 20).

    Has ``weight [out, in]`` and ``bias [out]`` like ``nn.Linear``, so weights move between
    the two layers unchanged.

    Args:
        in_features: input dimension.
        out_features: number of logits.
        scale: the temperature multiplying the cosine (> 0).
        eps: added to the norms.
    """

    def __init__(self, in_features: int, out_features: int, scale: float, eps: float = 1e-6):
        super().__init__()
        if not scale > 0:
            raise ValueError(f"Cosine classifier scale must be > 0, got {scale}")
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        self.scale = float(scale)
        self.eps = float(eps)
        self.weight = nn.Parameter(torch.empty(out_features, in_features))
        self.bias = nn.Parameter(torch.zeros(out_features))
        nn.init.normal_(self.weight, std=0.01)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x / (x.norm(dim=1, keepdim=True) + self.eps)
        weight = self.weight / (self.weight.norm(dim=1, keepdim=True) + self.eps)
        return F.linear(x * self.scale, weight, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, scale={self.scale}"

"""Zero-gamma initialisation (Goyal et al., 2017; He et al., CVPR 2019, Sec. 3.1): the
gamma of the last normalisation layer of every residual block starts at 0, so each block
starts as the identity (``x + 0``) and the network behaves as a shallower one early on."""
import torch
from torch import nn


@torch.no_grad()
def zero_gamma_init(model: nn.Module) -> int:
    """Set ``last_norm.weight`` to 0 in every module exposing ``last_norm`` (lt_det's
    residual blocks do); returns how many layers were set. Raises if none is found."""
    count = 0
    for m in model.modules():
        norm = getattr(m, "last_norm", None)
        if isinstance(norm, nn.Module) and isinstance(getattr(norm, "weight", None), torch.Tensor):
            norm.weight.zero_()
            count += 1
    if count == 0:
        raise ValueError(
            "MODEL.LT.RESNET.ZERO_GAMMA: no residual block exposes `last_norm` (use lt_det's ResNets)"
        )
    return count

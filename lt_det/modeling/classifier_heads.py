"""Classifier heads of ``LTClassifier``: pooled features ``[N, D]`` -> logits ``[N, K]``."""
import torch
import torch.nn.functional as F
from detectron2.config import configurable
from detectron2.utils.registry import Registry
from torch import nn

from .tau_norm import tau_normalize

CLS_HEAD_REGISTRY = Registry("LT_CLS_HEAD")
CLS_HEAD_REGISTRY.__doc__ = """
Registry of classifier heads for ``LTClassifier`` (``MODEL.LT.CLASSIFIER.HEAD``).

Call contract: the registered class is an ``nn.Module`` decorated with ``@configurable``,
called as ``cls(cfg, in_features=D, num_logits=K)``; its ``from_config`` maps
``cfg.MODEL.LT.CLASSIFIER.*`` to keyword arguments. ``head(features [N, D]) -> logits
[N, K]``; the module has ``in_features``, ``num_logits`` and a ``weight`` parameter
``[K, D]`` (one prototype per class, as post-hoc classifier adjustments expect).
"""


@CLS_HEAD_REGISTRY.register()
class Linear(nn.Module):
    """Linear classifier, optionally tau-normalised at inference.

    The tau-normalised classifier (Kang et al., "Decoupling Representation and Classifier
    for Long-Tailed Recognition", ICLR 2020) rescales each class's weight vector,
    w_j <- w_j / ||w_j||^tau, to undo the larger norms that frequent classes acquire;
    it is applied in eval mode only, so training is unchanged.

    Args:
        in_features: feature dimension D.
        num_logits: number of outputs K.
        bias: whether to add a bias (Kang et al.'s classifier has none).
        tau: the exponent tau (0 = plain linear classifier).
    """

    @configurable
    def __init__(self, *, in_features: int, num_logits: int, bias: bool = True, tau: float = 0.0):
        super().__init__()
        if tau < 0:
            raise ValueError(f"MODEL.LT.CLASSIFIER.TAU must be >= 0, got {tau}")
        self.in_features = int(in_features)
        self.num_logits = int(num_logits)
        self.tau = float(tau)
        self.weight = nn.Parameter(torch.empty(num_logits, in_features))
        self.bias = nn.Parameter(torch.zeros(num_logits)) if bias else None
        # PyTorch's nn.Linear initialisation.
        nn.init.kaiming_uniform_(self.weight, a=5**0.5)
        if self.bias is not None:
            bound = 1.0 / in_features**0.5
            nn.init.uniform_(self.bias, -bound, bound)

    @classmethod
    def from_config(cls, cfg, in_features: int, num_logits: int):
        c = cfg.MODEL.LT.CLASSIFIER
        return {"in_features": in_features, "num_logits": num_logits, "bias": c.BIAS, "tau": c.TAU}

    def effective_weight(self) -> torch.Tensor:
        """The weight used in the current mode (tau-normalised in eval mode when tau > 0)."""
        if self.training or self.tau == 0:
            return self.weight
        return tau_normalize(self.weight, self.tau)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return F.linear(features, self.effective_weight(), self.bias)


@CLS_HEAD_REGISTRY.register()
class Cosine(nn.Module):
    """Cosine classifier: logits_j = s * cos(x, w_j) (Gidaris & Komodakis, CVPR 2018).

    Normalising both features and weights removes the norm bias towards frequent classes.
    LDAM (Cao et al., 2019) uses it with s = 1 and scales inside the loss.

    Args:
        in_features: feature dimension D.
        num_logits: number of outputs K.
        scale: the scale s.
    """

    @configurable
    def __init__(self, *, in_features: int, num_logits: int, scale: float = 16.0):
        super().__init__()
        if scale <= 0:
            raise ValueError(f"MODEL.LT.CLASSIFIER.COSINE_SCALE must be > 0, got {scale}")
        self.in_features = int(in_features)
        self.num_logits = int(num_logits)
        self.scale = float(scale)
        self.weight = nn.Parameter(torch.empty(num_logits, in_features))
        nn.init.kaiming_uniform_(self.weight, a=5**0.5)

    @classmethod
    def from_config(cls, cfg, in_features: int, num_logits: int):
        c = cfg.MODEL.LT.CLASSIFIER
        return {"in_features": in_features, "num_logits": num_logits, "scale": c.COSINE_SCALE}

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        x = F.normalize(features, dim=1)
        w = F.normalize(self.weight, dim=1)
        return self.scale * F.linear(x, w)


def build_cls_head(cfg, in_features: int, num_logits: int) -> nn.Module:
    """Build the head named by ``cfg.MODEL.LT.CLASSIFIER.HEAD``."""
    name = cfg.MODEL.LT.CLASSIFIER.HEAD
    if name not in CLS_HEAD_REGISTRY:
        known = ", ".join(sorted(k for k, _ in CLS_HEAD_REGISTRY))
        raise KeyError(f"Unknown MODEL.LT.CLASSIFIER.HEAD {name!r}; registered heads: {known}")
    return CLS_HEAD_REGISTRY.get(name)(cfg, in_features=in_features, num_logits=num_logits)

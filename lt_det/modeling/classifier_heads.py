"""Classifier heads of ``LTClassifier`` (pooled features ``[N, D]`` -> logits ``[N, K]``): linear
(optionally tau-normalised), cosine, and the decoupling heads LWS and NCM."""
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
    it is applied in eval mode only, so training is unchanged. The tau-normalised logits
    have no bias (``w~_j . x``), as ``apply_tau_norm`` gives (lt_det/modeling/tau_norm.py).

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
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's ``nn.Linear`` initialisation (cRT's ``REINIT ['head']`` calls it)."""
        nn.init.kaiming_uniform_(self.weight, a=5**0.5)
        if self.bias is not None:
            bound = 1.0 / self.in_features**0.5
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

    def effective_bias(self):
        """The bias used in the current mode: none once tau-normalised (see tau_norm.py)."""
        if self.training or self.tau == 0:
            return self.bias
        return None

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return F.linear(features, self.effective_weight(), self.effective_bias())


@CLS_HEAD_REGISTRY.register()
class Cosine(nn.Module):
    """Cosine classifier: logits_j = s * cos(x, w_j) (+ b_j) (Gidaris & Komodakis, CVPR 2018).

    Normalising both features and weights removes the norm bias towards frequent classes.
    LDAM (Cao et al., 2019) uses it with s = 1 and scales inside the loss; Seesaw's recipe
    (Wang et al., CVPR 2021, "NormedLinear", s = 20) uses it with a bias as the RoI
    classifier (``MODEL.LT.PREDICTOR.COSINE_SCALE``). ``weight [K, D]`` and ``bias [K]`` have
    ``nn.Linear``'s layout, so weights move between the two unchanged.

    Args:
        in_features: feature dimension D.
        num_logits: number of outputs K.
        scale: the scale s (> 0).
        bias: add a learnt bias (initialised to 0).
    """

    @configurable
    def __init__(self, *, in_features: int, num_logits: int, scale: float = 16.0, bias: bool = False):
        super().__init__()
        if not scale > 0:
            raise ValueError(f"MODEL.LT.CLASSIFIER.COSINE_SCALE must be > 0, got {scale}")
        self.in_features = int(in_features)
        self.num_logits = self.out_features = int(num_logits)
        self.scale = float(scale)
        self.weight = nn.Parameter(torch.empty(num_logits, in_features))
        self.bias = nn.Parameter(torch.zeros(num_logits)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """``nn.Linear``'s weight initialisation, bias 0 (the scale is a constant)."""
        nn.init.kaiming_uniform_(self.weight, a=5**0.5)
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    @classmethod
    def from_config(cls, cfg, in_features: int, num_logits: int):
        c = cfg.MODEL.LT.CLASSIFIER
        return {"in_features": in_features, "num_logits": num_logits, "scale": c.COSINE_SCALE}

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        x = F.normalize(features, dim=1)
        w = F.normalize(self.weight, dim=1)
        return F.linear(self.scale * x, w, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.num_logits}, scale={self.scale}"


def build_cls_head(cfg, in_features: int, num_logits: int) -> nn.Module:
    """Build the head named by ``cfg.MODEL.LT.CLASSIFIER.HEAD``."""
    name = cfg.MODEL.LT.CLASSIFIER.HEAD
    if name not in CLS_HEAD_REGISTRY:
        known = ", ".join(sorted(k for k, _ in CLS_HEAD_REGISTRY))
        raise KeyError(f"Unknown MODEL.LT.CLASSIFIER.HEAD {name!r}; registered heads: {known}")
    return CLS_HEAD_REGISTRY.get(name)(cfg, in_features=in_features, num_logits=num_logits)


# Learnable weight scaling, LWS (Kang et al., ICLR 2020): ``w~_j = f_j w_j``.
#
# The classifier weights ``w_j`` (and bias) stay frozen; one scale ``f_j`` per class is learnt
# with class-balanced sampling, i.e. ``logits_j = f_j * head(x)_j``. The wrapper is built
# with the model (scales = 1, inactive) so a run's checkpoints keep one structure; a stage
# turns it on (``MODEL.LT.CLASSIFIER.LWS: True``), which also freezes the wrapped head.
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

    def reset_parameters(self) -> None:
        """Scales back to 1 (the wrapped head resets itself: ``reinit_modules`` visits it)."""
        nn.init.ones_(self.scales)

    def set_active(self, active: bool) -> None:
        """LWS on: the base head is frozen and only the scales train; off: the reverse."""
        self.active = bool(active)
        for p in self.base.parameters():
            p.requires_grad_(not self.active)
        self.scales.requires_grad_(self.active)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.base(x)
        return logits * self.scales if self.active else logits


# Nearest class mean classifier, NCM (Kang et al., ICLR 2020).
#
# Class means are computed on L2-normalised training features, then normalised themselves:
# ``mu_j = normalize(mean_{i: y_i = j} normalize(x_i))``. A test feature ``x`` is scored by
# cosine similarity ``cos(x, mu_j)`` or by negative Euclidean distance
# ``-|| normalize(x) - mu_j ||``; the prediction is the nearest mean.
NCM_METRICS = ("none", "cosine", "euclidean")


def means_from_sums(sums: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
    """``[C, D]`` normalised class means from per-class sums of normalised features and
    counts (classes without samples get 0)."""
    return F.normalize(sums / counts.clamp(min=1).unsqueeze(1).to(sums.dtype), dim=1)


def class_means(features: torch.Tensor, labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """``[C, D]`` normalised means of normalised features; classes without samples get 0."""
    f = F.normalize(features.float(), dim=1)
    sums = torch.zeros(num_classes, f.shape[1], dtype=f.dtype, device=f.device)
    sums.index_add_(0, labels, f)
    return means_from_sums(sums, torch.bincount(labels, minlength=num_classes))


def ncm_scores(features: torch.Tensor, means: torch.Tensor, metric: str) -> torch.Tensor:
    """``[N, C]``: ``cos(x, mu_j)`` ("cosine") or ``-||x^ - mu_j||`` ("euclidean")."""
    f = F.normalize(features.to(means.dtype), dim=1)
    if metric == "cosine":
        return f @ means.t()
    return -torch.cdist(f, means)


class NCMHead(nn.Module):
    """Scores ``[N, C]`` of ``features [N, D]`` against stored class means (``ncm_scores``).

    Args:
        means: ``[C, D]`` from ``class_means``.
        metric: "cosine" or "euclidean".
    """

    def __init__(self, means: torch.Tensor, metric: str = "cosine"):
        super().__init__()
        if metric not in NCM_METRICS[1:]:
            raise ValueError(f"MODEL.LT.CLASSIFIER.NCM must be 'none', 'cosine' or 'euclidean', got {metric!r}")
        self.register_buffer("means", means)
        self.metric = metric

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return ncm_scores(features, self.means, self.metric)

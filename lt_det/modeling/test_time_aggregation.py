"""Test-time aggregation of T sub-models' predictions by prediction stability.

Instance-level test-time learning of Decoupled Optimisation (Cong et al., AAAI 2024,
Sec. 3.3, eq. 5): for a test image x with two random augmented views x1, x2,

    y_v = sum_t lambda_t f_t(x_v),   lambda = argmax_lambda cos(y_1, y_2),

with lambda on the simplex (a softmax over T free logits, started at the uniform
average) found by a few Adam steps per instance, all instances of a batch at once (Adam
is element-wise, so every instance follows its own objective; its normalised steps move
lambda as far for near-identical sub-models, whose cosine gradients are tiny, as for very
different ones). The sub-model whose prediction is stable under augmentation gets the weight. The
prediction is sum_t lambda_t f_t(x) on the un-augmented image.

Alternatives (Table 8): ``"group"`` - one lambda shared by the whole test set (SADE's
test-time self-supervised aggregation, Zhang et al., NeurIPS 2022), learnt online: the
same steps on each batch's mean objective, carried over from batch to batch; ``"average"``
- lambda_t = 1 / T.
"""
from typing import Optional

import torch
from torch.nn import functional as F

AGGREGATION_MODES = ("instance", "group", "average")


def _combine(weights: torch.Tensor, probs: torch.Tensor) -> torch.Tensor:
    """weights ``[N, T]`` (or ``[T]``), probs ``[T, N, C]`` -> ``[N, C]``."""
    if weights.dim() == 1:
        weights = weights.expand(probs.shape[1], -1)
    return torch.einsum("nt,tnc->nc", weights, probs)


def stability_objective(logits: torch.Tensor, probs1: torch.Tensor, probs2: torch.Tensor) -> torch.Tensor:
    """Per-instance cosine similarity of the two views' aggregated predictions, ``[N]``."""
    w = torch.softmax(logits, dim=-1)
    return F.cosine_similarity(_combine(w, probs1), _combine(w, probs2), dim=-1, eps=1e-12)


def instance_weights(probs1: torch.Tensor, probs2: torch.Tensor, steps: int = 5, lr: float = 0.2) -> torch.Tensor:
    """lambda ``[N, T]`` maximising each instance's view agreement (Adam ascent on the
    softmax logits, started at zero = the average)."""
    t, n, _ = probs1.shape
    logits = torch.zeros(n, t, dtype=probs1.dtype, device=probs1.device, requires_grad=True)
    return torch.softmax(_ascend(logits, probs1.detach(), probs2.detach(), steps, lr, "sum"), dim=-1)


def _ascend(logits, p1, p2, steps: int, lr: float, reduce: str) -> torch.Tensor:
    """Adam ascent on the stability objective; ``reduce="sum"``: per-instance logits
    (instances independent), ``"mean"``: one shared ``[T]`` vector."""
    opt = torch.optim.Adam([logits], lr=lr)
    n = p1.shape[1]
    with torch.enable_grad():
        for _ in range(int(steps)):
            lg = logits if logits.dim() == 2 else logits.expand(n, -1)
            obj = stability_objective(lg, p1, p2)
            opt.zero_grad()
            (-(obj.sum() if reduce == "sum" else obj.mean())).backward()
            opt.step()
    return logits.detach()


class TestTimeAggregator:
    """Stateful aggregation of ``[T, N, C]`` sub-model probabilities (see module docstring).

    Args:
        mode: ``"instance"``, ``"group"`` or ``"average"``.
        steps: gradient steps per batch.
        lr: Adam's step size on the softmax logits.
    """

    __test__ = False  # not a pytest test class despite its name

    def __init__(self, mode: str = "instance", steps: int = 5, lr: float = 0.2):
        if mode not in AGGREGATION_MODES:
            raise ValueError(f"LT.DECOUPLE.AGGREGATION must be one of {AGGREGATION_MODES}, got {mode!r}")
        self.mode, self.steps, self.lr = mode, int(steps), float(lr)
        self.reset()

    def reset(self) -> None:
        """Forget the group-level lambda (call before a new test set)."""
        self._group_logits: Optional[torch.Tensor] = None

    def weights(self, probs1: torch.Tensor, probs2: torch.Tensor) -> torch.Tensor:
        """lambda ``[N, T]`` for a batch, from the probabilities of its two views."""
        t, n, _ = probs1.shape
        if self.mode == "average":
            return torch.full((n, t), 1.0 / t, dtype=probs1.dtype, device=probs1.device)
        if self.mode == "instance":
            return instance_weights(probs1, probs2, self.steps, self.lr)
        logits = self._group_logits
        if logits is None:
            logits = torch.zeros(t, dtype=probs1.dtype, device=probs1.device)
        logits = logits.clone().requires_grad_(True)
        self._group_logits = _ascend(logits, probs1.detach(), probs2.detach(), self.steps, self.lr, "mean")
        return torch.softmax(self._group_logits, dim=-1).expand(n, t).clone()

    def __call__(self, probs: torch.Tensor, probs1: torch.Tensor, probs2: torch.Tensor):
        """(aggregated probabilities ``[N, C]`` of the un-augmented views, lambda ``[N, T]``)."""
        w = self.weights(probs1, probs2)
        return _combine(w, probs), w

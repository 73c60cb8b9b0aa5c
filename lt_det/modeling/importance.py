"""Element-wise parameter importance, the pruning criteria compared by Decoupled Optimisation.

For a parameter element w with gradient g of the loss on a class group's samples
(Molchanov et al., "Importance Estimation for Neural Network Pruning", CVPR 2019):

* ``"taylor"``: E = (w g)^2, the squared first-order Taylor estimate of the loss change
  when w is removed (Cong et al., AAAI 2024, Sec. 3);
* ``"fisher"``: E = g^2, the diagonal empirical Fisher information;
* ``"l1"``: E = |w|, magnitude (needs no data).

The gradient terms are averaged over N mini-batches, per batch: E = 1/N sum_b (w g_b)^2.
Across processes the per-rank sums are all-reduced, so P processes that see P N batches
choose the same elements as one process fed the same batches.
"""
from typing import Callable, Dict, Iterator

import torch
from torch import nn

from ..losses.distributed import all_reduce_sum

IMPORTANCE_KINDS = ("taylor", "fisher", "l1")


def importance_from_grad(kind: str, weight: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
    """One batch's term of the estimator."""
    if kind == "taylor":
        return (weight * grad) ** 2
    if kind == "fisher":
        return grad ** 2
    if kind == "l1":
        return weight.abs()
    raise ValueError(f"LT.DECOUPLE.IMPORTANCE must be one of {IMPORTANCE_KINDS}, got {kind!r}")


def estimate_importance(
    kind: str,
    params: Dict[str, nn.Parameter],
    loss_fn: Callable[[object], torch.Tensor],
    batches: Iterator,
    num_batches: int,
) -> Dict[str, torch.Tensor]:
    """Importance of every element of ``params``.

    Args:
        kind: ``"taylor"``, ``"fisher"`` or ``"l1"``.
        params: name -> parameter.
        loss_fn: batch -> scalar loss (run it on the unwrapped model: DDP would average the
            gradients across ranks before they are squared).
        batches: an iterator over the group's batches.
        num_batches: N, batches per process.
    """
    if kind not in IMPORTANCE_KINDS:
        importance_from_grad(kind, torch.zeros(1), torch.zeros(1))  # raises the one-line error
    if kind == "l1":
        return {n: p.detach().abs().clone() for n, p in params.items()}
    if num_batches < 1:
        raise ValueError(f"LT.DECOUPLE.IMPORTANCE_BATCHES must be >= 1, got {num_batches}")
    acc = {n: torch.zeros_like(p, dtype=torch.float64) for n, p in params.items()}
    plist = list(params.items())
    for _ in range(num_batches):
        batch = next(batches)
        loss = loss_fn(batch)
        grads = torch.autograd.grad(loss, [p for _, p in plist], allow_unused=True)
        for (n, p), g in zip(plist, grads):
            if g is not None:
                acc[n] += importance_from_grad(kind, p.detach().double(), g.detach().double())
    counts = torch.tensor([float(num_batches)], dtype=torch.float64, device=next(iter(acc.values())).device)
    for t in list(acc.values()) + [counts]:
        all_reduce_sum(t)
    return {n: (a / counts).to(params[n].dtype) for n, a in acc.items()}

"""Progressive pruning by importance, and the choice of the pruning ratio from a scan.

Decoupled Optimisation's Taylor-guided parameter decoupling (Cong et al., AAAI 2024,
Sec. 3.2) prunes the least important fraction gamma of a stage's free parameters, not at
once but over Delta t steps with retraining after each (Zhu and Gupta, 2017), eq. (4):

    gamma_t = gamma_{i+1} + (gamma_i - gamma_{i+1}) (1 - t / Delta t)^3,  t = 0 .. Delta t,

and chooses gamma_best from a scan of gamma = 0, 10, ..., 90 % where the recorded
accuracy drop changes most.
"""
import json
import os
from typing import Dict, List, Sequence

import torch

SCOPES = ("layer", "global")


def check_gamma(gamma: float, key: str = "LT.DECOUPLE.GAMMAS") -> float:
    if not 0.0 <= float(gamma) < 1.0:
        raise ValueError(f"{key}: a pruning ratio must lie in [0, 1) (or be -1 to scan), got {gamma}")
    return float(gamma)


def progressive_gamma(gamma_start: float, gamma_end: float, t: int, delta_t: int = 10) -> float:
    """eq. (4): the ratio after step ``t`` of ``delta_t`` going from gamma_start to gamma_end."""
    if delta_t < 1 or not 0 <= t <= delta_t:
        raise ValueError(f"progressive pruning step {t} outside 0..{delta_t}")
    return gamma_end + (gamma_start - gamma_end) * (1.0 - t / delta_t) ** 3


def select_to_prune(
    importance: Dict[str, torch.Tensor],
    candidates: Dict[str, torch.Tensor],
    pruned: Dict[str, torch.Tensor],
    gamma: float,
    scope: str = "layer",
) -> Dict[str, torch.Tensor]:
    """Elements to prune so that a fraction ``gamma`` of the candidates is pruned.

    Args:
        importance: name -> importance (param-shaped).
        candidates: name -> bool, the stage's elements (free or already pruned).
        pruned: name -> bool, already pruned (they stay pruned: pruning only grows).
        gamma: target pruned fraction of the candidates.
        scope: ``"layer"`` (the fraction in every tensor) or ``"global"`` (one threshold).

    Returns:
        name -> bool of the newly pruned elements (the least important remaining ones).
    """
    if scope not in SCOPES:
        raise ValueError(f"LT.DECOUPLE.SCOPE must be one of {SCOPES}, got {scope!r}")
    out = {}
    if scope == "layer":
        for n, imp in importance.items():
            cand = candidates[n]
            need = int(round(gamma * int(cand.sum()))) - int(pruned[n].sum())
            out[n] = _lowest(imp, cand & ~pruned[n], need)
        return out
    names = list(importance)
    flat_imp = torch.cat([importance[n].reshape(-1).double() for n in names])
    flat_cand = torch.cat([candidates[n].reshape(-1) for n in names])
    flat_pruned = torch.cat([pruned[n].reshape(-1) for n in names])
    need = int(round(gamma * int(flat_cand.sum()))) - int(flat_pruned.sum())
    sel = _lowest(flat_imp, flat_cand & ~flat_pruned, need)
    i = 0
    for n in names:
        k = importance[n].numel()
        out[n] = sel[i:i + k].view_as(importance[n])
        i += k
    return out


def _lowest(imp: torch.Tensor, allowed: torch.Tensor, k: int) -> torch.Tensor:
    """Bool mask of the k least important allowed elements (ties: lowest flat index)."""
    sel = torch.zeros_like(allowed, dtype=torch.bool)
    k = min(int(k), int(allowed.sum()))
    if k <= 0:
        return sel
    flat = torch.where(allowed.reshape(-1), imp.reshape(-1).double(), torch.tensor(float("inf"), dtype=torch.float64))
    # stable sort so ties go to the lower index (reproducible across runs and ranks)
    idx = torch.sort(flat, stable=True).indices[:k]
    sel.view(-1)[idx] = True
    return sel


def choose_gamma(gammas: Sequence[float], accuracies: Sequence[float]) -> float:
    """gamma_best from a scan: the drop d(gamma) = acc(0) - acc(gamma) is recorded at each
    gamma; where d increases most between consecutive gammas, gamma_best is the smaller of
    the two - the most compact model before the large drop (our reading of "the point of
    the highest change", Sec. 3.2 / Fig. 4)."""
    if len(gammas) < 2 or len(gammas) != len(accuracies):
        raise ValueError("A gamma scan needs at least two (gamma, accuracy) points")
    drops = [accuracies[0] - a for a in accuracies]
    changes = [drops[i + 1] - drops[i] for i in range(len(drops) - 1)]
    i = max(range(len(changes)), key=lambda j: (changes[j], -j))
    return float(gammas[i])


def write_gamma_scan(path_prefix: str, gammas: Sequence[float], accuracies: Sequence[float], best: float, title: str) -> List[str]:
    """The scan as JSON and as a plot of the accuracy drop against gamma (Fig. 4)."""
    os.makedirs(os.path.dirname(path_prefix) or ".", exist_ok=True)
    drops = [accuracies[0] - a for a in accuracies]
    with open(path_prefix + ".json", "w") as f:
        json.dump({"gamma": list(gammas), "accuracy": list(accuracies), "drop": drops, "gamma_best": best}, f, indent=1)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot([100 * g for g in gammas], drops, "o-")
    ax.axvline(100 * best, color="tab:red", ls="--", label=f"gamma_best = {100 * best:.0f}%")
    ax.set_xlabel("pruning ratio gamma (%)")
    ax.set_ylabel("accuracy drop (points)")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path_prefix + ".png", dpi=110)
    plt.close(fig)
    return [path_prefix + ".json", path_prefix + ".png"]

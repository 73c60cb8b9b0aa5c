"""Nearest class mean classifier, NCM (Kang et al., ICLR 2020).

Class means are computed on L2-normalised training features, then normalised themselves:
``mu_j = normalize(mean_{i: y_i = j} normalize(x_i))``. A test feature ``x`` is scored by
cosine similarity ``cos(x, mu_j)`` or by negative Euclidean distance
``-|| normalize(x) - mu_j ||``; the prediction is the nearest mean.
"""
import torch
from torch import nn
from torch.nn import functional as F


def class_means(features: torch.Tensor, labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """``[C, D]`` normalised means of normalised features; classes without samples get 0."""
    f = F.normalize(features.float(), dim=1)
    sums = torch.zeros(num_classes, f.shape[1], dtype=f.dtype, device=f.device)
    sums.index_add_(0, labels, f)
    counts = torch.bincount(labels, minlength=num_classes).clamp(min=1).unsqueeze(1).to(f.dtype)
    return F.normalize(sums / counts, dim=1)


class NCMHead(nn.Module):
    """Scores ``[N, C]`` of ``features [N, D]`` against stored class means.

    Args:
        means: ``[C, D]`` from ``class_means``.
        metric: "cosine" (``cos(x, mu_j)``) or "euclidean" (``-||x^ - mu_j||``).
    """

    def __init__(self, means: torch.Tensor, metric: str = "cosine"):
        super().__init__()
        if metric not in ("cosine", "euclidean"):
            raise ValueError(f"LT.CRT.NCM must be 'none', 'cosine' or 'euclidean', got {metric!r}")
        self.register_buffer("means", means)
        self.metric = metric

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        f = F.normalize(features.float(), dim=1)
        if self.metric == "cosine":
            return f @ self.means.t()
        return -torch.cdist(f, self.means)


@torch.no_grad()
def compute_class_means(model, data_loader, num_classes: int, max_batches: int = 0) -> torch.Tensor:
    """Class means of ``model.extract_features`` over a (finite or infinite) loader of
    batches; ``max_batches`` > 0 stops early (an infinite training loader needs it)."""
    was_training = model.training
    model.eval()
    feats, labels = [], []
    try:
        for i, batch in enumerate(data_loader):
            if max_batches and i >= max_batches:
                break
            feats.append(model.extract_features(model.preprocess_image(batch)).cpu())
            labels.append(model.labels(batch).cpu())
    finally:
        model.train(was_training)
    if not feats:
        raise ValueError("NCM: the data loader gave no batches")
    return class_means(torch.cat(feats), torch.cat(labels), num_classes)

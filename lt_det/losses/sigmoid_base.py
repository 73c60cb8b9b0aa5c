"""Shared shape and score rule of the losses that put one sigmoid on each class."""
import torch

from .base import ClassificationLoss


def sigmoid_with_background_logit(logits: torch.Tensor, use_background: bool) -> torch.Tensor:
    """Scores of the sigmoid losses whose detection classifier has a background logit
    (EQLv2, ECM): ``[sigmoid(z_j) (1 - sigmoid(z_bg)), sigmoid(z_bg)]`` over C + 1 logits in
    detection, ``sigmoid(z_j)`` over C in classification."""
    probs = torch.sigmoid(logits)
    if not use_background:
        return probs
    background = probs[:, -1:]
    return torch.cat([probs[:, :-1] * (1.0 - background), background], dim=1)


class SigmoidClassificationLoss(ClassificationLoss):
    """Base of the per-class sigmoid losses (BCE, EQL, federated, focal, CB focal).

    The classifier outputs C logits, one per foreground class and none for the background:
    a background RoI is a sample whose C binary targets are all 0. At inference each class
    score is ``sigmoid(z_j)``; in detection a dummy background column
    ``1 - max_j sigmoid(z_j)`` is appended so the scores keep detectron2's ``[N, C + 1]``
    layout (an RoI counts as background when no class reaches 0.5; detectron2's inference
    drops the column).
    """

    def num_logits(self) -> int:
        return self.num_classes

    def predict_probs(self, logits: torch.Tensor) -> torch.Tensor:
        probs = torch.sigmoid(logits)
        if not self.use_background:
            return probs
        if probs.shape[1] == 0:
            background = probs.new_ones(probs.shape[0], 1)
        else:
            background = 1.0 - probs.max(dim=1, keepdim=True).values
        return torch.cat([probs, background], dim=1)

    def foreground(self, labels: torch.Tensor) -> torch.Tensor:
        """Boolean mask of the samples whose label is a foreground class."""
        if not self.use_background:
            return torch.ones_like(labels, dtype=torch.bool)
        return labels < self.num_classes

    def one_hot_targets(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """``[N, C]`` binary targets; background rows (label C) are all zero."""
        targets = logits.new_zeros(logits.shape[0], self.num_classes + 1)
        targets[torch.arange(logits.shape[0], device=logits.device), labels] = 1.0
        return targets[:, : self.num_classes]

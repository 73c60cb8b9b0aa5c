import numpy as np
import pytest
import torch
from torch.nn import functional as F

from lt_det.data.remix import Remix, remix_label_weights


def test_remix_rule_by_hand():
    # Pairs (n_a, n_b): majority-minority (300, 10): ratio 30 >= kappa 3;
    # minority-majority (10, 300): ratio 1/30 <= 1/3; mild (20, 10): ratio 2, neither;
    # equal (50, 50).
    a = torch.tensor([300, 10, 20, 50])
    b = torch.tensor([10, 300, 10, 50])
    # lam = 0.3 < tau = 0.5: the majority-minority pair's weight of y_a goes to 0; the
    # second rule needs 1 - lam = 0.7 < 0.5, false -> others keep lam.
    assert remix_label_weights(0.3, a, b, 3.0, 0.5).tolist() == [0.0, 0.3, 0.3, 0.3]
    # lam = 0.7: 1 - lam = 0.3 < 0.5 and 10/300 <= 1/3 -> the minority label a gets all (1).
    assert remix_label_weights(0.7, a, b, 3.0, 0.5).tolist() == [0.7, 1.0, 0.7, 0.7]
    # kappa 1.5 makes the mild pair (ratio 2) re-balanced too at lam 0.3.
    assert remix_label_weights(0.3, a, b, 1.5, 0.5).tolist()[2] == 0.0
    # tau 0: never re-balance (plain mixup).
    assert remix_label_weights(0.3, a, b, 3.0, 0.0).tolist() == [0.3] * 4


def test_remix_zero_count_is_safe():
    w = remix_label_weights(0.2, torch.tensor([0, 5]), torch.tensor([5, 0]), 3.0, 0.5)
    assert torch.isfinite(w).all()


def test_remix_strategy_loss(monkeypatch, tiny_classifier):
    counts = np.array([300, 10])
    s = Remix(class_counts=counts, alpha=1.0, kappa=3.0, tau=0.5, seed=0)
    model = tiny_classifier
    x = torch.tensor([[[[1.0]], [[0.0]]], [[[0.0]], [[1.0]]]])
    y = torch.tensor([0, 1])
    perm = torch.tensor([1, 0])
    monkeypatch.setattr(s, "draw", lambda n: (0.3, perm))
    loss = s(model, x, y)["loss_cls"]
    mixed = 0.3 * x + 0.7 * x[perm]
    logits = 2 * mixed.flatten(1) + 1
    # Sample 0: a = class 0 (300) with b = class 1 (10), lam 0.3 < tau -> weight 0 on y_a.
    # Sample 1: a = class 1 (10) with b = class 0: first rule off (ratio 1/30), second needs
    # 1 - lam < tau (0.7, false) -> weight lam = 0.3.
    per_a = F.cross_entropy(logits, y, reduction="none")
    per_b = F.cross_entropy(logits, y[perm], reduction="none")
    w = torch.tensor([0.0, 0.3])
    assert torch.allclose(loss, (w * per_a + (1 - w) * per_b).mean(), atol=1e-6)
    with pytest.raises(ValueError, match="KAPPA"):
        Remix(class_counts=counts, kappa=0.5)

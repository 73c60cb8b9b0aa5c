import math

import pytest
import torch
from torch.nn import functional as F

from lt_det.losses.label_smoothing_ce import LabelSmoothingCE, smoothed_targets


def test_build_from_config(build):
    loss = build("LabelSmoothingCE", 3, False, **{"LABEL_SMOOTHING.EPSILON": 0.2, "LABEL_SMOOTHING.SPREAD": "others"})
    assert isinstance(loss, LabelSmoothingCE) and loss.epsilon == 0.2 and loss.spread == "others"
    assert loss.num_logits() == 3
    with pytest.raises(ValueError, match="EPSILON"):
        build("LabelSmoothingCE", 3, False, **{"LABEL_SMOOTHING.EPSILON": 1.0})
    with pytest.raises(ValueError, match="SPREAD"):
        build("LabelSmoothingCE", 3, False, **{"LABEL_SMOOTHING.SPREAD": "half"})


def test_targets_by_hand():
    # K = 4, eps = 0.2, y = 1.
    # "all": (1 - 0.2) * onehot + 0.2 / 4 = [0.05, 0.85, 0.05, 0.05].
    q = smoothed_targets(torch.tensor([1]), 4, 0.2, "all")
    assert torch.allclose(q, torch.tensor([[0.05, 0.85, 0.05, 0.05]]))
    # "others": q_y = 0.8, others 0.2 / 3.
    q = smoothed_targets(torch.tensor([1]), 4, 0.2, "others")
    assert torch.allclose(q, torch.tensor([[0.2 / 3, 0.8, 0.2 / 3, 0.2 / 3]]))


def test_loss_value_by_hand(build):
    # Logits [0, ln 3] -> softmax [1/4, 3/4]; y = 0, eps = 0.1, K = 2, spread "all":
    # q = [0.95, 0.05]; L = -(0.95 ln(1/4) + 0.05 ln(3/4)).
    loss = build("LabelSmoothingCE", 2, False, **{"LABEL_SMOOTHING.EPSILON": 0.1})
    z = torch.tensor([[0.0, math.log(3.0)]])
    want = -(0.95 * math.log(0.25) + 0.05 * math.log(0.75))
    assert abs(loss(z, torch.tensor([0])).item() - want) < 1e-6
    # Agrees with torch's label_smoothing (same "all" formula) on random data.
    torch.manual_seed(0)
    z = torch.randn(5, 7)
    y = torch.randint(0, 7, (5,))
    assert torch.allclose(loss.__class__(num_classes=7, use_background=False, epsilon=0.1)(z, y),
                          F.cross_entropy(z, y, label_smoothing=0.1), atol=1e-6)


def test_epsilon_zero_is_ce_and_gradient(build):
    loss = build("LabelSmoothingCE", 3, False, **{"LABEL_SMOOTHING.EPSILON": 0.0})
    z = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    y = torch.tensor([0, 2, 1, 1])
    assert torch.allclose(loss(z, y), F.cross_entropy(z, y))
    # d L / d z = (softmax(z) - q) / N.
    loss2 = build("LabelSmoothingCE", 3, False, **{"LABEL_SMOOTHING.EPSILON": 0.3})
    torch.set_default_dtype(torch.float64)
    try:
        g = torch.autograd.grad(loss2(z, y), z)[0]
        q = smoothed_targets(y, 3, 0.3, "all")
    finally:
        torch.set_default_dtype(torch.float32)
    assert torch.allclose(g, (torch.softmax(z, 1) - q) / 4)


def test_edge_cases(build):
    loss = build("LabelSmoothingCE", 3, True)  # detection: background label 3, 4 logits
    assert loss.num_logits() == 4
    z = torch.zeros(0, 4, requires_grad=True)
    out = loss(z, torch.zeros(0, dtype=torch.long))
    assert out.item() == 0.0
    out.backward()
    # All-background batch: labels = 3; uniform logits give L = ln 4 for any eps (q sums to 1).
    assert abs(loss(torch.zeros(2, 4), torch.tensor([3, 3])).item() - math.log(4)) < 1e-6
    # A single class with "others": K = 1 keeps the one-hot target.
    one = LabelSmoothingCE(num_classes=1, use_background=False, epsilon=0.1, spread="others")
    assert one(torch.zeros(2, 1), torch.tensor([0, 0])).item() == 0.0

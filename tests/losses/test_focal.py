import math

import pytest
import torch
from fvcore.nn import sigmoid_focal_loss

from lt_det.losses import Focal, SigmoidBCE

LN2 = math.log(2)


def test_builds_from_config(build):
    loss = build("Focal", 4, True, None, **{"FOCAL.GAMMA": 1.0})
    assert isinstance(loss, Focal) and (loss.gamma, loss.alpha) == (1.0, 0.25)
    assert loss.num_logits() == 4


def test_hand_value():
    loss = Focal(num_classes=2, use_background=True)  # gamma 2, alpha 0.25
    # Logits 0: p = 1/2, BCE = ln 2, (1 - p_t)^2 = 1/4.
    # Row 0 (label 0): positive 0.25 * 1/4 * ln 2, negative 0.75 * 1/4 * ln 2.
    # Row 1 (background): two negatives, 2 * 0.75 * 1/4 * ln 2.
    # Sum (1 + 3 + 6) ln 2 / 16, / N = 2 -> 5 ln 2 / 16.
    value = loss(torch.zeros(2, 2, dtype=torch.float64), torch.tensor([0, 2]))
    assert math.isclose(value.item(), 5 * LN2 / 16, rel_tol=1e-12)


def test_matches_fvcore_and_reduces_to_bce():
    torch.manual_seed(0)
    logits = torch.randn(10, 4)
    labels = torch.randint(0, 5, (10,))
    targets = torch.nn.functional.one_hot(labels, 5)[:, :4].float()
    loss = Focal(num_classes=4, use_background=True, gamma=2.0, alpha=0.25)
    expected = sigmoid_focal_loss(logits, targets, alpha=0.25, gamma=2.0, reduction="sum") / 10
    assert torch.allclose(loss(logits, labels), expected)
    plain = Focal(num_classes=4, use_background=True, gamma=0.0, alpha=-1.0)
    assert torch.allclose(plain(logits, labels), SigmoidBCE(num_classes=4, use_background=True)(logits, labels))


def test_gradcheck():
    torch.manual_seed(0)
    loss = Focal(num_classes=3, use_background=True)
    logits = torch.randn(5, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x: loss(x, torch.tensor([0, 1, 2, 3, 3])), (logits,))


def test_bad_gamma():
    with pytest.raises(ValueError, match="FOCAL"):
        Focal(num_classes=3, use_background=True, gamma=-1.0)


def test_fast_sum_matches_the_elementwise_formula_and_gradcheck():
    # sigmoid_focal_sum avoids the N x C target and computes its gradient in the forward
    # pass: compare with the formula -r_i alpha_t (1 - p_t)^gamma log p_t written out, and
    # check the hand-written gradient numerically.
    from lt_det.losses.focal import sigmoid_focal_sum

    torch.manual_seed(0)
    logits = torch.randn(7, 4, dtype=torch.float64, requires_grad=True)
    labels = torch.tensor([0, 1, 2, 3, 4, 4, 1])
    fg = labels < 4
    rows = torch.rand(7, dtype=torch.float64) + 0.5
    t = torch.nn.functional.one_hot(labels, 5)[:, :4].double()
    p = torch.sigmoid(logits)
    p_t = p * t + (1 - p) * (1 - t)
    alpha_t = 0.3 * t + 0.7 * (1 - t)
    expected = (rows[:, None] * -alpha_t * (1 - p_t) ** 1.5 * torch.log(p_t)).sum()
    got = sigmoid_focal_sum(logits, labels, fg, gamma=1.5, alpha=0.3, row_weights=rows)
    assert torch.allclose(got, expected)
    assert torch.autograd.gradcheck(
        lambda x: sigmoid_focal_sum(x, labels, fg, 1.5, 0.3, rows), (logits,)
    )
    assert torch.autograd.gradcheck(lambda x: sigmoid_focal_sum(x, labels, fg, 0.0), (logits,))

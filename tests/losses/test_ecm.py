"""ECM loss: margins, weights, values and gradients derived by hand."""
import math

import numpy as np
import pytest
import torch

from lt_det.losses import ECM
from lt_det.losses.ecm import ecm_margins_and_weights


def test_builds_from_config(build, make_stats):
    loss = build("ECM", 3, True, make_stats([5, 2, 1]), **{"ECM.FG_BG_RATIO": 2.0})
    assert isinstance(loss, ECM) and loss.num_logits() == 4 and loss.fg_bg_ratio == 2.0
    assert build("ECM", 3, False, make_stats([5, 2, 1])).num_logits() == 3
    with pytest.raises(ValueError, match="class statistics"):
        build("ECM", 3, True, None)
    with pytest.raises(ValueError, match="FG_BG_RATIO"):
        build("ECM", 3, True, make_stats([5, 2, 1]), **{"ECM.FG_BG_RATIO": 0.0})


def test_margins_match_the_official_exponential_form():
    # Counts (16, 1): n- = (1, 16). Fourth roots: 16^(1/4) = 2, 1^(1/4) = 1.
    # m+_0 = log((2 + 1) / 1) = log 3, m-_0 = log(3 / 2): m_0 = log 3 - log 1.5 = log 2
    # = (log 16 - log 1) / 4. Class 1 is the mirror image: m_1 = -log 2.
    # w_0 = a log(1 + 1/a) with a = 1/16: (1/16) log 17; w_1 = 16 log(17/16).
    margin, weight = ecm_margins_and_weights(np.array([16.0, 1.0]))
    assert np.allclose(margin, [math.log(2), -math.log(2)])
    assert np.allclose(weight, [math.log(17) / 16, 16 * math.log(17 / 16)])


def test_value_and_gradient_classification(make_stats):
    # Classification, counts (16, 1), one sample of class 0 with zero logits.
    # Column 0 (positive): BCE(2*0 + log 2, 1) = log(1 + 1/2); column 1 (negative):
    # BCE(-log 2, 0) = log(1 + e^{-log 2}) = log 1.5. So L = (w_0 + w_1) log 1.5.
    # The official form agrees: p_pos,0 = e^{log 3} / (e^{log 3} + e^{log 1.5}) = 2/3.
    # dL/dz_j = 2 w_j (sigmoid(2 z_j + m_j) - y_j): -2 w_0 / 3 and 2 w_1 / 3.
    loss = ECM(num_classes=2, use_background=False, class_stats=make_stats([16, 1]))
    w0, w1 = math.log(17) / 16, 16 * math.log(17 / 16)
    logits = torch.zeros(1, 2, dtype=torch.float64, requires_grad=True)
    value = loss(logits, torch.tensor([0]))
    assert math.isclose(value.item(), (w0 + w1) * math.log(1.5), rel_tol=1e-6)
    value.backward()
    assert torch.allclose(logits.grad, torch.tensor([[-2 * w0 / 3, 2 * w1 / 3]], dtype=torch.float64), rtol=1e-6)


def test_detection_background_count_and_scores(make_stats):
    # Detection, counts (3, 1) and FG_BG_RATIO 1: background count 4, all counts (3, 1, 4),
    # total 8, n- = (5, 7, 4). One background RoI with logits (0, 0, log 3):
    # L = sum_j w_j BCE(2 z_j + m_j, y_j), y = (0, 0, 1).
    loss = ECM(num_classes=2, use_background=True, class_stats=make_stats([3, 1]), fg_bg_ratio=1.0)
    pos, neg = np.array([3.0, 1.0, 4.0]), np.array([5.0, 7.0, 4.0])
    m = 0.25 * (np.log(pos) - np.log(neg))
    w = (neg / pos) * np.log(1 + pos / neg)
    z = [0.0, 0.0, math.log(3)]

    def bce(x, y):
        return math.log(1 + math.exp(-x)) if y else math.log(1 + math.exp(x))

    expected = sum(w[j] * bce(2 * z[j] + m[j], j == 2) for j in range(3))
    logits = torch.tensor([z], dtype=torch.float64)
    assert math.isclose(loss(logits, torch.tensor([2])).item(), expected, rel_tol=1e-6)
    # Scores: sigmoid(log 3) = 3/4 is the background; classes 1/2 * (1 - 3/4) = 1/8.
    assert torch.allclose(loss.predict_probs(logits), torch.tensor([[0.125, 0.125, 0.75]], dtype=torch.float64))


def test_gradcheck_and_zero_count_class(make_stats):
    # A class with no image is counted as 1: margins and weights stay finite.
    loss = ECM(num_classes=3, use_background=True, class_stats=make_stats([9, 2, 0]))
    assert torch.isfinite(loss.margin).all() and torch.isfinite(loss.weight).all()
    logits = torch.randn(5, 4, dtype=torch.float64, requires_grad=True)
    labels = torch.tensor([0, 1, 2, 3, 3])
    assert torch.autograd.gradcheck(lambda z: loss(z, labels), (logits,))

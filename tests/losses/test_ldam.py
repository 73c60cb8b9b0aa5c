import math

import numpy as np
import pytest
import torch

from lt_det.losses import LDAM
from lt_det.losses.ldam import ldam_margins


def test_builds_from_config(build, make_stats):
    loss = build("LDAM", 3, False, make_stats([100, 10, 1]), **{"LDAM.MAX_MARGIN": 0.4, "LDAM.SCALE": 10.0})
    assert isinstance(loss, LDAM) and loss.num_logits() == 3 and loss.scale == 10.0
    # Margins K / n^(1/4) with the rarest (n = 1) at MAX_MARGIN: 0.4 * n^(-1/4).
    assert torch.allclose(loss.margins, torch.tensor([0.4 / 100**0.25, 0.4 / 10**0.25, 0.4]))


def test_needs_class_stats(build):
    with pytest.raises(ValueError, match="class statistics"):
        build("LDAM", 3, False, None)


def test_hand_values(build, make_stats):
    # C = 2, counts (100, 1), max margin 0.5: Delta = (0.5 * 100^(-1/4), 0.5) = (0.158114, 0.5).
    # With s = 1:
    #   row 0: z = (1, 0), y = 0 -> z' = (1 - 0.158114, 0) -> CE = log(1 + exp(-(0.841886)));
    #   row 1: z = (0, 0), y = 1 -> z' = (0, -0.5)         -> CE = log(1 + exp(0.5)).
    loss = build("LDAM", 2, False, make_stats([100, 1]), **{"LDAM.SCALE": 1.0})
    logits = torch.tensor([[1.0, 0.0], [0.0, 0.0]], dtype=torch.float64)
    labels = torch.tensor([0, 1])
    row0 = math.log1p(math.exp(-(1 - 0.5 * 100**-0.25)))
    row1 = math.log1p(math.exp(0.5))
    assert loss(logits, labels).item() == pytest.approx((row0 + row1) / 2, rel=1e-6)
    # With s = 30 the margin-adjusted logits are scaled: row 1 -> log(1 + exp(30 * 0.5)).
    loss30 = build("LDAM", 2, False, make_stats([100, 1]))
    assert loss30(logits[1:], labels[1:]).item() == pytest.approx(math.log1p(math.exp(15.0)), rel=1e-6)
    # Scores: softmax of s * z (no margin at inference).
    assert torch.allclose(loss30.predict_probs(logits[:1]), torch.softmax(30 * logits[:1], 1))


def test_detection_background_has_no_margin(build, make_stats):
    loss = build("LDAM", 2, True, make_stats([16, 1]))
    assert loss.num_logits() == 3
    assert loss.margins[-1].item() == 0.0 and loss.margins[1].item() == pytest.approx(0.5)


def test_edge_cases(make_stats):
    # A class with no sample gets the margin of the rarest observed class, not infinity.
    m = ldam_margins(np.array([16, 1, 0]), 0.5)
    assert np.allclose(m, [0.25, 0.5, 0.5])
    # A single class: its margin is MAX_MARGIN.
    single = LDAM(num_classes=1, use_background=False, class_stats=make_stats([5]), max_margin=0.3, scale=1.0)
    assert single.margins.tolist() == pytest.approx([0.3])
    # An empty batch gives a zero loss that still backpropagates.
    z = torch.zeros(0, 1, requires_grad=True)
    out = single(z, torch.zeros(0, dtype=torch.long))
    out.backward()
    assert out.item() == 0.0


def test_gradient(make_stats):
    loss = LDAM(num_classes=3, use_background=False, class_stats=make_stats([50, 5, 1]), max_margin=0.5, scale=2.0)
    loss = loss.double()
    logits = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    labels = torch.tensor([0, 1, 2, 1])
    assert torch.autograd.gradcheck(lambda z: loss(z, labels), (logits,))
    # dL/dz_y = s * (p_y - 1) / N with p from softmax(s * (z - Delta_y e_y)).
    z = logits.detach().clone().requires_grad_(True)
    loss(z, labels).backward()
    adj = z.detach().clone()
    adj[torch.arange(4), labels] -= loss.margins.double()[labels]
    p = torch.softmax(2.0 * adj, 1)
    expected = 2.0 * (p - torch.nn.functional.one_hot(labels, 3)) / 4
    assert torch.allclose(z.grad, expected)

import math

import torch

from lt_det.losses import CBFocal, Focal

LN2 = math.log(2)


def test_builds_from_config(build, make_stats):
    loss = build("CBFocal", 2, True, make_stats([1, 2]), **{"CB_FOCAL.BETA": 0.9})
    assert isinstance(loss, CBFocal) and (loss.beta, loss.gamma) == (0.9, 0.5)
    assert loss.num_logits() == 2


def test_hand_value(make_stats):
    # beta 0.9, counts (1, 2): raw weights (1, 0.1 / 0.19), normalised to sum 2; background 1.
    loss = CBFocal(num_classes=2, use_background=True, class_stats=make_stats([1, 2]), beta=0.9)
    raw = torch.tensor([1.0, 0.1 / 0.19])
    assert torch.allclose(loss.sample_weight, torch.cat([raw / raw.sum() * 2, torch.ones(1)]))
    # Logits 0, gamma 0.5: every term is (1/2)^0.5 ln 2, a sample sums 2 of them = sqrt(2) ln 2.
    # Labels (0, 1, bg): sqrt(2) ln 2 (w_0 + w_1 + 1) / 3 = sqrt(2) ln 2 (2 + 1) / 3.
    value = loss(torch.zeros(3, 2, dtype=torch.float64), torch.tensor([0, 1, 2]))
    assert math.isclose(value.item(), math.sqrt(2) * LN2, rel_tol=1e-6)


def test_beta_zero_is_plain_focal_without_alpha(make_stats):
    torch.manual_seed(0)
    logits = torch.randn(6, 3, dtype=torch.float64, requires_grad=True)
    labels = torch.tensor([0, 1, 2, 3, 3, 0])
    cb = CBFocal(num_classes=3, use_background=True, class_stats=make_stats([1, 5, 50]), beta=0.0)
    focal = Focal(num_classes=3, use_background=True, gamma=0.5, alpha=-1.0)
    assert torch.allclose(cb(logits, labels), focal(logits, labels))
    assert torch.autograd.gradcheck(lambda x: cb(x, labels), (logits,))


def test_large_positive_logit_has_a_finite_gradient_for_gamma_below_one(make_stats):
    # Issue #12.10's repro: two classes, logits [[120, 0]], label 0, gamma 0.5 (the default).
    # Equal counts give equal class-balanced weights (1, 1), so with N = 1:
    # d/dz_0: the positive term sigmoid(-z)^g softplus(-z) has derivative
    #   -sigmoid(-z)^g (g sigmoid(z) softplus(-z) + sigmoid(-z)) ~ -(1 + g) e^{-(1 + g) 120},
    #   below float32's smallest number: 0.
    # d/dz_1 at z = 0 (a negative): sigmoid^g (sigmoid + g (1 - sigmoid) softplus)
    #   = 0.5^0.5 (0.5 + 0.5 * 0.5 ln 2).
    loss = CBFocal(num_classes=2, use_background=False, class_stats=make_stats([5, 5]))
    for dtype in (torch.float32, torch.float64):
        logits = torch.tensor([[120.0, 0.0]], dtype=dtype, requires_grad=True)
        loss(logits, torch.tensor([0])).backward()
        expected_1 = math.sqrt(0.5) * (0.5 + 0.25 * LN2)
        assert abs(logits.grad[0, 0].item()) < 1e-70
        assert math.isclose(logits.grad[0, 1].item(), expected_1, rel_tol=1e-6)


def test_focal_gamma_below_one_gradcheck_at_large_logits():
    # gamma 0.5: the log-space sigmoid^gamma keeps the gradient exact where sigmoid(-z)
    # is tiny but representable in float64 (|z| up to ~700).
    loss = Focal(num_classes=2, use_background=True, gamma=0.5, alpha=0.25)
    logits = torch.tensor([[60.0, -60.0], [-50.0, 40.0], [0.3, -0.2]], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x: loss(x, torch.tensor([0, 1, 2])), (logits,))

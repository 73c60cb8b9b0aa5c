import math

import pytest
import torch

from lt_det.losses import Seesaw
from lt_det.losses.seesaw import seesaw_log_factors

LN2 = math.log(2)


def test_builds_from_config(build):
    loss = build("Seesaw", 4, True, None, **{"SEESAW.P": 0.5})
    assert isinstance(loss, Seesaw) and (loss.p, loss.q, loss.eps) == (0.5, 2.0, 1e-2)
    assert loss.num_logits() == 6  # 4 classes + 2 objectness
    assert build("Seesaw", 4, False).num_logits() == 4


def test_mitigation_and_compensation_factors():
    counts = torch.tensor([100.0, 10.0, 1.0], dtype=torch.float64)
    # Sample of class 0 (N = 100) with logits (0, ln 2, 0): sigma = (1/4, 1/2, 1/4).
    # Mitigation M_0j = (N_j / 100)^0.8: (1, 0.1^0.8, 0.01^0.8).
    # Compensation C_0j = (sigma_j / sigma_0)^2 where > 1: class 1 has 2 -> 4; class 2: 1.
    # Sample of class 2 (the rarest) with equal logits: M = 1 (all others more frequent), C = 1.
    logits = torch.tensor([[0.0, LN2, 0.0], [0.0, 0.0, 0.0]], dtype=torch.float64)
    labels = torch.tensor([0, 2])
    log_s = seesaw_log_factors(logits, labels, counts, p=0.8, q=2.0, eps=1e-2)
    expected = torch.tensor(
        [[0.0, math.log(0.1**0.8 * 4), math.log(0.01**0.8)], [0.0, 0.0, 0.0]], dtype=torch.float64
    )
    assert torch.allclose(log_s, expected)
    # p = 0 / q = 0 switch each factor off.
    only_m = seesaw_log_factors(logits, labels, counts, p=0.8, q=0.0, eps=1e-2)
    assert torch.allclose(only_m[0], torch.tensor([0.0, 0.8 * math.log(0.1), 0.8 * math.log(0.01)]).double())
    only_c = seesaw_log_factors(logits, labels, counts, p=0.0, q=2.0, eps=1e-2)
    assert torch.allclose(only_c[0], torch.tensor([0.0, math.log(4), 0.0]).double())


def test_compensation_clamps_the_true_class_score():
    # sigma_y below eps is clamped: logits (0, 10), label 0: sigma_0 = 1 / (1 + e^10) < 0.01,
    # so C_01 = (sigma_1 / 0.01)^2 instead of (sigma_1 / sigma_0)^2.
    logits = torch.tensor([[0.0, 10.0]], dtype=torch.float64)
    log_s = seesaw_log_factors(logits, torch.tensor([0]), torch.ones(2), p=0.8, q=2.0, eps=1e-2)
    sigma_1 = math.exp(10) / (1 + math.exp(10))
    assert math.isclose(log_s[0, 1].item(), 2 * math.log(sigma_1 / 1e-2), rel_tol=1e-9)


def test_hand_value_classification():
    loss = Seesaw(num_classes=3, use_background=False).eval()
    loss.class_counts.copy_(torch.tensor([100.0, 10.0, 1.0]))
    logits = torch.tensor([[0.0, LN2, 0.0], [0.0, 0.0, 0.0]], dtype=torch.float64)
    # Row 0: -log(1 / (1 + S_01 * 2 + S_02 * 1)) with S_01 = 4 * 0.1^0.8, S_02 = 0.01^0.8.
    # Row 1: no factor, plain CE over 3 equal logits: ln 3.
    row0 = math.log(1 + 2 * 4 * 0.1**0.8 + 0.01**0.8)
    value = loss(logits, torch.tensor([0, 2]))
    assert math.isclose(value.item(), (row0 + math.log(3)) / 2, rel_tol=1e-12)


def test_detection_objectness_branch_and_counts():
    loss = Seesaw(num_classes=2, use_background=True).train()
    # Logits (2 classes, then objectness fg/bg) all 0; labels (0, background).
    # Counts become (1, 0) before the loss: clamped to (1, 1) -> M = 1; equal scores -> C = 1.
    # Class term (foreground RoI only): ln 2. Objectness CE on both RoIs: 2 ln 2. / N = 2.
    value = loss(torch.zeros(2, 4, dtype=torch.float64), torch.tensor([0, 2]))
    assert math.isclose(value.item(), 1.5 * LN2, rel_tol=1e-12)
    assert loss.class_counts.tolist() == [1.0, 0.0]
    loss(torch.zeros(3, 4), torch.tensor([1, 1, 2]))
    assert loss.class_counts.tolist() == [1.0, 2.0]
    loss.eval()  # no count updates outside training
    loss(torch.zeros(3, 4), torch.tensor([1, 1, 2]))
    assert loss.class_counts.tolist() == [1.0, 2.0]


def test_scores_are_class_softmax_times_objectness():
    loss = Seesaw(num_classes=2, use_background=True)
    # softmax(ln 3, 0) = (3/4, 1/4); softmax(ln 4, 0) = (4/5, 1/5) -> (3/5, 1/5, 1/5).
    logits = torch.tensor([[math.log(3), 0.0, math.log(4), 0.0]])
    assert torch.allclose(loss.predict_probs(logits), torch.tensor([[0.6, 0.2, 0.2]]))


def test_gradients():
    torch.manual_seed(0)
    labels = torch.tensor([0, 1, 2, 3, 0, 3])
    logits = torch.randn(6, 5, dtype=torch.float64, requires_grad=True)
    # The mitigation factor depends on counts only: the loss is a smooth function of z.
    only_m = Seesaw(num_classes=3, use_background=True, q=0.0).eval()
    only_m.class_counts.copy_(torch.tensor([1000.0, 10.0, 0.0]))
    assert torch.autograd.gradcheck(lambda x: only_m(x, labels), (logits,))

    # The compensation factor uses detached scores (as in the paper): the gradient is that of
    # CE on the adjusted logits with the factors held constant, (softmax(z~) - onehot) / N.
    loss = Seesaw(num_classes=3, use_background=False).eval()
    loss.class_counts.copy_(torch.tensor([1000.0, 10.0, 1.0]))
    z = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    y = torch.tensor([0, 0, 1, 2])
    loss(z, y).backward()
    adjusted = z.detach() + seesaw_log_factors(z.detach(), y, loss.class_counts, 0.8, 2.0, 1e-2)
    expected = (torch.softmax(adjusted, 1) - torch.nn.functional.one_hot(y, 3)) / 4
    assert torch.allclose(z.grad, expected)

    # Mitigation only: a class-0 sample with equal logits pushes the rare class 1 with
    # dL/dz_1 = S_01 / (1 + S_01 + S_02), S_0j = (N_j / 1000)^0.8, below CE's 1/3.
    z = torch.zeros(1, 3, dtype=torch.float64, requires_grad=True)
    mitigated = Seesaw(num_classes=3, use_background=False, q=0.0).eval()
    mitigated.class_counts.copy_(torch.tensor([1000.0, 10.0, 1.0]))
    mitigated(z, torch.tensor([0])).backward()
    s1, s2 = 0.01**0.8, 0.001**0.8
    assert math.isclose(z.grad[0, 1].item(), s1 / (1 + s1 + s2), rel_tol=1e-12)


@pytest.mark.parametrize("kwargs", [{"p": -1.0}, {"q": -0.5}, {"eps": 0.0}])
def test_bad_hyperparameters(kwargs):
    with pytest.raises(ValueError, match="SEESAW"):
        Seesaw(num_classes=3, use_background=True, **kwargs)

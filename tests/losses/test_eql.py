import math

import pytest
import torch
from torch.nn import functional as F

from lt_det.losses import EQL, SigmoidBCE
from lt_det.losses.eql import eql_weights

LN2 = math.log(2)


def seed_eql_loss(pred_class_logits, gt_classes, freq_info, lambda_):
    """The reference code of seeds/002 (EQL.detectron2), transcribed as written there:
    C logits, background label C, w = 1 - E(r) T(f) (1 - y), sum / n_i."""
    n_i, n_c = pred_class_logits.size()
    target = pred_class_logits.new_zeros(n_i, n_c + 1)
    target[torch.arange(n_i), gt_classes] = 1
    target = target[:, :n_c]
    exclude = (gt_classes != n_c).float().view(n_i, 1).expand(n_i, n_c)
    threshold = pred_class_logits.new_zeros(n_c)
    threshold[freq_info < lambda_] = 1
    threshold = threshold.view(1, n_c).expand(n_i, n_c)
    eql_w = 1 - exclude * threshold * (1 - target)
    cls_loss = F.binary_cross_entropy_with_logits(pred_class_logits, target, reduction="none")
    return torch.sum(cls_loss * eql_w) / n_i, eql_w


@pytest.fixture
def stats(make_stats):
    # f = N_j / N = (0.1, 0.001, 0): with lambda = 1.76e-3 classes 1 and 2 are tail.
    return make_stats([100, 1, 0], num_images=1000)


def test_builds_from_config(build, stats):
    loss = build("EQL", 3, True, stats, **{"EQL.LAMBDA": 1.1e-3})
    assert isinstance(loss, EQL) and loss.lambda_ == 1.1e-3 and loss.num_logits() == 3
    assert loss.tail.tolist() == [0.0, 1.0, 1.0]
    # lambda below every frequency: no tail class (0 < 1e-4 only for the unseen class 2).
    assert build("EQL", 3, True, stats, **{"EQL.LAMBDA": 1e-4}).tail.tolist() == [0, 0, 1]


def test_weights_match_seed_formula(stats):
    torch.manual_seed(0)
    loss = EQL(num_classes=3, use_background=True, class_stats=stats, lambda_=1.76e-3)
    logits = torch.randn(12, 3, dtype=torch.float64)
    labels = torch.tensor([0, 1, 2, 3, 3, 0, 1, 3, 2, 0, 3, 1])
    freq = torch.tensor(stats.image_frequency)
    expected_loss, expected_w = seed_eql_loss(logits, labels, freq, 1.76e-3)
    w = eql_weights(labels, loss.tail.double(), labels < 3)
    assert torch.equal(w, expected_w)
    assert torch.allclose(loss(logits, labels), expected_loss)


def test_hand_values_and_gradients(stats):
    loss = EQL(num_classes=3, use_background=True, class_stats=stats, lambda_=1.76e-3)
    logits = torch.zeros(3, 3, dtype=torch.float64, requires_grad=True)
    labels = torch.tensor([0, 1, 3])  # head fg, tail fg, background
    # Every binary term at logit 0 is ln 2. Tail T = (0, 1, 1).
    # Row 0 (label 0, E=1): w = (1, 1-1, 1-1) = (1, 0, 0) -> ln 2.
    # Row 1 (label 1, E=1): w = (1, 1 [positive], 0) -> 2 ln 2.
    # Row 2 (background, E=0): w = (1, 1, 1) -> 3 ln 2.  Loss = 6 ln 2 / 3 = 2 ln 2.
    value = loss(logits, labels)
    assert torch.isclose(value, torch.tensor(2 * LN2).double())
    value.backward()
    # dL/dz_ij = w_ij (sigmoid(z_ij) - y_ij) / N = w_ij (1/2 - y_ij) / 3.
    expected = torch.tensor(
        [[-0.5, 0.0, 0.0], [0.5, -0.5, 0.0], [0.5, 0.5, 0.5]], dtype=torch.float64
    ) / 3
    assert torch.allclose(logits.grad, expected)


def test_classification_mode_has_no_background(stats):
    # Without background every sample is foreground (E = 1).
    loss = EQL(num_classes=3, use_background=False, class_stats=stats, lambda_=1.76e-3)
    logits = torch.zeros(1, 3, dtype=torch.float64)
    # Label 0: w = (1, 0, 0) -> ln 2.
    assert torch.isclose(loss(logits, torch.tensor([0])), torch.tensor(LN2).double())


@pytest.mark.parametrize("lam", [-1e-3, float("nan")])
def test_lambda_must_be_non_negative(build, stats, lam):
    with pytest.raises(ValueError, match="LAMBDA"):
        build("EQL", 3, True, stats, **{"EQL.LAMBDA": lam})


@pytest.mark.parametrize("use_background", [True, False])
def test_lambda_zero_is_sigmoid_bce(build, stats, use_background):
    # T_0(f_j) = 1[f_j < 0] = 0 for every class (even f_j = 0), so w_ij = 1: EQL is
    # SigmoidBCE, value and gradient, in both modes.
    loss = build("EQL", 3, use_background, stats, **{"EQL.LAMBDA": 0.0})
    assert loss.tail.tolist() == [0.0, 0.0, 0.0]
    torch.manual_seed(0)
    labels = torch.tensor([0, 1, 2, 3, 3]) if use_background else torch.tensor([0, 1, 2, 2, 1])
    logits = torch.randn(5, 3, dtype=torch.float64, requires_grad=True)
    bce_logits = logits.detach().clone().requires_grad_(True)
    value = loss(logits, labels)
    expected = SigmoidBCE(num_classes=3, use_background=use_background)(bce_logits, labels)
    value.backward()
    expected.backward()
    assert torch.equal(value, expected) and torch.equal(logits.grad, bce_logits.grad)


def test_needs_class_stats(build):
    with pytest.raises(ValueError, match="class statistics"):
        build("EQL", 3, True, None)

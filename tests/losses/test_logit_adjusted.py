import math

import numpy as np
import pytest
import torch

from lt_det.losses import BalancedSoftmaxCE, LogitAdjustedCE
from lt_det.losses.logit_adjusted import log_priors


def test_builds_from_config(build, make_stats):
    loss = build("LogitAdjustedCE", 2, False, make_stats([3, 1]), **{"LOGIT_ADJUSTED.TAU": 0.5})
    assert isinstance(loss, LogitAdjustedCE) and loss.tau == 0.5 and loss.num_logits() == 2
    # Balanced softmax is tau = 1 whatever the key says.
    bal = build("BalancedSoftmaxCE", 2, False, make_stats([3, 1]), **{"LOGIT_ADJUSTED.TAU": 0.5})
    assert isinstance(bal, BalancedSoftmaxCE) and bal.tau == 1.0


def test_hand_values(build, make_stats):
    # counts (3, 1) -> pi = (3/4, 1/4). With z = (0, 0):
    #   tau = 1:   z + log pi = log(3/4, 1/4) -> CE(y=1) = -log(1/4), CE(y=0) = -log(3/4);
    #   tau = 1/2: softmax proportional to sqrt(pi) = (0.8660, 0.5) -> CE(y=1) = -log(0.5 / 1.3660).
    z = torch.zeros(1, 2, dtype=torch.float64)
    la = build("LogitAdjustedCE", 2, False, make_stats([3, 1]))
    assert la(z, torch.tensor([1])).item() == pytest.approx(math.log(4))
    assert la(z, torch.tensor([0])).item() == pytest.approx(-math.log(0.75))
    half = build("LogitAdjustedCE", 2, False, make_stats([3, 1]), **{"LOGIT_ADJUSTED.TAU": 0.5})
    s = math.sqrt(0.75) + math.sqrt(0.25)
    assert half(z, torch.tensor([1])).item() == pytest.approx(-math.log(math.sqrt(0.25) / s))
    # tau = 0 is plain softmax CE: log 2 for equal logits.
    plain = build("LogitAdjustedCE", 2, False, make_stats([3, 1]), **{"LOGIT_ADJUSTED.TAU": 0.0})
    assert plain(z, torch.tensor([1])).item() == pytest.approx(math.log(2))
    # Scores are the unadjusted softmax(z).
    assert torch.allclose(la.predict_probs(z), torch.tensor([[0.5, 0.5]], dtype=torch.float64))


def test_edge_cases(make_stats):
    # A class with no sample gets the prior of the rarest observed class (finite).
    lp = log_priors(np.array([2, 1, 0]))
    assert np.allclose(np.exp(lp), [0.5, 0.25, 0.25])
    with pytest.raises(ValueError, match="background"):
        LogitAdjustedCE(num_classes=2, use_background=True, class_stats=make_stats([3, 1]))
    single = BalancedSoftmaxCE(num_classes=1, use_background=False, class_stats=make_stats([7]))
    # One class: pi = 1, log pi = 0, one logit -> CE = 0.
    assert single(torch.randn(3, 1), torch.zeros(3, dtype=torch.long)).item() == pytest.approx(0.0)
    empty = single(torch.zeros(0, 1, requires_grad=True), torch.zeros(0, dtype=torch.long))
    assert empty.item() == 0.0 and empty.requires_grad


def test_gradient(make_stats):
    loss = LogitAdjustedCE(num_classes=3, use_background=False, class_stats=make_stats([50, 5, 1]), tau=1.5).double()
    logits = torch.randn(5, 3, dtype=torch.float64, requires_grad=True)
    labels = torch.tensor([0, 1, 2, 2, 0])
    assert torch.autograd.gradcheck(lambda z: loss(z, labels), (logits,))

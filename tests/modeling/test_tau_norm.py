"""tau-normalisation, the formula shared by the Linear head and the post hoc trick."""
import math

import pytest
import torch

from lt_det.modeling.tau_norm import tau_normalize


def test_tau_norm_by_hand():
    w = torch.tensor([[3.0, 4.0], [0.0, 2.0], [0.0, 0.0]])  # norms 5, 2, 0
    # tau = 1: unit rows; tau = 0.5: divide by sqrt(norm); tau = 0: unchanged; zero row stays 0.
    assert torch.allclose(tau_normalize(w, 1.0), torch.tensor([[0.6, 0.8], [0.0, 1.0], [0.0, 0.0]]))
    assert torch.allclose(
        tau_normalize(w, 0.5), torch.tensor([[3 / math.sqrt(5), 4 / math.sqrt(5)], [0.0, 2 / math.sqrt(2)], [0, 0]])
    )
    assert torch.allclose(tau_normalize(w, 0.0), w)
    with pytest.raises(ValueError, match=r"\[C, D\]"):
        tau_normalize(torch.zeros(3))


def test_head_tau_and_apply_tau_norm_agree_and_drop_the_bias():
    # #12.16: one behaviour. Weight rows (3, 4) and (0, 1), bias (10, -10), x = (1, 1).
    # Training: w . x + b = (17, -9). Eval with tau = 1: rows (0.6, 0.8), (0, 1), no bias:
    # (1.4, 1.0) -- the logits apply_tau_norm gives on an nn.Linear copy of the head.
    from torch import nn

    from lt_det.modeling.classifier_heads import Linear
    from lt_det.modeling.tau_norm import apply_tau_norm

    head = Linear(in_features=2, num_logits=2, bias=True, tau=1.0)
    with torch.no_grad():
        head.weight.copy_(torch.tensor([[3.0, 4.0], [0.0, 1.0]]))
        head.bias.copy_(torch.tensor([10.0, -10.0]))
    x = torch.tensor([[1.0, 1.0]])
    assert head.train()(x).tolist() == [[17.0, -9.0]]
    assert torch.allclose(head.eval()(x), torch.tensor([[1.4, 1.0]]))
    linear = nn.Linear(2, 2)
    with torch.no_grad():
        linear.weight.copy_(head.weight)
        linear.bias.copy_(head.bias)
    assert torch.allclose(apply_tau_norm(linear, 1.0)(x), head(x))
    assert head.bias.tolist() == [10.0, -10.0]  # the head keeps its trained bias for training

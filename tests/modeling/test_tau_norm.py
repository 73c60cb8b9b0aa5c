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

"""FRACAL: frequency and fractal terms and calibrated scores derived by hand."""
import math

import numpy as np
import pytest
import torch

from lt_det.data.class_stats import ClassStats, frequency_group
from lt_det.modeling.calibration import FRACAL
from lt_det.modeling.calibration.fracal import fracal_terms


def stats(image_count, num_images=20):
    image_count = np.asarray(image_count)
    return ClassStats(image_count, image_count, [frequency_group(int(n)) for n in image_count], num_images)


# Image counts (10, 1) of 20 images: f = (0.5, 0.05), C f = (1, 0.1), so w = -log10(C f)
# = (0, 1). Fractal dimensions (2, 1), lambda 2: D^lambda = (4, 1), sum 5;
# v = -log10(C D^lambda / 5) = (-log10 1.6, -log10 0.4).
W = [0.0, 1.0]
V = [-math.log10(1.6), -math.log10(0.4)]


def test_terms():
    w, v = fracal_terms([10, 1], 20, [2.0, 1.0], 2.0)
    assert np.allclose(w, W) and np.allclose(v, V)


def test_softmax_hand_values():
    # Scores (0.4, 0.2 | bg 0.4) times (e^0 / 4, e^1 / 1, 1) = (0.1, 0.2 e, 0.4), renormalised.
    cal = FRACAL(num_classes=2, class_stats=stats([10, 1]), fractal_dim=[2.0, 1.0])
    out = cal(torch.tensor([[0.4, 0.2, 0.4]], dtype=torch.float64))
    raw = torch.tensor([[0.1, 0.2 * math.e, 0.4]], dtype=torch.float64)
    assert torch.allclose(out, raw / raw.sum())


def test_softmax_equals_the_official_logit_form():
    # Official: softmax(z + [w, 0]) / [D^lambda, 1], renormalised.
    torch.manual_seed(0)
    z = torch.randn(5, 3, dtype=torch.float64)
    cal = FRACAL(num_classes=2, class_stats=stats([10, 1]), fractal_dim=[2.0, 1.0])
    s = torch.softmax(z + torch.tensor([*W, 0.0], dtype=torch.float64), 1)
    s = s / torch.tensor([4.0, 1.0, 1.0], dtype=torch.float64)
    assert torch.allclose(cal(torch.softmax(z, 1)), s / s.sum(1, keepdim=True))


def test_sigmoid_hand_values():
    # s_j sigmoid(logit(s_j) + w_j + v_j), background kept. s = (0.5, 0.2):
    # class 0: 0.5 sigmoid(0 + 0 - log10 1.6); class 1: 0.2 sigmoid(log(0.25) + 1 - log10 0.4).
    cal = FRACAL(num_classes=2, class_stats=stats([10, 1]), fractal_dim=[2.0, 1.0], activation="sigmoid")
    out = cal(torch.tensor([[0.5, 0.2, 0.5]], dtype=torch.float64))

    def sig(x):
        return 1 / (1 + math.exp(-x))

    expected = [0.5 * sig(V[0]), 0.2 * sig(math.log(0.25) + 1 + V[1]), 0.5]
    assert torch.allclose(out, torch.tensor([expected], dtype=torch.float64))


def test_bad_arguments():
    with pytest.raises(ValueError, match="ACTIVATION"):
        FRACAL(num_classes=2, class_stats=stats([10, 1]), fractal_dim=[2.0, 1.0], activation="tanh")
    with pytest.raises(ValueError, match="fractal dimensions"):
        FRACAL(num_classes=2, class_stats=stats([10, 1]), fractal_dim=[2.0])

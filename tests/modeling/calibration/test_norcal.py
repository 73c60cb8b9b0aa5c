"""NorCal: calibrated scores derived by hand."""
import math

import numpy as np
import pytest
import torch

from lt_det.data.class_stats import ClassStats, frequency_group
from lt_det.modeling.calibration import NorCal


def stats(image_count, num_images=20):
    image_count = np.asarray(image_count)
    return ClassStats(image_count, image_count, [frequency_group(int(n)) for n in image_count], num_images)


def test_hand_values():
    # Image counts (4, 1), gamma 1/2: class factors (1/2, 1), background 1.
    # Scores (0.4, 0.2 | bg 0.4) -> (0.2, 0.2, 0.4), sum 0.8 -> (0.25, 0.25, 0.5).
    cal = NorCal(num_classes=2, class_stats=stats([4, 1]), gamma=0.5)
    probs = torch.tensor([[0.4, 0.2, 0.4]])
    assert torch.allclose(cal(probs), torch.tensor([[0.25, 0.25, 0.5]]))
    # Without renormalisation the scaled scores are returned.
    raw = NorCal(num_classes=2, class_stats=stats([4, 1]), gamma=0.5, renorm=False)
    assert torch.allclose(raw(probs), torch.tensor([[0.2, 0.2, 0.4]]))
    # gamma 0 leaves normalised scores unchanged.
    assert torch.allclose(NorCal(num_classes=2, class_stats=stats([4, 1]))(probs), probs)


def test_equals_the_official_exps_mode():
    # Official "exps": exp(z_j) / n_j^gamma (background exp(z_bg)), renormalised. On softmax
    # scores the common factor 1 / sum exp(z) cancels in the renormalisation.
    torch.manual_seed(0)
    z = torch.randn(6, 4, dtype=torch.float64)
    counts = [100, 7, 0]  # a class with no image counts as 1
    cal = NorCal(num_classes=3, class_stats=stats(counts), gamma=0.8)
    exps = torch.exp(z)
    exps[:, :3] /= torch.tensor([100.0, 7.0, 1.0], dtype=torch.float64) ** 0.8
    expected = exps / exps.sum(1, keepdim=True)
    assert torch.allclose(cal(torch.softmax(z, 1)), expected)


def test_bad_gamma_is_a_clear_error():
    with pytest.raises(ValueError, match="GAMMA"):
        NorCal(num_classes=2, class_stats=stats([4, 1]), gamma=-1.0)

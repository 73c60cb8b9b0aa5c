import math

import numpy as np
import pytest
import torch

from lt_det.losses import CSCE
from lt_det.losses.reweighting import cost_sensitive_weights

LN2, LN3 = math.log(2), math.log(3)


def test_builds_from_config(build, make_stats):
    stats = make_stats([4, 2, 1])
    loss = build("CSCE", 3, True, stats, **{"CSCE.BACKGROUND_WEIGHT": 2.0})
    assert isinstance(loss, CSCE) and loss.num_logits() == 4
    assert loss.class_weight[-1] == 2.0


def test_weights():
    # n_min / n_c for counts (4, 2, 1) = (1/4, 1/2, 1); mean 7/12 -> (3/7, 6/7, 12/7).
    assert np.allclose(cost_sensitive_weights(np.array([4, 2, 1])), [3 / 7, 6 / 7, 12 / 7])
    # gamma 2: (1/16, 1/4, 1), mean 21/48 -> (1/16, 1/4, 1) * 48/21.
    w2 = np.array([1 / 16, 1 / 4, 1]) * 48 / 21
    assert np.allclose(cost_sensitive_weights(np.array([4, 2, 1]), gamma=2.0), w2)
    # A class without samples counts as the rarest (n_c -> n_min): (1/4, 1, 1) / (3/4 * ...).
    w0 = cost_sensitive_weights(np.array([4, 0, 1]))
    assert np.all(np.isfinite(w0)) and np.allclose(w0, np.array([0.25, 1, 1]) / 0.75)
    assert np.allclose(cost_sensitive_weights(np.zeros(3)), 1.0)


def test_hand_value_matches_bag_of_tricks(make_stats):
    # Classification, instance counts (4, 2, 1). Sample a: label 0, logits (ln 2, 0, 0):
    # CE = -log(2/4) = ln 2. Sample b: label 2, logits 0: CE = ln 3.
    # Weighted mean (w_a ln 2 + w_b ln 3) / (w_a + w_b) with w = (1/4, 1/2, 1) up to scale:
    # (ln 2 / 4 + ln 3) / (5/4) = (ln 2 + 4 ln 3) / 5 (BagofTricks-LT's n_min/n_c weights).
    loss = CSCE(num_classes=3, use_background=False, class_stats=make_stats([4, 2, 1]))
    logits = torch.tensor([[LN2, 0.0, 0.0], [0.0, 0.0, 0.0]], dtype=torch.float64)
    value = loss(logits, torch.tensor([0, 2]))
    assert math.isclose(value.item(), (LN2 + 4 * LN3) / 5, rel_tol=1e-6)


def test_background_weight_and_validation(make_stats):
    stats = make_stats([4, 2, 1])
    loss = CSCE(num_classes=3, use_background=True, class_stats=stats)
    assert torch.allclose(loss.class_weight, torch.tensor([3 / 7, 6 / 7, 12 / 7, 1.0]))
    with pytest.raises(ValueError, match="BACKGROUND_WEIGHT"):
        CSCE(num_classes=3, use_background=True, class_stats=stats, background_weight=0.0)
    with pytest.raises(ValueError, match="class statistics"):
        CSCE(num_classes=3, use_background=True, class_stats=None)

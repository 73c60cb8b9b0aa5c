import math

import numpy as np
import pytest
import torch

from lt_det.losses import ClassBalancedCE
from lt_det.losses.reweighting import class_balanced_weights

LN2, LN3 = math.log(2), math.log(3)


def test_builds_from_config(build, make_stats):
    loss = build("ClassBalancedCE", 3, True, make_stats([1, 2, 10]), **{"CLASS_BALANCED_CE.BETA": 0.9})
    assert isinstance(loss, ClassBalancedCE) and loss.beta == 0.9 and loss.num_logits() == 4


def test_effective_number_weights():
    # beta 0.9: (1 - 0.9) / (1 - 0.9^n) for n = 1, 2, 10: 1, 0.1 / 0.19, 0.1 / (1 - 0.9^10);
    # normalised to sum to C = 3.
    raw = np.array([1.0, 0.1 / 0.19, 0.1 / (1 - 0.9**10)])
    assert np.allclose(class_balanced_weights(np.array([1, 2, 10]), 0.9), raw / raw.sum() * 3)
    # beta 0: every class weighs 1.
    assert np.allclose(class_balanced_weights(np.array([5, 50, 500]), 0.0), 1.0)
    with pytest.raises(ValueError, match="beta"):
        class_balanced_weights(np.array([1, 2]), 1.0)


def test_class_with_no_sample_weighs_as_the_rarest_class(make_stats):
    # Counts (0, 10, 100), beta 0.9: the empty class counts as the rarest, n = 10, so the raw
    # weights are 0.1 / (1 - 0.9^10) twice and 0.1 / (1 - 0.9^100), normalised to sum 3.
    # (With n = 1 the empty class would weigh 1 / (0.1 / (1 - 0.9^10)) = 6.5 times the
    # rarest real one and shrink every real class's weight in the normalisation.)
    raw = np.array([0.1 / (1 - 0.9**10)] * 2 + [0.1 / (1 - 0.9**100)])
    w = class_balanced_weights(np.array([0, 10, 100]), 0.9)
    assert np.allclose(w, raw / raw.sum() * 3) and w[0] == w[1]
    # The same through the loss and its detection weights (background last, weight 1).
    loss = ClassBalancedCE(
        num_classes=3, use_background=True, class_stats=make_stats([0, 10, 100]), beta=0.9
    )
    assert np.allclose(loss.class_weight.numpy(), np.append(raw / raw.sum() * 3, 1.0))


def test_hand_value(make_stats):
    # beta 0.9, counts (1, 2, 10): w_0 = 1, w_2 = 0.1 / (1 - 0.9^10) before normalising
    # (the weighted mean does not depend on the scale).
    # Sample a: label 0, logits (ln 2, 0, 0), CE ln 2; sample b: label 2, logits 0, CE ln 3.
    loss = ClassBalancedCE(
        num_classes=3, use_background=False, class_stats=make_stats([1, 2, 10]), beta=0.9
    )
    w0, w2 = 1.0, 0.1 / (1 - 0.9**10)
    logits = torch.tensor([[LN2, 0.0, 0.0], [0.0, 0.0, 0.0]], dtype=torch.float64)
    value = loss(logits, torch.tensor([0, 2]))
    assert math.isclose(value.item(), (w0 * LN2 + w2 * LN3) / (w0 + w2), rel_tol=1e-6)

"""CompensationCE: CE(softmax(z - log alpha)) with the per-class alpha of each stage."""
import math

import numpy as np
import pytest
import torch

from lt_det.config import get_lt_cfg
from lt_det.data.class_stats import ClassStats
from lt_det.losses import CompensationCE, build_loss
from lt_det.losses.compensation import compensation_alpha, reversed_frequencies


def _stats(counts):
    c = np.asarray(counts)
    return ClassStats(image_count=c, instance_count=c, frequency=["f"] * len(c), num_images=int(c.sum()))


def _cfg(alpha, rho=0.8):
    cfg = get_lt_cfg()
    cfg.MODEL.LT.LOSS.NAME = "CompensationCE"
    cfg.MODEL.LT.LOSS.COMPENSATION.ALPHA = alpha
    cfg.MODEL.LT.LOSS.COMPENSATION.RHO = rho
    return cfg


def _ce(adjusted, y):
    # -log softmax(a)[y] = -a_y + log sum_j exp(a_j)
    return -adjusted[y] + math.log(sum(math.exp(a) for a in adjusted))


def test_alpha_vectors_by_hand():
    counts = [200, 50, 5]  # many, medium, few; L = [200, 50, 5] / 255
    assert compensation_alpha("ones", counts) == pytest.approx([1, 1, 1])
    # alpha_2: rho on the medium class 1, 1 - rho on the others.
    assert compensation_alpha("group", counts, 0.8, [1]) == pytest.approx([0.2, 0.8, 0.2])
    # alpha_3 = R(L): rank 0 (class 0) gets rank 2's frequency, and so on.
    assert reversed_frequencies(counts) == pytest.approx([5 / 255, 50 / 255, 200 / 255])
    # Unsorted classes: ranks are class 1 (200), class 2 (50), class 0 (5).
    assert reversed_frequencies([5, 200, 50]) == pytest.approx([200 / 255, 5 / 255, 50 / 255])
    # Ties keep class order: [10, 10, 1] -> ranks 0, 1, 2 -> [1, 10, 10] / 21.
    assert reversed_frequencies([10, 10, 1]) == pytest.approx([1 / 21, 10 / 21, 10 / 21])


@pytest.mark.parametrize("alpha,log_alpha", [
    ("ones", [0.0, 0.0, 0.0]),
    ("group", [math.log(0.2), math.log(0.8), math.log(0.2)]),
    ("reversed_frequency", [math.log(5 / 255), math.log(50 / 255), math.log(200 / 255)]),
])
def test_loss_is_ce_on_adjusted_logits(alpha, log_alpha):
    loss = build_loss(_cfg(alpha), 3, use_background=False, class_stats=_stats([200, 50, 5]))
    assert isinstance(loss, CompensationCE)
    z = [[1.0, 0.0, -1.0], [0.5, 2.0, 0.0]]
    y = [1, 2]
    expected = sum(_ce([zi - la for zi, la in zip(row, log_alpha)], yi) for row, yi in zip(z, y)) / 2
    got = loss(torch.tensor(z), torch.tensor(y))
    assert float(got) == pytest.approx(expected, rel=1e-6)
    # Inference is the unadjusted softmax.
    assert torch.allclose(loss.predict_probs(torch.tensor(z)), torch.softmax(torch.tensor(z), -1))


def test_gradient_and_edge_cases():
    loss = build_loss(_cfg("group"), 3, use_background=False, class_stats=_stats([200, 50, 5]))
    z = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    y = torch.tensor([0, 1, 2, 1])
    la = loss.log_alpha.double()
    # d/dz CE(z - log alpha) = (softmax(z - log alpha) - onehot) / n
    (g,) = torch.autograd.grad(torch.nn.functional.cross_entropy(z - la, y), z)
    expected = (torch.softmax(z.detach() - la, -1) - torch.nn.functional.one_hot(y, 3)) / 4
    assert torch.allclose(g, expected)
    assert float(loss(torch.zeros(0, 3), torch.zeros(0, dtype=torch.long))) == 0.0
    # A class with no samples counts as the smallest non-zero count (finite log alpha).
    lz = build_loss(_cfg("reversed_frequency"), 3, use_background=False, class_stats=_stats([10, 0, 1]))
    assert torch.isfinite(lz.log_alpha).all()


def test_bad_rho_and_empty_group():
    with pytest.raises(ValueError, match="MODEL.LT.LOSS.COMPENSATION.RHO"):
        build_loss(_cfg("group", rho=1.0), 3, use_background=False, class_stats=_stats([200, 50, 5]))
    with pytest.raises(ValueError, match="GROUP_MIN_COUNT"):
        build_loss(_cfg("group"), 2, use_background=False, class_stats=_stats([200, 5]))
    with pytest.raises(ValueError, match="COMPENSATION.ALPHA"):
        build_loss(_cfg("nope"), 3, use_background=False, class_stats=_stats([200, 50, 5]))

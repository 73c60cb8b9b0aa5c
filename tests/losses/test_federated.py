import math

import pytest
import torch

from lt_det.losses import Federated, SigmoidBCE

LN2 = math.log(2)


@pytest.fixture
def stats(make_stats):
    # Sampling weights image_count ** 0.5 = (10, 5, 2, 1, 0, 3); class 4 has no image.
    return make_stats([100, 25, 4, 1, 0, 9])


def test_builds_from_config(build, stats):
    loss = build("Federated", 6, True, stats, **{"FEDERATED.NUM_CLASSES": 3})
    assert isinstance(loss, Federated) and loss.num_sampled == 3 and loss.num_logits() == 6
    assert loss.sampling_weights.tolist() == [10.0, 5.0, 2.0, 1.0, 0.0, 3.0]


def test_selected_classes(stats):
    torch.manual_seed(0)
    loss = Federated(num_classes=6, use_background=True, class_stats=stats, num_sampled=3)
    labels = torch.tensor([0, 0, 6, 6])  # class 0 present, the rest background
    for _ in range(200):
        mask = loss.select_classes(labels)
        # |S| = 3, the present class always in, the unseen class 4 never sampled.
        assert mask.sum() == 3 and mask[0] == 1 and mask[4] == 0
    # As many present classes as num_sampled: exactly the present ones.
    assert loss.select_classes(torch.tensor([1, 2, 4, 6])).tolist() == [0, 1, 1, 0, 1, 0]
    # More wanted than classes with weight > 0: all of them, no error.
    big = Federated(num_classes=6, use_background=True, class_stats=stats, num_sampled=50)
    assert big.select_classes(torch.tensor([6])).tolist() == [1, 1, 1, 1, 0, 1]


def test_sampling_frequencies_follow_sqrt_image_count(stats):
    # One negative drawn besides the present class 0: P(j) = w_j / sum(w) over j != 0, i.e.
    # (5, 2, 1, 0, 3) / 11. 4000 draws: standard error <= sqrt(0.25 / 4000) = 0.008.
    torch.manual_seed(0)
    loss = Federated(num_classes=6, use_background=True, class_stats=stats, num_sampled=2)
    labels = torch.tensor([0, 6])
    counts = torch.zeros(6)
    for _ in range(4000):
        counts += loss.select_classes(labels)
    freq = counts[1:] / 4000
    expected = torch.tensor([5, 2, 1, 0, 3]) / 11
    assert torch.allclose(freq, expected, atol=0.03)
    assert counts[0] == 4000


def test_loss_value(stats):
    torch.manual_seed(0)
    loss = Federated(num_classes=6, use_background=True, class_stats=stats, num_sampled=3)
    # Logits 0: each selected binary term is ln 2, so every RoI contributes 3 ln 2; / N.
    value = loss(torch.zeros(4, 6, dtype=torch.float64), torch.tensor([0, 0, 6, 6]))
    assert math.isclose(value.item(), 3 * LN2, rel_tol=1e-12)


def test_all_classes_selected_equals_sigmoid_bce(make_stats):
    torch.manual_seed(0)
    stats = make_stats([5, 3, 1])
    logits = torch.randn(8, 3)
    labels = torch.randint(0, 4, (8,))
    fed = Federated(num_classes=3, use_background=True, class_stats=stats, num_sampled=50)
    bce = SigmoidBCE(num_classes=3, use_background=True)
    assert torch.allclose(fed(logits, labels), bce(logits, labels))


def test_needs_class_stats_and_positive_count(build, stats):
    with pytest.raises(ValueError, match="class statistics"):
        build("Federated", 6, True, None)
    with pytest.raises(ValueError, match="FEDERATED.NUM_CLASSES"):
        build("Federated", 6, True, stats, **{"FEDERATED.NUM_CLASSES": 0})

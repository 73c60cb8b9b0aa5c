"""BAGS: groups, logit layout, group losses, "others" sampling and score merging by hand."""
import math

import pytest
import torch

from lt_det.losses import BAGS
from lt_det.losses.bags import bags_groups

LN2, LN3 = math.log(2), math.log(3)


@pytest.fixture
def stats(make_stats):
    # Instance counts 2000, 30, 1, 0: groups [0, 10) = {2, 3}, [10, 100) = {1},
    # [1000, inf) = {0}; the bin [100, 1000) is empty and dropped.
    return make_stats([500, 20, 1, 0], instance_count=[2000, 30, 1, 0])


def test_groups_and_layout(build, stats):
    assert [g.tolist() for g in bags_groups([2000, 30, 1, 0], [10, 100, 1000])] == [[2, 3], [1], [0]]
    loss = build("BAGS", 4, True, stats)
    assert isinstance(loss, BAGS) and loss.num_groups == 3
    # Detection: [bg, fg] | [others, c2, c3] | [others, c1] | [others, c0] = 4 + 2 + 3.
    assert loss.num_logits() == 9
    assert loss.class_column.tolist() == [8, 6, 3, 4]
    assert build("BAGS", 4, False, stats).num_logits() == 7  # no background group
    with pytest.raises(ValueError, match="class statistics"):
        build("BAGS", 4, True, None)
    with pytest.raises(ValueError, match="BIN_EDGES"):
        build("BAGS", 4, True, stats, **{"BAGS.BIN_EDGES": [100, 10]})


def test_loss_value_and_gradient(stats):
    loss = BAGS(num_classes=4, use_background=True, class_stats=stats, others_sample_ratio=0.0)
    # RoIs: class 2, class 0, background. Zero logits except z[0, 3] = log 2 (class 2).
    logits = torch.zeros(3, 9, dtype=torch.float64)
    logits[0, 3] = LN2
    logits.requires_grad_(True)
    value = loss(logits, torch.tensor([2, 0, 4]))
    # Background group: 2 zero logits, CE log 2 for each of the 3 RoIs -> mean log 2.
    # Group {2, 3}: RoI 0 softmax (1, 2, 1)/4 at its class -> log 2; RoIs 1, 2 are "others"
    # with zero logits -> log 3 each; mean (log 2 + 2 log 3) / 3.
    # Group {1}: no RoI of class 1 -> nothing. Group {0}: 3 RoIs, CE log 2 each -> log 2.
    expected = LN2 + (LN2 + 2 * LN3) / 3 + LN2
    assert math.isclose(value.item(), expected, rel_tol=1e-9)
    value.backward()
    # dCE/dz = (softmax - onehot) / |S|. z[1, 8] (class 0's logit, RoI of class 0, group of
    # 3 RoIs): (1/2 - 1) / 3. z[0, 3]: (1/2 - 1) / 3. z[0, 0] (the background entry of the
    # foreground RoI 0): (1/2 - 0) / 3. Group {1} received no gradient.
    assert math.isclose(logits.grad[1, 8].item(), -1 / 6)
    assert math.isclose(logits.grad[0, 3].item(), -1 / 6)
    assert math.isclose(logits.grad[0, 0].item(), 1 / 6)
    assert (logits.grad[:, 5:7] == 0).all()
    assert torch.autograd.gradcheck(lambda z: loss(z, torch.tensor([2, 0, 4])), (logits.detach().requires_grad_(),))


def test_others_sampling(stats):
    # Group {2, 3} has 1 positive and 2 "others"; ratio 1 keeps one of them: the term is
    # (log 2 + log 3) / 2 whichever is drawn (both have CE log 3). Group {0} has 1 positive
    # (RoI 1) and 2 others: with zero logits its term is log 2 either way.
    logits = torch.zeros(3, 9, dtype=torch.float64)
    logits[0, 3] = LN2
    labels = torch.tensor([2, 0, 4])
    torch.manual_seed(0)
    one = BAGS(num_classes=4, use_background=True, class_stats=stats, others_sample_ratio=1.0)
    assert math.isclose(one(logits, labels).item(), LN2 + (LN2 + LN3) / 2 + LN2, rel_tol=1e-9)
    mask = one.select_others(torch.tensor([True, False, False]))
    assert mask.tolist()[0] and mask.sum() == 2
    # Ratio 8 asks for more others than exist: every RoI enters.
    eight = BAGS(num_classes=4, use_background=True, class_stats=stats)
    assert math.isclose(eight(logits, labels).item(), LN2 + (LN2 + 2 * LN3) / 3 + LN2, rel_tol=1e-9)


def test_scores_merge_groups(stats):
    # Zero logits: P(fg) = 1/2; group {2, 3}: 1/3 each; groups {1}, {0}: 1/2 each.
    # Class scores times P(fg): (1/4, 1/4, 1/6, 1/6), background 1/2.
    loss = BAGS(num_classes=4, use_background=True, class_stats=stats)
    probs = loss.predict_probs(torch.zeros(1, 9, dtype=torch.float64))
    assert torch.allclose(probs, torch.tensor([[0.25, 0.25, 1 / 6, 1 / 6, 0.5]], dtype=torch.float64))
    # Classification: no background group, no P(fg) factor.
    cls = BAGS(num_classes=4, use_background=False, class_stats=stats)
    probs = cls.predict_probs(torch.zeros(1, 7, dtype=torch.float64))
    assert torch.allclose(probs, torch.tensor([[0.5, 0.5, 1 / 3, 1 / 3]], dtype=torch.float64))
    # Classification loss: a sample of class 1, zero logits -> group {1}: log 2 (the other
    # groups have no sample).
    assert math.isclose(cls(torch.zeros(1, 7), torch.tensor([1])).item(), LN2, rel_tol=1e-6)

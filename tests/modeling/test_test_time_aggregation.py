"""Test-time aggregation: the stable sub-model gets the weight; average and group modes."""
import pytest
import torch

from lt_det.modeling.test_time_aggregation import TestTimeAggregator, instance_weights, stability_objective


def _toy(n=64, c=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    stable = torch.softmax(3 * torch.randn(n, c, generator=g), -1)
    noisy1 = torch.softmax(3 * torch.randn(n, c, generator=g), -1)
    noisy2 = torch.softmax(3 * torch.randn(n, c, generator=g), -1)
    # Sub-model 1 predicts the same on both views, sub-model 2 something different on each.
    p1 = torch.stack([stable, noisy1])
    p2 = torch.stack([stable, noisy2])
    return p1, p2


def test_instance_weights_favour_the_stable_submodel():
    p1, p2 = _toy()
    lam = instance_weights(p1, p2, steps=10, lr=0.2)
    assert lam.shape == (64, 2)
    assert torch.allclose(lam.sum(1), torch.ones(64))
    assert (lam[:, 0] > 0.5).float().mean() >= 0.9
    assert lam[:, 0].mean() > 0.7
    # The objective went up from the average (lambda = 1/2) for (almost) every instance.
    zero = torch.zeros(64, 2)
    assert (stability_objective(lam.log(), p1, p2) >= stability_objective(zero, p1, p2) - 1e-6).all()


def test_modes():
    p1, p2 = _toy()
    probs = (p1 + p2) / 2
    avg, w = TestTimeAggregator("average")(probs, p1, p2)
    assert torch.allclose(w, torch.full((64, 2), 0.5)) and torch.allclose(avg, probs.mean(0))
    agg = TestTimeAggregator("group", steps=10, lr=0.2)
    _, w1 = agg(probs, p1, p2)
    _, w2 = agg(probs, p1, p2)  # carried over: one lambda for the whole test set
    assert torch.allclose(w1, w1[:1].expand(64, 2)) and w2[0, 0] >= w1[0, 0] > 0.5
    agg.reset()
    assert agg._group_logits is None
    out, w = TestTimeAggregator("instance", steps=5)(probs, p1, p2)
    assert torch.allclose(out, torch.einsum("nt,tnc->nc", w, probs))
    with pytest.raises(ValueError, match="LT.DECOUPLE.AGGREGATION"):
        TestTimeAggregator("median")

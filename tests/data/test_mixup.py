import numpy as np
import pytest
import torch
from torch.nn import functional as F

from lt_det.config import get_lt_cfg
from lt_det.data.mixup import InputMixup, ManifoldMixup, build_mixup, mix, mixed_loss, sample_lambda


def _cfg(name, **kw):
    cfg = get_lt_cfg()
    cfg.MODEL.LT.MIXUP.NAME = name
    for k, v in kw.items():
        cfg.MODEL.LT.MIXUP[k] = v
    return cfg


def test_build_from_config():
    assert build_mixup(_cfg("none")) is None
    m = build_mixup(_cfg("InputMixup", ALPHA=0.4))
    assert isinstance(m, InputMixup) and m.alpha == 0.4
    m = build_mixup(_cfg("ManifoldMixup", LOCATION="res2"))
    assert isinstance(m, ManifoldMixup) and m.location == "res2"
    with pytest.raises(KeyError, match="MODEL.LT.MIXUP.NAME"):
        build_mixup(_cfg("CutMix"))
    with pytest.raises(ValueError, match="ALPHA"):
        InputMixup(alpha=-1.0)


def test_mix_is_convex_combination():
    # x = [0, 10], perm swaps them, lam 0.3: [0.3*0 + 0.7*10, 0.3*10 + 0.7*0] = [7, 3].
    x = torch.tensor([[0.0], [10.0]])
    out = mix(x, 0.3, torch.tensor([1, 0]))
    assert torch.allclose(out, torch.tensor([[7.0], [3.0]]))


def test_sample_lambda():
    assert sample_lambda(0.0) == 1.0  # alpha 0: no mixing
    rng = np.random.default_rng(0)
    lams = np.array([sample_lambda(1.0, rng) for _ in range(4000)])
    assert lams.min() >= 0 and lams.max() <= 1
    # Beta(1, 1) is uniform: mean 1/2, variance 1/12 (standard error of the mean ~0.005).
    assert abs(lams.mean() - 0.5) < 0.03 and abs(lams.var() - 1 / 12) < 0.01


def test_input_mixup_images_and_label_weights(monkeypatch, tiny_classifier):
    model = tiny_classifier
    images = torch.tensor([[[[1.0]], [[0.0]]], [[[0.0]], [[3.0]]], [[[2.0]], [[2.0]]]])  # [3,2,1,1]
    labels = torch.tensor([0, 1, 1])
    strategy = InputMixup(alpha=1.0, seed=0)
    perm = torch.tensor([2, 0, 1])
    monkeypatch.setattr(strategy, "draw", lambda n: (0.25, perm))
    loss = strategy(model, images, labels)["loss_cls"]
    mixed = model.seen_images[-1]
    assert torch.allclose(mixed, 0.25 * images + 0.75 * images[perm])
    # TinyClassifier: features = 2 * x + 1 (res2 doubles, res3 adds 1), head = identity.
    logits = 2 * mixed.flatten(1) + 1
    expected = 0.25 * F.cross_entropy(logits, labels) + 0.75 * F.cross_entropy(logits, labels[perm])
    assert torch.allclose(loss, expected)


def test_manifold_mixup_pool_and_stage(monkeypatch, tiny_classifier):
    model = tiny_classifier
    x = torch.tensor([[[[1.0]], [[0.0]]], [[[0.0]], [[3.0]]]])
    labels = torch.tensor([0, 1])
    perm = torch.tensor([1, 0])
    lam = 0.75
    for location, features in [
        # pool: mix the pooled features f = 2x + 1.
        ("pool", lam * (2 * x + 1) + (1 - lam) * (2 * x[perm] + 1)),
        # res2: mix h = 2x, then res3 adds 1.
        ("res2", lam * 2 * x + (1 - lam) * 2 * x[perm] + 1),
    ]:
        s = ManifoldMixup(alpha=1.0, location=location, seed=0)
        monkeypatch.setattr(s, "draw", lambda n: (lam, perm))
        loss = s(model, x, labels)["loss_cls"]
        logits = features.flatten(1)
        expected = lam * F.cross_entropy(logits, labels) + (1 - lam) * F.cross_entropy(logits, labels[perm])
        assert torch.allclose(loss, expected), location
    with pytest.raises(ValueError, match="LOCATION"):
        bad = ManifoldMixup(location="res9", seed=0)
        bad(model, x, labels)


def test_mixed_loss_per_sample_weights_match_per_sample_mean():
    torch.manual_seed(0)
    logits = torch.randn(6, 4, requires_grad=True)
    ya, yb = torch.tensor([0, 1, 2, 3, 0, 1]), torch.tensor([1, 1, 0, 2, 3, 3])
    w = torch.tensor([0.0, 0.3, 1.0, 0.3, 0.3, 0.0], dtype=torch.float64)
    got = mixed_loss(lambda z, y: F.cross_entropy(z, y), logits, ya, yb, w)
    per_a = F.cross_entropy(logits, ya, reduction="none")
    per_b = F.cross_entropy(logits, yb, reduction="none")
    want = (w.float() * per_a + (1 - w.float()) * per_b).mean()
    assert torch.allclose(got, want, atol=1e-6)
    # Gradients agree too.
    g1 = torch.autograd.grad(got, logits, retain_graph=True)[0]
    g2 = torch.autograd.grad(want, logits)[0]
    assert torch.allclose(g1, g2, atol=1e-6)


def test_mixup_single_sample_batch(tiny_classifier):
    # One image mixed with itself: the input is unchanged and the loss is plain CE.
    model = tiny_classifier
    x = torch.tensor([[[[1.0]], [[2.0]]]])
    y = torch.tensor([1])
    loss = InputMixup(alpha=1.0, seed=3)(model, x, y)["loss_cls"]
    assert torch.allclose(model.seen_images[-1], x)
    assert torch.allclose(loss, F.cross_entropy(torch.tensor([[3.0, 5.0]]), y))

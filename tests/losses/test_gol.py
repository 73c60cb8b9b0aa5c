"""GOL: Gumbel BCE values, gradients, clamps and scores derived by hand."""
import math

import torch

from lt_det.losses import GOL
from lt_det.losses.gol import gumbel

E = math.e


def test_builds_from_config(build):
    loss = build("GOL", 4, True)
    assert isinstance(loss, GOL) and loss.num_logits() == 5
    assert build("GOL", 4, False).num_logits() == 4


def test_value_and_gradient_at_zero():
    # C = 2 + background, one RoI of class 0, all logits 0: G(0) = e^{-1}.
    # Positive: -log G(0) = e^0 = 1. Each of 2 negatives: -log(1 - e^{-1}).
    # d/dz (-log G) = -e^{-z} = -1; d/dz -log(1 - G) = G e^{-z} / (1 - G) = 1 / (e - 1).
    loss = GOL(num_classes=2, use_background=True)
    logits = torch.zeros(1, 3, dtype=torch.float64, requires_grad=True)
    value = loss(logits, torch.tensor([0]))
    assert math.isclose(value.item(), 1 - 2 * math.log(1 - 1 / E), rel_tol=1e-9)
    value.backward()
    g = 1 / (E - 1)
    assert torch.allclose(logits.grad, torch.tensor([[-1.0, g, g]], dtype=torch.float64))


def test_background_roi_mean_and_gradcheck():
    # Two RoIs, the second background (target on the last column), logits (1, -1, 2):
    # RoI 1 (class 1): -log(1 - G(1)) + (-log G(-1) = e^1) + -log(1 - G(2)).
    # RoI 2 (bg): -log(1 - G(1)) - log(1 - G(-1)) + e^{-2}. Mean over the 2 RoIs.
    loss = GOL(num_classes=2, use_background=True)
    z = torch.tensor([[1.0, -1.0, 2.0], [1.0, -1.0, 2.0]], dtype=torch.float64, requires_grad=True)
    labels = torch.tensor([1, 2])

    def nl1(x):
        return -math.log(1 - math.exp(-math.exp(-x)))

    expected = (nl1(1) + E + nl1(2) + nl1(1) + nl1(-1) + math.exp(-2)) / 2
    assert math.isclose(loss(z, labels).item(), expected, rel_tol=1e-9)
    assert torch.autograd.gradcheck(lambda x: loss(x, labels), (z,))


def test_clamps_of_the_official_code():
    # Logits are clamped to [-4, 10]: a negative at 12 counts as at 10 and gets no gradient.
    # Classification, C = 2, label 0, logits (1, 12): L = e^{-1} - log(1 - G(10)),
    # dL/dz = (-e^{-1}, 0).
    loss = GOL(num_classes=2, use_background=False)
    z = torch.tensor([[1.0, 12.0]], dtype=torch.float64, requires_grad=True)
    value = loss(z, torch.tensor([0]))
    value.backward()
    expected = math.exp(-1) - math.log(1 - math.exp(-math.exp(-10)))
    assert math.isclose(value.item(), expected, rel_tol=1e-9)
    assert torch.allclose(z.grad, torch.tensor([[-math.exp(-1), 0.0]], dtype=torch.float64))
    # The reduced loss is clamped at 20: a positive at -5 (clamped to -4) costs e^4 = 54.6,
    # so the loss reads 20 and has no gradient.
    z = torch.tensor([[-5.0, 0.0]], dtype=torch.float64, requires_grad=True)
    value = loss(z, torch.tensor([0]))
    value.backward()
    assert value.item() == 20.0 and (z.grad == 0).all()


def test_custom_gradient_matches_autograd_of_the_formula():
    # The loss's written-out gradient against autograd through gumbel_bce on clipped logits,
    # logits spread over and beyond the clamp range [-4, 10].
    from lt_det.losses.gol import gumbel_bce

    torch.manual_seed(0)
    z = (torch.rand(6, 4, dtype=torch.float64) * 18 - 6).requires_grad_(True)
    labels = torch.tensor([0, 1, 2, 3, 3, 0])
    loss = GOL(num_classes=3, use_background=True)
    value = loss(z, labels)
    (grad,) = torch.autograd.grad(value, z)
    z2 = z.detach().clone().requires_grad_(True)
    targets = torch.nn.functional.one_hot(labels, 4).double()
    reference = gumbel_bce(z2.clamp(-4, 10), targets).sum() / 6
    reference.backward()
    assert torch.allclose(value, reference.clamp(max=20)) and value < 20
    assert torch.allclose(grad, z2.grad)


def test_scores_are_gumbel():
    loss = GOL(num_classes=2, use_background=True)
    z = torch.tensor([[0.0, 1.0, -1.0]])
    expected = torch.tensor([[math.exp(-1), math.exp(-math.exp(-1)), math.exp(-E)]])
    assert torch.allclose(loss.predict_probs(z), expected)
    assert torch.allclose(gumbel(torch.tensor([0.0])), torch.tensor([1 / E]))

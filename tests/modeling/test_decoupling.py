"""tau-normalisation, LWS, NCM and the cRT freezing / re-initialising moves."""
import math

import pytest
import torch
from torch import nn

from lt_det.modeling.freeze import freeze_modules, reinit_modules
from lt_det.modeling.classifier_heads import LWSHead
from lt_det.modeling.classifier_heads import NCMHead, class_means
from lt_det.modeling.tau_norm import apply_tau_norm


def test_apply_tau_norm_in_place():
    # Rows with norms 5, 2, 0 become unit rows (the zero row stays 0); the bias is zeroed.
    lin = nn.Linear(2, 3)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[3.0, 4.0], [0.0, 2.0], [0.0, 0.0]]))
    apply_tau_norm(lin, 1.0)
    assert torch.allclose(lin.weight, torch.tensor([[0.6, 0.8], [0.0, 1.0], [0.0, 0.0]]))
    assert torch.all(lin.bias == 0)


def test_lws_scales_logits_and_freezes_base():
    base = nn.Linear(2, 2, bias=False)
    with torch.no_grad():
        base.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0]]))
    head = LWSHead(base, 2)
    x = torch.tensor([[2.0, 3.0]])
    assert torch.allclose(head(x), torch.tensor([[2.0, 3.0]]))  # inactive: base logits
    head.set_active(True)
    with torch.no_grad():
        head.scales.copy_(torch.tensor([0.5, 2.0]))
    # f_j * (w_j . x): [0.5 * 2, 2 * 3].
    out = head(x)
    assert torch.allclose(out, torch.tensor([[1.0, 6.0]]))
    assert not base.weight.requires_grad and head.scales.requires_grad
    out.sum().backward()
    # d/d f_j of sum_j f_j (w_j . x) = w_j . x = [2, 3].
    assert torch.allclose(head.scales.grad, torch.tensor([2.0, 3.0]))
    head.set_active(False)
    assert base.weight.requires_grad and not head.scales.requires_grad


def test_ncm_by_hand():
    # Class 0: features (2, 0) and (0, 3) -> normalised (1, 0), (0, 1) -> mean (.5, .5) ->
    # normalised (1/sqrt2, 1/sqrt2). Class 1: (0, -1) -> (0, -1). Class 2: no sample -> 0.
    f = torch.tensor([[2.0, 0.0], [0.0, 3.0], [0.0, -1.0]])
    y = torch.tensor([0, 0, 1])
    means = class_means(f, y, 3)
    r = 1 / math.sqrt(2)
    assert torch.allclose(means, torch.tensor([[r, r], [0.0, -1.0], [0.0, 0.0]]))
    head = NCMHead(means, "cosine")
    q = torch.tensor([[5.0, 5.0], [1.0, -3.0]])
    scores = head(q)
    assert torch.allclose(scores[0], torch.tensor([1.0, -r, 0.0]), atol=1e-6)
    assert scores.argmax(1).tolist() == [0, 1]
    # Euclidean on unit vectors: ||x - mu||^2 = 2 - 2 cos -> the same ranking.
    e = NCMHead(means, "euclidean")(q)
    assert abs(e[0, 0].item()) < 1e-3 and e.argmax(1).tolist() == [0, 1]
    with pytest.raises(ValueError, match="MODEL.LT.CLASSIFIER.NCM"):
        NCMHead(means, "manhattan")


class _Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = nn.Sequential(nn.Conv2d(1, 2, 1), nn.BatchNorm2d(2))
        self.head = nn.Linear(2, 3)


def test_crt_freezes_exactly_the_backbone_and_reinits_the_head():
    torch.manual_seed(0)
    net = _Net()
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    net.head.weight.grad = torch.ones_like(net.head.weight)
    opt.step()
    assert net.head.weight in opt.state
    frozen = freeze_modules(net, ["backbone"])
    assert sorted(frozen) == ["backbone.0.bias", "backbone.0.weight"]  # BN became buffers
    assert all(not p.requires_grad for p in net.backbone.parameters())
    assert all(p.requires_grad for p in net.head.parameters())
    from detectron2.layers import FrozenBatchNorm2d

    assert isinstance(net.backbone[1], FrozenBatchNorm2d)
    net.train()
    x = torch.randn(4, 1, 3, 3)
    assert torch.allclose(net.backbone(x), net.eval().backbone(x))  # fixed statistics in train mode
    old = net.head.weight.detach().clone()
    weight_obj = net.head.weight
    reinit_modules(net, ["head"], opt)
    assert net.head.weight is weight_obj and not torch.allclose(net.head.weight, old)
    assert weight_obj not in opt.state  # momentum dropped
    with pytest.raises(KeyError, match="top-level modules are: backbone, head"):
        freeze_modules(net, ["neck"])
    with pytest.raises(ValueError, match="reset_parameters"):
        reinit_modules(nn.Sequential(nn.ReLU()), [""])


@pytest.mark.parametrize("head_name", ["Linear", "Cosine"])
def test_reinit_works_on_lt_det_heads(head_name):
    # cRT's REINIT ["head"] on the classification branch's own heads (not nn.Linear): the
    # weights are re-drawn in place (same Parameter objects, so the optimizer keeps them),
    # inside nn.Linear's kaiming-uniform bound sqrt(6 / ((1 + 5) * D)) = 1 / sqrt(D).
    from lt_det.modeling.classifier_heads import CLS_HEAD_REGISTRY

    torch.manual_seed(0)
    head = CLS_HEAD_REGISTRY.get(head_name)(in_features=16, num_logits=4)
    model = nn.Sequential()
    model.add_module("head", head)
    with torch.no_grad():
        head.weight.fill_(3.0)
    w = head.weight
    assert reinit_modules(model, ["head"]) == ["head"]
    assert head.weight is w and not torch.equal(w, torch.full_like(w, 3.0))
    assert float(w.abs().max()) <= 1 / math.sqrt(16)
def test_reinit_refuses_a_partial_reset():
    # A submodule with its own parameters and no reset_parameters() would stay trained while
    # the rest is re-drawn: an error naming it, and nothing is changed.
    class Scale(nn.Module):
        def __init__(self):
            super().__init__()
            self.s = nn.Parameter(torch.full((2,), 5.0))

    net = nn.Sequential(nn.Linear(2, 2), Scale())
    before = net[0].weight.detach().clone()
    with pytest.raises(ValueError, match=r"'1' \(Scale\) has parameters but no reset_parameters"):
        reinit_modules(net, [""])
    assert torch.equal(net[0].weight, before) and torch.equal(net[1].s, torch.full((2,), 5.0))

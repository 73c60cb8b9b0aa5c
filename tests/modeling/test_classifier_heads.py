import math

import pytest
import torch

from lt_det.config import get_lt_cfg
from lt_det.modeling.classifier_heads import CLS_HEAD_REGISTRY, Cosine, Linear, LWSHead, build_cls_head
from lt_det.modeling.freeze import reinit_modules


def _cfg(**keys):
    cfg = get_lt_cfg()
    for k, v in keys.items():
        cfg.MODEL.LT.CLASSIFIER[k] = v
    return cfg


def test_build_from_config():
    head = build_cls_head(_cfg(HEAD="Linear", BIAS=False, TAU=1.0), in_features=8, num_logits=5)
    assert isinstance(head, Linear) and head.bias is None and head.tau == 1.0 and head.weight.shape == (5, 8)
    cos = build_cls_head(_cfg(HEAD="Cosine", COSINE_SCALE=10.0), in_features=8, num_logits=5)
    assert isinstance(cos, Cosine) and cos.scale == 10.0
    with pytest.raises(KeyError, match="HEAD"):
        build_cls_head(_cfg(HEAD="Nope"), in_features=8, num_logits=5)


def test_tau_normalisation_hand_values():
    head = Linear(in_features=2, num_logits=2, bias=False, tau=1.0)
    with torch.no_grad():
        head.weight.copy_(torch.tensor([[3.0, 4.0], [0.0, 1.0]]))  # norms 5 and 1
    x = torch.tensor([[1.0, 1.0]])
    # Training: plain w . x = (7, 1).
    assert head.train()(x).tolist() == [[7.0, 1.0]]
    # Eval, tau = 1: w / ||w|| . x = (7/5, 1).
    assert torch.allclose(head.eval()(x), torch.tensor([[1.4, 1.0]]))
    # tau = 0.5: w / ||w||^0.5 . x = (7/sqrt 5, 1).
    head.tau = 0.5
    assert torch.allclose(head(x), torch.tensor([[7 / math.sqrt(5), 1.0]]))


def test_cosine_hand_values_and_gradient():
    head = Cosine(in_features=2, num_logits=2, scale=16.0)
    with torch.no_grad():
        head.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 2.0]]))
    # x = (2, 0): cos = (1, 0) -> (16, 0); x = (1, 1): cos = (1/sqrt2, 1/sqrt2) -> 16/sqrt2 each.
    out = head(torch.tensor([[2.0, 0.0], [1.0, 1.0]]))
    assert torch.allclose(out, torch.tensor([[16.0, 0.0], [16 / math.sqrt(2), 16 / math.sqrt(2)]]))
    head = head.double()
    x = torch.randn(3, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(head, (x,))


def test_bad_arguments():
    with pytest.raises(ValueError, match="TAU"):
        Linear(in_features=2, num_logits=2, tau=-1.0)
    with pytest.raises(ValueError, match="COSINE_SCALE"):
        Cosine(in_features=2, num_logits=2, scale=0.0)


@pytest.mark.parametrize("name", sorted(n for n, _ in CLS_HEAD_REGISTRY))
def test_every_head_can_be_reinitialised(name):
    # cRT's REINIT ['head'] (#12.14): every registered head, wrapped in LWS as
    # LTTricksClassifier builds it, is re-drawn in place (same parameter objects, so the
    # optimizer keeps them) and the LWS scales return to 1.
    head = LWSHead(build_cls_head(_cfg(HEAD=name), in_features=8, num_logits=5), 5)
    model = torch.nn.Module()
    model.head = head
    with torch.no_grad():
        for p in head.parameters():
            p.fill_(3.0)
    objects = list(head.parameters())
    reset = reinit_modules(model, ["head"])
    assert "head" in reset and "head.base" in reset
    assert list(head.parameters()) == objects
    assert torch.equal(head.scales, torch.ones(5))
    assert not (head.base.weight == 3.0).any()

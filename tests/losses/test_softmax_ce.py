import math

import torch
from torch.nn import functional as F

from lt_det.losses import SoftmaxCE


def test_builds_from_config(build):
    loss = build("SoftmaxCE", 4, True)
    assert isinstance(loss, SoftmaxCE) and loss.num_logits() == 5
    assert build("SoftmaxCE", 4, False).num_logits() == 4


def test_hand_values_detection(build):
    loss = build("SoftmaxCE", 2, True)
    # Row 0: logits (0, 0, 0), label 0 -> -log(1/3) = ln 3.
    # Row 1: logits (ln 2, 0, 0), label 0 -> p_0 = 2 / (2 + 1 + 1) = 1/2 -> ln 2.
    logits = torch.tensor([[0.0, 0.0, 0.0], [math.log(2), 0.0, 0.0]], dtype=torch.float64)
    labels = torch.tensor([0, 0])
    assert torch.isclose(loss(logits, labels), torch.tensor((math.log(3) + math.log(2)) / 2).double())
    # Scores: softmax, background last: (1/2, 1/4, 1/4) for row 1.
    probs = loss.predict_probs(logits)
    assert torch.allclose(probs[1], torch.tensor([0.5, 0.25, 0.25], dtype=torch.float64))


def test_equals_detectron2_cross_entropy():
    torch.manual_seed(0)
    loss = SoftmaxCE(num_classes=6, use_background=True)
    logits = torch.randn(20, 7)
    labels = torch.randint(0, 7, (20,))
    assert torch.allclose(loss(logits, labels), F.cross_entropy(logits, labels))

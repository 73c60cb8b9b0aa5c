import math

import torch

from detectron2.layers import ShapeSpec
from detectron2.modeling.box_regression import Box2BoxTransform
from detectron2.modeling.roi_heads.fast_rcnn import FastRCNNOutputLayers

from lt_det.losses import SigmoidBCE


def test_builds_from_config(build):
    loss = build("SigmoidBCE", 4, True)
    assert isinstance(loss, SigmoidBCE) and loss.num_logits() == 4


def test_hand_values():
    loss = SigmoidBCE(num_classes=2, use_background=True)
    # All logits 0: every one of the 2 x 2 binary terms is -log(1/2) = ln 2; sum / N = 2 ln 2.
    zeros = torch.zeros(2, 2, dtype=torch.float64)
    assert torch.isclose(loss(zeros, torch.tensor([0, 2])), torch.tensor(2 * math.log(2)).double())
    # Logits (ln 3, 0), label 0: -log sigmoid(ln 3) = -log(3/4) = ln(4/3); class 1 negative:
    # -log(1 - 1/2) = ln 2. Total ln(8/3) for the single sample.
    logits = torch.tensor([[math.log(3), 0.0]], dtype=torch.float64)
    assert torch.isclose(loss(logits, torch.tensor([0])), torch.tensor(math.log(8 / 3)).double())


def test_scores_sigmoid_with_dummy_background():
    loss = SigmoidBCE(num_classes=2, use_background=True)
    logits = torch.tensor([[math.log(3), 0.0]])
    # sigmoid: (3/4, 1/2); dummy background 1 - max = 1/4.
    assert torch.allclose(loss.predict_probs(logits), torch.tensor([[0.75, 0.5, 0.25]]))
    classification = SigmoidBCE(num_classes=2, use_background=False)
    assert torch.allclose(classification.predict_probs(logits), torch.tensor([[0.75, 0.5]]))


def test_equals_detectron2_sigmoid_ce():
    # detectron2's sigmoid CE has a (K + 1)-th logit that it ignores: ours is the same loss
    # without that column.
    torch.manual_seed(0)
    d2 = FastRCNNOutputLayers(
        ShapeSpec(channels=8), box2box_transform=Box2BoxTransform((10, 10, 5, 5)),
        num_classes=5, use_sigmoid_ce=True,
    )
    logits = torch.randn(16, 6)
    labels = torch.randint(0, 6, (16,))
    ours = SigmoidBCE(num_classes=5, use_background=True)(logits[:, :5], labels)
    assert torch.allclose(ours, d2.sigmoid_cross_entropy_loss(logits, labels))

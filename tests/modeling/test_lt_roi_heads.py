"""LT box predictor inside Faster, Mask and Cascade R-CNN, and swap_classification_loss."""
import math

import pytest
import torch
from detectron2.data import DatasetCatalog, MetadataCatalog
from detectron2.modeling import build_model
from detectron2.structures import BitMasks, Boxes, Instances
from detectron2.utils.events import EventStorage

from lt_det.config import get_lt_cfg
from lt_det.data.class_stats import compute_class_stats, stats_to_metadata
from lt_det.losses import EQLv2, Seesaw
from lt_det.modeling import (
    LTCascadeROIHeads,
    LTFastRCNNOutputLayers,
    LTStandardROIHeads,
    swap_classification_loss,
)
from lt_det.modeling.classifier_heads import Cosine
from lt_det.testing import tiny_rcnn_cfg

C = 5
TRAIN_SET = "lt_det_test_roi_heads_train"


def _register_train_set():
    # Five classes; class 3 has no training image (a zero-count class for EQL / federated).
    dicts = [
        {"image_id": i, "annotations": [{"category_id": c} for c in cats]}
        for i, cats in enumerate([[0, 0, 1], [0, 2], [0, 4], [1, 0], [0]])
    ]
    if TRAIN_SET not in DatasetCatalog.list():
        DatasetCatalog.register(TRAIN_SET, lambda: dicts)
        MetadataCatalog.get(TRAIN_SET).set(
            thing_classes=list("abcde"), **stats_to_metadata(compute_class_stats(dicts, C))
        )


def tiny_cfg(heads="LTStandardROIHeads", mask=True, loss="SoftmaxCE"):
    """ResNet-18-GN FPN R-CNN for 64x64 images (lt_det.testing's): builds and steps in well
    under a second."""
    _register_train_set()
    cfg = tiny_rcnn_cfg(heads, C, mask=mask, loss=loss)
    cfg.DATASETS.TRAIN = (TRAIN_SET,)
    return cfg


def batch(with_boxes=True):
    """Two random 64x64 images; the second of class 4 plus one object of class 0 / 1."""
    g = torch.Generator().manual_seed(0)
    out = []
    for i in range(2):
        inst = Instances((64, 64))
        if with_boxes:
            inst.gt_boxes = Boxes(torch.tensor([[4.0, 4.0, 30.0, 30.0], [20.0, 24.0, 60.0, 56.0]]))
            inst.gt_classes = torch.tensor([i, 4])
            masks = torch.zeros(2, 64, 64, dtype=torch.bool)
            masks[0, 4:30, 4:30] = True
            masks[1, 24:56, 20:60] = True
        else:
            inst.gt_boxes = Boxes(torch.zeros(0, 4))
            inst.gt_classes = torch.zeros(0, dtype=torch.long)
            masks = torch.zeros(0, 64, 64, dtype=torch.bool)
        inst.gt_masks = BitMasks(masks)
        image = torch.rand(3, 64, 64, generator=g) * 255
        out.append({"image": image, "instances": inst, "height": 64, "width": 64})
    return out


def train_step(model, data):
    model.train()
    with EventStorage():
        losses = model(data)
        sum(losses.values()).backward()
    return losses


def infer(model):
    model.eval()
    with torch.no_grad():
        return model([{"image": b["image"], "height": 64, "width": 64} for b in batch()])


def predictors(model):
    p = model.roi_heads.box_predictor
    return list(p) if isinstance(p, torch.nn.ModuleList) else [p]


CASES = [
    ("LTStandardROIHeads", False, "EQL"),  # Faster R-CNN
    ("LTStandardROIHeads", True, "SoftmaxCE"),  # Mask R-CNN
    ("LTStandardROIHeads", True, "Seesaw"),
    ("LTStandardROIHeads", True, "Federated"),
    ("LTCascadeROIHeads", True, "EQLv2"),  # Cascade Mask R-CNN
    ("LTCascadeROIHeads", False, "Focal"),
    # Issue 16: ECM (C + 1 sigmoid logits), GOL (Gumbel), BAGS (C + 2 + groups logits).
    ("LTStandardROIHeads", False, "ECM"),
    ("LTStandardROIHeads", True, "GOL"),
    ("LTStandardROIHeads", True, "BAGS"),
    ("LTCascadeROIHeads", True, "BAGS"),
]


@pytest.mark.parametrize("heads,mask,loss", CASES)
def test_builds_trains_and_infers(heads, mask, loss):
    torch.manual_seed(0)
    model = build_model(tiny_cfg(heads, mask, loss))
    assert type(model.roi_heads).__name__ == heads
    stages = predictors(model)
    assert len(stages) == (3 if heads == "LTCascadeROIHeads" else 1)
    assert len({id(p.cls_loss) for p in stages}) == len(stages)  # one loss (state) per stage
    for p in stages:
        assert isinstance(p, LTFastRCNNOutputLayers) and type(p.cls_loss).__name__ == loss
        assert p.cls_score.out_features == p.cls_loss.num_logits()
    losses = train_step(model, batch())
    assert all(torch.isfinite(v) for v in losses.values())
    assert any(k.startswith("loss_cls") for k in losses) and ("loss_mask" in losses) == mask
    assert stages[0].cls_score.weight.grad is not None
    result = infer(model)[0]["instances"]
    assert len(result) > 0
    assert (result.scores >= 0).all() and (result.scores <= 1).all()
    assert (result.pred_classes >= 0).all() and (result.pred_classes < C).all()
    assert result.has("pred_masks") == mask


def test_all_background_images_train():
    model = build_model(tiny_cfg("LTStandardROIHeads", True, "EQLv2"))
    losses = train_step(model, batch(with_boxes=False))
    assert all(torch.isfinite(v) for v in losses.values())
    assert model.roi_heads.box_predictor.cls_loss.num_updates == 1


def test_empty_proposals_give_zero_loss():
    predictor = build_model(tiny_cfg("LTStandardROIHeads", False, "Seesaw")).roi_heads.box_predictor
    proposals = [Instances((64, 64), proposal_boxes=Boxes(torch.zeros(0, 4)),
                           gt_classes=torch.zeros(0, dtype=torch.long))]
    scores, deltas = predictor(torch.zeros(0, 64))
    with EventStorage():
        losses = predictor.losses((scores, deltas), proposals)
    assert losses["loss_cls"].item() == 0.0 and losses["loss_box_reg"].item() == 0.0


def test_softmax_predictor_equals_detectron2_stock():
    # Same weights, same sampling seed: the LT predictor with SoftmaxCE reproduces
    # detectron2's StandardROIHeads losses and detections exactly.
    cfg = tiny_cfg("StandardROIHeads", True, "SoftmaxCE")
    stock = build_model(cfg)
    cfg.MODEL.ROI_HEADS.NAME = "LTStandardROIHeads"
    ours = build_model(cfg)
    assert set(ours.state_dict()) == set(stock.state_dict())
    ours.load_state_dict(stock.state_dict())
    torch.manual_seed(1)
    expected = train_step(stock, batch())
    torch.manual_seed(1)
    got = train_step(ours, batch())
    assert expected.keys() == got.keys()
    for k in expected:
        assert torch.allclose(expected[k], got[k]), k
    a, b = infer(stock)[0]["instances"], infer(ours)[0]["instances"]
    assert torch.allclose(a.scores, b.scores) and torch.equal(a.pred_classes, b.pred_classes)


def test_box_regression_layout_bias_prior_and_cosine():
    cfg = tiny_cfg("LTStandardROIHeads", False, "EQL")
    cfg.MODEL.LT.PREDICTOR.BIAS_PRIOR = 0.001
    p = build_model(cfg).roi_heads.box_predictor
    assert p.bbox_pred.out_features == 4 * C  # class-specific regression
    assert torch.allclose(p.cls_score.bias, torch.full((C,), -math.log(999.0)))
    cfg = tiny_cfg("LTStandardROIHeads", False, "Seesaw")
    cfg.MODEL.ROI_BOX_HEAD.CLS_AGNOSTIC_BBOX_REG = True
    cfg.MODEL.LT.PREDICTOR.COSINE_SCALE = 20.0
    cfg.MODEL.LT.PREDICTOR.BIAS_PRIOR = 0.01
    p = build_model(cfg).roi_heads.box_predictor
    assert p.bbox_pred.out_features == 4
    assert isinstance(p.cls_score, Cosine) and p.cls_score.out_features == C + 2
    # Only the C class logits get the prior; Seesaw's two objectness logits stay at 0.
    assert torch.allclose(p.cls_score.bias[:C], torch.full((C,), -math.log(99.0)))
    assert torch.equal(p.cls_score.bias[C:], torch.zeros(2))
    # |logit - bias| <= scale for a cosine classifier.
    logits = p.cls_score(torch.randn(6, 64)) - p.cls_score.bias
    assert (logits.abs() <= 20.0 + 1e-4).all()


def test_loss_state_is_in_the_checkpoint():
    model = build_model(tiny_cfg("LTStandardROIHeads", False, "EQLv2"))
    train_step(model, batch())
    state = model.state_dict()
    key = "roi_heads.box_predictor.cls_loss.pos_grad"
    assert key in state and state[key].sum() > 0
    fresh = build_model(tiny_cfg("LTStandardROIHeads", False, "EQLv2"))
    fresh.load_state_dict(state)
    assert torch.equal(fresh.state_dict()[key], state[key])


def test_bad_configs_are_clear_errors():
    cfg = tiny_cfg("LTStandardROIHeads", False, "SoftmaxCE")
    cfg.MODEL.ROI_BOX_HEAD.USE_SIGMOID_CE = True
    with pytest.raises(ValueError, match="MODEL.LT.LOSS.NAME"):
        build_model(cfg)
    cfg = tiny_cfg("LTStandardROIHeads", False, "EQL")
    cfg.MODEL.ROI_HEADS.NUM_CLASSES = 7  # the training set has 5
    with pytest.raises(ValueError, match="NUM_CLASSES"):
        build_model(cfg)
    cfg = tiny_cfg("LTStandardROIHeads", False, "EQL")
    cfg.MODEL.LT.LOSS.EQL.LAMBDA = -1e-3  # an error (0 is plain BCE)
    with pytest.raises(ValueError, match="LAMBDA"):
        build_model(cfg)


def test_swap_from_a_stock_model():
    stock = build_model(tiny_cfg("StandardROIHeads", True, "SoftmaxCE"))
    old = stock.roi_heads.box_predictor
    old_w, old_b, old_box = old.cls_score.weight.clone(), old.cls_score.bias.clone(), old.bbox_pred.weight.clone()

    # Same logit count (C + 1): the whole classification layer is kept.
    swap_classification_loss(stock, EQLv2(num_classes=C, use_background=True))
    new = stock.roi_heads.box_predictor
    assert isinstance(new, LTFastRCNNOutputLayers) and isinstance(new.cls_loss, EQLv2)
    assert torch.equal(new.cls_score.weight, old_w) and torch.equal(new.bbox_pred.weight, old_box)
    assert new.test_score_thresh == old.test_score_thresh and new.num_classes == C

    # From a config, Seesaw (C + 2 logits): the C class rows are kept, objectness is new.
    cfg = tiny_cfg("LTStandardROIHeads", True, "Seesaw")
    swap_classification_loss(stock, cfg)
    new = stock.roi_heads.box_predictor
    assert isinstance(new.cls_loss, Seesaw) and new.cls_score.out_features == C + 2
    assert torch.equal(new.cls_score.weight[:C], old_w[:C])
    assert torch.equal(new.cls_score.bias[:C], old_b[:C])
    assert torch.equal(new.bbox_pred.weight, old_box)
    losses = train_step(stock, batch())
    assert all(torch.isfinite(v) for v in losses.values())

    cfg.MODEL.ROI_HEADS.NUM_CLASSES = 3
    cfg.DATASETS.TRAIN = ()
    with pytest.raises(ValueError, match="NUM_CLASSES"):
        swap_classification_loss(stock, cfg)


def test_swap_into_and_out_of_bags_moves_class_rows_to_their_columns():
    # Training instance counts of the tiny set: class 0: 6, 1: 2, 2: 1, 3: 0, 4: 1. With
    # BAGS.BIN_EDGES [2] the groups are [0, 2) = {2, 3, 4} and [2, inf) = {0, 1}; the logit
    # layout is [bg, fg | others, c2, c3, c4 | others, c0, c1], so the class columns are
    # c0 -> 7, c1 -> 8, c2 -> 3, c3 -> 4, c4 -> 5 (9 logits = C + 2 + 2 groups).
    stock = build_model(tiny_cfg("StandardROIHeads", False, "SoftmaxCE"))
    old = stock.roi_heads.box_predictor
    with torch.no_grad():  # distinct rows: row j has bias j + 1 and weights j + 1
        old.cls_score.bias.copy_(torch.arange(1.0, C + 2))
        old.cls_score.weight.copy_(torch.arange(1.0, C + 2)[:, None].expand_as(old.cls_score.weight))
    cfg = tiny_cfg("LTStandardROIHeads", False, "BAGS")
    cfg.MODEL.LT.LOSS.BAGS.BIN_EDGES = [2]
    swap_classification_loss(stock, cfg)
    new = stock.roi_heads.box_predictor
    assert new.cls_score.out_features == 9
    assert new.cls_loss.class_columns().tolist() == [7, 8, 3, 4, 5]
    assert new.cls_score.bias[[7, 8, 3, 4, 5]].tolist() == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert torch.equal(new.cls_score.weight[7], old.cls_score.weight[0])
    # bg / fg / "others" rows start fresh (bias 0), none is a copied class row.
    assert new.cls_score.bias[[0, 1, 2, 6]].tolist() == [0.0, 0.0, 0.0, 0.0]
    # And back to softmax: class j's row returns from its BAGS column to column j; the
    # background row (column C) starts fresh.
    swap_classification_loss(stock, tiny_cfg("LTStandardROIHeads", False, "SoftmaxCE"))
    back = stock.roi_heads.box_predictor
    assert back.cls_score.bias.tolist() == [1.0, 2.0, 3.0, 4.0, 5.0, 0.0]


def test_swap_cascade_gives_each_stage_its_own_loss():
    model = build_model(tiny_cfg("CascadeROIHeads", False, "SoftmaxCE"))
    old = [p.bbox_pred.weight.clone() for p in predictors(model)]
    transforms = [p.box2box_transform.weights for p in predictors(model)]
    swap_classification_loss(model, EQLv2(num_classes=C, use_background=True))
    stages = predictors(model)
    assert len({id(p.cls_loss) for p in stages}) == 3
    assert [p.box2box_transform.weights for p in stages] == transforms
    assert all(torch.equal(p.bbox_pred.weight, w) for p, w in zip(stages, old))
    train_step(model, batch())
    assert all(int(p.cls_loss.num_updates) == 1 for p in stages)


def test_registered_heads():
    from detectron2.modeling.roi_heads import ROI_HEADS_REGISTRY

    assert ROI_HEADS_REGISTRY.get("LTStandardROIHeads") is LTStandardROIHeads
    assert ROI_HEADS_REGISTRY.get("LTCascadeROIHeads") is LTCascadeROIHeads

"""Calibration hooked into stock detectron2 and lt_det detectors through LTTrainer.build_model."""
import numpy as np
import pytest
import torch
from detectron2.data import DatasetCatalog, MetadataCatalog
from detectron2.structures import BoxMode, Boxes, Instances

from lt_det.testing import tiny_rcnn_cfg
from lt_det.data.class_stats import compute_class_stats, stats_to_metadata
from lt_det.engine import LTTrainer
from lt_det.modeling.calibration import (
    CalibratedPredictProbs,
    FRACAL,
    NorCal,
    apply_calibration,
    box_predictors,
    build_calibration,
)

C = 3
TRAIN_SET = "lt_det_test_calibration_train"


def _register():
    # Image counts (4, 1, 0); class 0's four boxes sit one per quadrant (D = 2).
    boxes = [(2, 2, 0), (12, 2, 0), (2, 12, 0), (12, 12, 1), (12, 12, 0)]
    dicts = [
        {"image_id": i, "width": 20, "height": 20, "annotations": [
            {"bbox": [x, y, 4, 4], "bbox_mode": BoxMode.XYWH_ABS, "category_id": c}]}
        for i, (x, y, c) in enumerate(boxes)
    ]
    if TRAIN_SET not in DatasetCatalog.list():
        DatasetCatalog.register(TRAIN_SET, lambda: dicts)
        MetadataCatalog.get(TRAIN_SET).set(
            thing_classes=list("abc"), **stats_to_metadata(compute_class_stats(dicts, C))
        )


def tiny_cfg(heads="StandardROIHeads", calibration="NorCal", loss="SoftmaxCE"):
    """lt_det.testing's tiny R-CNN on the three-class set above, keeping every score."""
    _register()
    cfg = tiny_rcnn_cfg(heads, C, loss=loss, fc_dim=32)
    cfg.MODEL.ROI_HEADS.SCORE_THRESH_TEST = 0.0
    cfg.DATASETS.TRAIN = (TRAIN_SET,)
    cfg.MODEL.LT.CALIBRATION.NAME = calibration
    cfg.MODEL.LT.CALIBRATION.NORCAL.GAMMA = 1.0
    return cfg


def _predict(predictor, num=4):
    torch.manual_seed(0)
    scores, deltas = predictor(torch.randn(num, predictor.cls_score.in_features))
    proposals = [Instances((64, 64), proposal_boxes=Boxes(torch.rand(num, 4) * 32))]
    return scores, predictor.predict_probs((scores, deltas), proposals)[0]


def test_stock_faster_rcnn_norcal():
    model = LTTrainer.build_model(tiny_cfg("StandardROIHeads", "NorCal"))
    (predictor,) = box_predictors(model)
    assert type(model.roi_heads).__name__ == "StandardROIHeads"
    assert isinstance(predictor.predict_probs, CalibratedPredictProbs)
    scores, probs = _predict(predictor)
    # NorCal gamma 1 with image counts (4, 1, 0 -> 1): softmax scores times (1/4, 1, 1 | 1),
    # renormalised.
    expected = torch.softmax(scores, 1) * torch.tensor([1 / 4, 1.0, 1.0, 1.0])
    assert torch.allclose(probs, expected / expected.sum(1, keepdim=True), atol=1e-6)
    # The weights are untouched: same state dict keys as an uncalibrated model.
    plain = LTTrainer.build_model(tiny_cfg("StandardROIHeads", "none"))
    assert set(plain.state_dict()) == set(model.state_dict())
    model.eval()
    with torch.no_grad():
        out = model([{"image": torch.rand(3, 64, 64) * 255, "height": 64, "width": 64}])
    assert (out[0]["instances"].scores <= 1).all()


def test_stock_cascade_and_reapplying():
    cfg = tiny_cfg("CascadeROIHeads", "FRACAL")
    model = LTTrainer.build_model(cfg)
    predictors = box_predictors(model)
    assert len(predictors) == 3
    assert all(isinstance(p.predict_probs.calibration, FRACAL) for p in predictors)
    # Re-applying another calibration replaces the first instead of stacking.
    cfg.defrost()
    cfg.MODEL.LT.CALIBRATION.NAME = "NorCal"
    apply_calibration(model, cfg)
    wrapper = predictors[0].predict_probs
    assert isinstance(wrapper.calibration, NorCal) and not isinstance(wrapper.original, CalibratedPredictProbs)


def test_lt_heads_sigmoid_fracal():
    cfg = tiny_cfg("LTStandardROIHeads", "FRACAL", loss="SigmoidBCE")
    cfg.MODEL.LT.CALIBRATION.FRACAL.ACTIVATION = "sigmoid"
    model = LTTrainer.build_model(cfg)
    (predictor,) = box_predictors(model)
    scores, probs = _predict(predictor)
    # The predictor's own scores (sigmoid + dummy background) through FRACAL's sigmoid rule.
    base = predictor.cls_loss.predict_probs(scores)
    assert torch.allclose(probs, predictor.predict_probs.calibration(base))
    # Fractal dimensions from the training boxes: class 0 has one centre per quadrant.
    assert np.allclose(predictor.predict_probs.calibration.fractal_dim, [2.0, 1.0, 1.0])


def test_none_and_errors():
    model = LTTrainer.build_model(tiny_cfg("StandardROIHeads", "none"))
    assert "predict_probs" not in vars(box_predictors(model)[0])
    cfg = tiny_cfg("StandardROIHeads", "NorCal2")
    with pytest.raises(KeyError, match="CALIBRATION.NAME 'NorCal2'.*NorCal"):
        build_calibration(cfg, C)
    cfg = tiny_cfg()
    cfg.DATASETS.TRAIN = ()
    with pytest.raises(ValueError, match="DATASETS.TRAIN"):
        build_calibration(cfg, C)
    with pytest.raises(ValueError, match="box predictor"):
        apply_calibration(torch.nn.Linear(2, 2), tiny_cfg())

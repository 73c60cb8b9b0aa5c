"""Registry and builder of post-hoc score calibrations, and their hook into a detector."""
from typing import List, Optional

from detectron2.modeling.roi_heads.fast_rcnn import FastRCNNOutputLayers
from detectron2.utils.registry import Registry

from ...data.class_stats import ClassStats

CALIBRATION_REGISTRY = Registry("LT_CALIBRATION")
CALIBRATION_REGISTRY.__doc__ = """
Registry of post-hoc score calibrations (``MODEL.LT.CALIBRATION.NAME``), applied to a
trained detector at inference, without retraining.

Call contract: the registered class is ``@configurable`` and is called as
``cls(cfg, num_classes=C, class_stats=S)``; its ``from_config`` maps
``cfg.MODEL.LT.CALIBRATION.<NAME>.*`` (and, where needed, statistics of
``cfg.DATASETS.TRAIN``) to keyword arguments. The built object maps the box predictor's
scores to calibrated ones: ``calibration(probs) -> probs``, both ``[R, C + 1]`` with the
background last (detectron2's layout).
"""


def build_calibration(cfg, num_classes: int, class_stats: Optional[ClassStats] = None):
    """The calibration named by ``cfg.MODEL.LT.CALIBRATION.NAME``; None for ``"none"``.

    Args:
        cfg: a config with lt_det's keys.
        num_classes: number of foreground classes C of the detector.
        class_stats: training statistics; when None read from ``cfg.DATASETS.TRAIN``.
    """
    name = cfg.MODEL.LT.CALIBRATION.NAME
    if name.lower() == "none":
        return None
    if name not in CALIBRATION_REGISTRY:
        known = ", ".join(sorted(k for k, _ in CALIBRATION_REGISTRY))
        raise KeyError(
            f"Unknown MODEL.LT.CALIBRATION.NAME {name!r}; registered calibrations: none, {known}"
        )
    if class_stats is None:
        if not len(cfg.DATASETS.TRAIN):
            raise ValueError(
                f"MODEL.LT.CALIBRATION.NAME {name!r} needs the training set's class statistics: "
                "set DATASETS.TRAIN to the set the model was trained on"
            )
        from ...data.class_stats import class_stats_from_metadata

        class_stats = class_stats_from_metadata(cfg.DATASETS.TRAIN)
    if class_stats.num_classes != num_classes:
        raise ValueError(
            f"The detector has {num_classes} classes but {cfg.DATASETS.TRAIN} has "
            f"{class_stats.num_classes}; set DATASETS.TRAIN to the model's training set"
        )
    return CALIBRATION_REGISTRY.get(name)(cfg, num_classes=num_classes, class_stats=class_stats)


class CalibratedPredictProbs:
    """A box predictor's ``predict_probs`` followed by a calibration of each image's scores."""

    def __init__(self, original, calibration):
        self.original = original
        self.calibration = calibration

    def __call__(self, predictions, proposals):
        return tuple(self.calibration(p) for p in self.original(predictions, proposals))


def box_predictors(model) -> List[FastRCNNOutputLayers]:
    """Every Fast R-CNN box predictor of a model (one per cascade stage), found by type."""
    return [m for m in model.modules() if isinstance(m, FastRCNNOutputLayers)]


def apply_calibration(model, cfg, class_stats: Optional[ClassStats] = None):
    """Calibrate the scores of every box predictor of ``model`` as ``MODEL.LT.CALIBRATION``
    says, in place; returns the model. Nothing happens for ``NAME: "none"``.

    Works on lt_det's heads and on detectron2's stock ``StandardROIHeads`` /
    ``CascadeROIHeads``: each ``FastRCNNOutputLayers``' public ``predict_probs`` is wrapped
    (re-applying replaces an earlier calibration). Training is unaffected (the losses never
    call ``predict_probs``); in a cascade each stage's scores are calibrated before
    detectron2 averages them. Weights and checkpoints are untouched.
    """
    predictors = box_predictors(model)
    if cfg.MODEL.LT.CALIBRATION.NAME.lower() == "none":
        return model
    if not predictors:
        raise ValueError(
            f"MODEL.LT.CALIBRATION.NAME {cfg.MODEL.LT.CALIBRATION.NAME!r} needs a model with a "
            "Fast R-CNN box predictor (Faster / Mask / Cascade R-CNN); set it to 'none'"
        )
    calibration = build_calibration(cfg, predictors[0].num_classes, class_stats)
    for predictor in predictors:
        original = predictor.predict_probs
        if isinstance(original, CalibratedPredictProbs):
            original = original.original
        predictor.predict_probs = CalibratedPredictProbs(original, calibration)
    return model

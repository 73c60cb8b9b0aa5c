# Importing each subpackage registers its components in detectron2's registries.
from . import backbone, calibration, meta_arch, roi_heads  # noqa: F401
from .calibration import CALIBRATION_REGISTRY, apply_calibration, build_calibration
from .classifier_heads import CLS_HEAD_REGISTRY, LWSHead, NCMHead, build_cls_head, class_means
from .freeze import freeze_modules, reinit_modules
from .meta_arch import DecoupledClassifier, LTClassifier, LTTricksClassifier
from .roi_heads import (
    LTCascadeROIHeads,
    LTFastRCNNOutputLayers,
    LTStandardROIHeads,
    build_box_predictor,
)
from .swap_loss import swap_classification_loss
from .tau_norm import apply_tau_norm, tau_normalize

__all__ = [
    "CALIBRATION_REGISTRY",
    "apply_calibration",
    "build_calibration",
    "CLS_HEAD_REGISTRY",
    "build_cls_head",
    "LWSHead",
    "NCMHead",
    "class_means",
    "freeze_modules",
    "reinit_modules",
    "DecoupledClassifier",
    "LTClassifier",
    "LTTricksClassifier",
    "apply_tau_norm",
    "tau_normalize",
    "build_box_predictor",
    "LTCascadeROIHeads",
    "LTFastRCNNOutputLayers",
    "LTStandardROIHeads",
    "swap_classification_loss",
]

# Importing each subpackage registers its components in detectron2's registries.
from . import backbone, meta_arch, roi_heads  # noqa: F401
from .classifier_heads import CLS_HEAD_REGISTRY, build_cls_head
from .meta_arch import LTClassifier
from .roi_heads import (
    BOX_PREDICTOR_REGISTRY,
    LTCascadeROIHeads,
    LTFastRCNNOutputLayers,
    LTStandardROIHeads,
    build_box_predictor,
)
from .swap_loss import swap_classification_loss

__all__ = [
    "CLS_HEAD_REGISTRY",
    "build_cls_head",
    "LTClassifier",
    "BOX_PREDICTOR_REGISTRY",
    "build_box_predictor",
    "LTCascadeROIHeads",
    "LTFastRCNNOutputLayers",
    "LTStandardROIHeads",
    "swap_classification_loss",
]

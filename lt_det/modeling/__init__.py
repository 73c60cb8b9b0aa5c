# Importing each subpackage registers its components in detectron2's registries.
from . import backbone, meta_arch, roi_heads  # noqa: F401
from .classifier_heads import CLS_HEAD_REGISTRY, LWSHead, NCMHead, build_cls_head, class_means
from .freeze import freeze_modules, reinit_modules
from .meta_arch import DecoupledClassifier, LTClassifier, LTTricksClassifier
from .roi_heads import (
    BOX_PREDICTOR_REGISTRY,
    LTCascadeROIHeads,
    LTFastRCNNOutputLayers,
    LTStandardROIHeads,
    build_box_predictor,
)
from .swap_loss import swap_classification_loss
from .tau_norm import apply_tau_norm, tau_normalize

__all__ = [
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
    "BOX_PREDICTOR_REGISTRY",
    "build_box_predictor",
    "LTCascadeROIHeads",
    "LTFastRCNNOutputLayers",
    "LTStandardROIHeads",
    "swap_classification_loss",
]

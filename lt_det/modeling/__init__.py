# Importing each subpackage registers its components in detectron2's registries.
from . import backbone, meta_arch  # noqa: F401
from .classifier_heads import CLS_HEAD_REGISTRY, build_cls_head
from .meta_arch import LTClassifier

__all__ = ["CLS_HEAD_REGISTRY", "build_cls_head", "LTClassifier"]
